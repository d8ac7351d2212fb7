import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/lib/clock.ts";
import { accountWithToken, startServer, type TestServer } from "../../helpers/server.ts";
import { decode, tokenRequest } from "./verifiers.ts";

const T0 = "2030-01-01T00:00:00.000Z";

interface FeedEvent {
  id: number | undefined;
  event: string;
  data: Record<string, any>;
}

/** A subscriber to /v1/revocations/stream over fetch, parsing Server-Sent Events as they arrive. */
class Subscriber {
  readonly events: FeedEvent[] = [];
  status = 0;
  contentType: string | null = null;
  #abort = new AbortController();
  #wake: () => void = () => {};
  #done = false;

  static async open(server: TestServer, headers: Record<string, string> = {}): Promise<Subscriber> {
    const subscriber = new Subscriber();
    const res = await fetch(`${server.url}/v1/revocations/stream`, {
      headers: { authorization: `Bearer ${server.bootstrapToken}`, accept: "text/event-stream", ...headers },
      signal: subscriber.#abort.signal,
    });
    subscriber.status = res.status;
    subscriber.contentType = res.headers.get("content-type");
    if (res.body) void subscriber.#read(res.body);
    return subscriber;
  }

  async #read(body: ReadableStream<Uint8Array>) {
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for await (const chunk of body) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields: Record<string, string> = {};
          for (const line of frame.split("\n")) {
            if (line.startsWith(":")) continue;
            const colon = line.indexOf(":");
            fields[line.slice(0, colon)] = line.slice(colon + 1).replace(/^ /, "");
          }
          if (fields.event === undefined && fields.data === undefined) continue;
          this.events.push({
            id: fields.id === undefined ? undefined : Number(fields.id),
            event: fields.event ?? "message",
            data: JSON.parse(fields.data ?? "null"),
          });
          this.#wake();
        }
      }
    } catch {
      // aborted
    } finally {
      this.#done = true;
      this.#wake();
    }
  }

  /** Waits until `predicate` holds for the events so far; fails after a few seconds. */
  async until(predicate: (events: FeedEvent[]) => boolean, what: string): Promise<FeedEvent[]> {
    const deadline = Date.now() + 5000;
    while (!predicate(this.events)) {
      if (this.#done || Date.now() > deadline) {
        throw new Error(`no ${what} in the feed; got ${JSON.stringify(this.events)}`);
      }
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        setTimeout(resolve, 100);
      });
    }
    return this.events;
  }

  /** The events with an id (changes), without the `ready` marker. */
  changes(): FeedEvent[] {
    return this.events.filter((e) => e.id !== undefined);
  }

  ready(): Promise<FeedEvent[]> {
    return this.until((events) => events.some((e) => e.event === "ready"), "ready event");
  }

  /** Waits for one more change of `type` (after those already seen) matching `data`. */
  async next(type: string, data: Record<string, unknown> = {}): Promise<FeedEvent> {
    const matches = (e: FeedEvent) =>
      e.event === type &&
      Object.entries(data).every(([k, v]) => JSON.stringify(e.data[k]) === JSON.stringify(v));
    await this.until((events) => events.some(matches), `${type} ${JSON.stringify(data)}`);
    return this.events.find(matches) as FeedEvent;
  }

  close() {
    this.#abort.abort();
  }
}

