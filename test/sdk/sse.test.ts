import { describe, expect, it } from "vitest";
import { type SseEvent, SseParser } from "../../packages/sdk/src/lib/sse.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

function parse(chunks: (string | Uint8Array)[], lastEventId = "") {
  const events: SseEvent[] = [];
  const retries: number[] = [];
  const parser = new SseParser(
    { onEvent: (e) => events.push(e), onRetry: (ms) => retries.push(ms) },
    lastEventId,
  );
  for (const chunk of chunks) parser.push(typeof chunk === "string" ? bytes(chunk) : chunk);
  return { events, retries, parser };
}

describe("the event-stream parser", () => {
  it("reads Latchkey's frames: retry, id, event, data, and keepalive comments", () => {
    const { events, retries, parser } = parse([
      "retry: 1000\n\n",
      'id: 7\nevent: token.revoked\ndata: {"token_id":"t","at":"x"}\n\n',
      ": keepalive\n\n",
      'event: ready\ndata: {"last_event_id":7}\n\n',
    ]);
    expect(retries).toEqual([1000]);
    expect(events).toEqual([
      { type: "token.revoked", data: '{"token_id":"t","at":"x"}', lastEventId: "7" },
      { type: "ready", data: '{"last_event_id":7}', lastEventId: "7" },
    ]);
    expect(parser.lastEventId).toBe("7");
  });

  it("assembles lines and events split anywhere across chunks, in any of the three line endings", () => {
    const stream =
      "id: 1\r\nevent: a\r\ndata: one\r\n\r\nid: 2\revent: b\rdata: two\r\rid: 3\nevent: c\ndata: three\n\n";
    const whole = parse([stream]).events;
    expect(whole.map((e) => [e.lastEventId, e.type, e.data])).toEqual([
      ["1", "a", "one"],
      ["2", "b", "two"],
      ["3", "c", "three"],
    ]);
    for (let cut = 1; cut < stream.length; cut++) {
      expect(parse([stream.slice(0, cut), stream.slice(cut)]).events, `cut at ${cut}`).toEqual(whole);
    }
    expect(parse([...stream]).events).toEqual(whole);
  });

  it("decodes UTF-8 split inside a character, and drops a leading BOM", () => {
    const encoded = bytes("\uFEFFdata: café ✓\n\n");
    const { events } = parse([encoded.slice(0, 13), encoded.slice(13)]);
    expect(events).toEqual([{ type: "message", data: "café ✓", lastEventId: "" }]);
  });

  it("joins data lines, dispatches only with data, and keeps the id across events", () => {
    const { events } = parse(["data: a\ndata:b\ndata\n\nevent: x\n\nid: 9\n\ndata: c\n\n"], "4");
    expect(events).toEqual([
      { type: "message", data: "a\nb\n", lastEventId: "4" },
      { type: "message", data: "c", lastEventId: "9" },
    ]);
  });

  it("ignores an id with NUL, a non-numeric retry and unknown fields", () => {
    const { events, retries } = parse(["id: a\0b\nretry: 1s\nfoo: bar\ndata: d\n\n"], "3");
    expect(events).toEqual([{ type: "message", data: "d", lastEventId: "3" }]);
    expect(retries).toEqual([]);
  });

  it("gives up on a line that never ends", () => {
    const parser = new SseParser({ onEvent: () => undefined });
    expect(() => parser.push(bytes("data: " + "x".repeat(1 << 20)))).toThrow(/too long/);
  });
});