describe("the revocation feed (GET /v1/revocations/stream)", () => {
  const clock = new ManualClock(T0);
  let server: TestServer;
  const open: Subscriber[] = [];
  const subscribe = async (headers: Record<string, string> = {}) => {
    const subscriber = await Subscriber.open(server, headers);
    open.push(subscriber);
    return subscriber;
  };
  beforeAll(async () => {
    server = await startServer({ clock });
  });
  // A stream never ends by itself: every test closes its subscribers (the server waits for them).
  afterEach(() => {
    for (const s of open.splice(0)) s.close();
  });
  afterAll(() => server.close());

  it("is text/event-stream for authenticated callers only", async () => {
    const anonymous = await fetch(`${server.url}/v1/revocations/stream`);
    expect(anonymous.status).toBe(401);
    const feed = await subscribe();
    expect(feed.status).toBe(200);
    expect(feed.contentType).toMatch(/^text\/event-stream/);
    await feed.ready();
  });

  it("a revoked token arrives as token.revoked, with the instant it stops working", async () => {
    clock.set(T0);
    const feed = await subscribe();
    await feed.ready();
    const sa = await accountWithToken(server, { name: "feed-revoke" });
    expect((await server.api("DELETE", `/v1/tokens/${sa.tokenId}`)).status).toBe(204);
    const event = await feed.next("token.revoked", { token_id: sa.tokenId });
    expect(event.data).toEqual({ token_id: sa.tokenId, at: T0, time: T0 });

    // Rotation with a deadline: the previous token is announced now, stopping at the deadline.
    const rotating = await accountWithToken(server, { name: "feed-rotate" });
    await server.api("POST", `/v1/tokens/${rotating.tokenId}/rotate`, {
      body: { previous_expires_in_seconds: 600 },
    });
    const rotated = await feed.next("token.revoked", { token_id: rotating.tokenId });
    expect(rotated.data.at).toBe("2030-01-01T00:10:00.000Z");

    // A short-lived JWT revoked through OAuth: its jti.
    const jwt = (await tokenRequest(server, "bootstrap")).body.token;
    const revoked = await fetch(`${server.url}/oauth2/revoke`, {
      method: "POST",
      headers: { authorization: `Bearer ${server.bootstrapToken}` },
      body: new URLSearchParams({ token: jwt }),
    });
    expect(revoked.status).toBe(200);
    await feed.next("token.revoked", { token_id: decode(jwt).claims.jti });

    // Deleting an account: every token it had.
    const doomed = await accountWithToken(server, { name: "feed-doomed" });
    const second = await server.api("POST", "/v1/projects/default/service-accounts/feed-doomed/tokens", {
      body: { name: "second" },
    });
    await server.api("DELETE", "/v1/projects/default/service-accounts/feed-doomed");
    await feed.next("token.revoked", { token_id: doomed.tokenId });
    await feed.next("token.revoked", { token_id: second.body.id });

    const ids = feed.changes().map((e) => e.id as number);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("a deleted or replaced bound object arrives as bound_object.invalidated, with the uid that died", async () => {
    clock.set(T0);
    const feed = await subscribe();
    await feed.ready();
    await server.api("PUT", "/v1/projects/default/bound-objects/Pod/feed-pod", { body: { uid: "u1" } });
    await server.api("PUT", "/v1/projects/default/bound-objects/Pod/feed-pod", { body: { uid: "u2" } });
    const replaced = await feed.next("bound_object.invalidated", { name: "feed-pod", uid: "u1" });
    expect(replaced.data).toEqual({ project: "default", kind: "Pod", name: "feed-pod", uid: "u1", time: T0 });
    await server.api("DELETE", "/v1/projects/default/bound-objects/Pod/feed-pod");
    await feed.next("bound_object.invalidated", { name: "feed-pod", uid: "u2" });
    // Creating one is not news for verifiers.
    const invalidated = feed.changes().filter((e) => e.event === "bound_object.invalidated");
    expect(invalidated.filter((e) => e.data.name === "feed-pod").map((e) => e.data.uid)).toEqual([
      "u1",
      "u2",
    ]);
  });

  it("a key rotation arrives as signing_key.rotated, naming the new key and the retired one", async () => {
    clock.set(T0);
    const feed = await subscribe();
    await feed.ready();
    const before = server.latchkey.deps.keys.active().kid;
    const rotated = await server.api("POST", "/v1/signing-keys/rotate");
    const event = await feed.next("signing_key.rotated", { kid: rotated.body.kid });
    expect(event.data).toEqual({ kid: rotated.body.kid, retired: [before], time: T0 });
  });

  it("resuming with Last-Event-ID delivers exactly the events missed, then live ones", async () => {
    clock.set(T0);
    const first = await subscribe();
    const ready = (await first.ready()).find((e) => e.event === "ready") as FeedEvent;
    const seen = ready.data.last_event_id as number;
    first.close();

    const missed = [
      await accountWithToken(server, { name: "feed-missed-1" }),
      await accountWithToken(server, { name: "feed-missed-2" }),
    ];
    for (const m of missed) await server.api("DELETE", `/v1/tokens/${m.tokenId}`);
    await server.api("PUT", "/v1/projects/default/bound-objects/Job/feed-job", { body: { uid: "j1" } });
    await server.api("DELETE", "/v1/projects/default/bound-objects/Job/feed-job");

    const resumed = await subscribe({ "last-event-id": String(seen) });
    await resumed.ready();
    expect(resumed.changes().map((e) => [e.id, e.event, e.data.token_id ?? e.data.uid])).toEqual([
      [seen + 1, "token.revoked", missed[0]?.tokenId],
      [seen + 2, "token.revoked", missed[1]?.tokenId],
      [seen + 3, "bound_object.invalidated", "j1"],
    ]);
    const live = await accountWithToken(server, { name: "feed-live" });
    await server.api("DELETE", `/v1/tokens/${live.tokenId}`);
    const event = await resumed.next("token.revoked", { token_id: live.tokenId });
    expect(event.id).toBe(seen + 4);
    expect(resumed.changes()).toHaveLength(4);
  });

  it("a new subscriber first gets every event that still matters; Last-Event-ID: 0 gets all of them", async () => {
    clock.set(T0);
    const short = await accountWithToken(server, { name: "feed-short", ttl_seconds: 600 });
    const long = await accountWithToken(server, { name: "feed-long" });
    await server.api("DELETE", `/v1/tokens/${short.tokenId}`);
    await server.api("DELETE", `/v1/tokens/${long.tokenId}`);
    clock.advance(600); // the short token would have expired by now: its revocation no longer matters

    const fresh = await subscribe();
    const revokedIds = (await fresh.ready())
      .filter((e) => e.event === "token.revoked")
      .map((e) => e.data.token_id);
    expect(revokedIds).toContain(long.tokenId);
    expect(revokedIds).not.toContain(short.tokenId);

    const everything = await subscribe({ "last-event-id": "0" });
    const all = (await everything.ready())
      .filter((e) => e.event === "token.revoked")
      .map((e) => e.data.token_id);
    expect(all).toEqual(expect.arrayContaining([short.tokenId, long.tokenId]));
    const ids = everything.changes().map((e) => e.id);
    expect(ids[0]).toBe(1);
  });

  it("subscribers do not hold up shutdown: closing the server ends their streams", async () => {
    const own = await startServer();
    const feed = await Subscriber.open(own);
    await feed.ready();
    const outcome = await Promise.race([
      own.close().then(() => "closed"),
      new Promise((resolve) => setTimeout(() => resolve("still open after 3 s"), 3000)),
    ]);
    feed.close();
    expect(outcome).toBe("closed");
  });
});
