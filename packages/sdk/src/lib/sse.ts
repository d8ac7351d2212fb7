/** One dispatched Server-Sent Event. */
export interface SseEvent {
  /** `event:` field; "message" when absent. */
  type: string;
  data: string;
  /** The last event id after this event (the stream's, not only this event's). */
  lastEventId: string;
}

export interface SseHandlers {
  onEvent(event: SseEvent): void;
  /** `retry:` field: the server's reconnection delay in milliseconds. */
  onRetry?(ms: number): void;
  /** Any line arrived, comments (keepalives) included: the connection is alive. */
  onActivity?(): void;
}

/** A line longer than this is a broken or hostile server; the connection is dropped. */
const MAX_LINE_CHARS = 1 << 20;

/**
 * An incremental parser for `text/event-stream`, as the WHATWG HTML standard's "event stream
 * interpretation" describes it: lines end with CRLF, LF or CR; a blank line dispatches; `:` starts a
 * comment; `id` with a NUL is ignored; `retry` takes digits only. Node 20 has no EventSource.
 */
export class SseParser {
  #buffer = "";
  #data: string[] = [];
  #type = "";
  #lastEventId: string;
  #decoder = new TextDecoder("utf-8");
  #started = false;
  #pendingCr = false;

  constructor(
    private readonly handlers: SseHandlers,
    lastEventId = "",
  ) {
    this.#lastEventId = lastEventId;
  }

  get lastEventId(): string {
    return this.#lastEventId;
  }

  /** Feeds bytes as they arrive. Throws when a line exceeds the limit. */
  push(chunk: Uint8Array): void {
    let text = this.#decoder.decode(chunk, { stream: true });
    if (!this.#started && text.length > 0) {
      this.#started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    // A CR at the end of the previous chunk already ended its line; a LF right after it is the same end.
    if (this.#pendingCr && text.startsWith("\n")) text = text.slice(1);
    this.#pendingCr = false;
    this.#buffer += text;
    let start = 0;
    for (;;) {
      const cr = this.#buffer.indexOf("\r", start);
      const lf = this.#buffer.indexOf("\n", start);
      if (cr < 0 && lf < 0) break;
      const end = cr < 0 ? lf : lf < 0 ? cr : Math.min(cr, lf);
      this.#line(this.#buffer.slice(start, end));
      if (this.#buffer[end] === "\r") {
        if (end + 1 === this.#buffer.length) {
          this.#pendingCr = true;
          start = end + 1;
          break;
        }
        start = this.#buffer[end + 1] === "\n" ? end + 2 : end + 1;
      } else {
        start = end + 1;
      }
    }
    this.#buffer = this.#buffer.slice(start);
    if (this.#buffer.length > MAX_LINE_CHARS) throw new Error("an event stream line is too long");
  }

  #line(line: string): void {
    this.handlers.onActivity?.();
    if (line === "") return this.#dispatch();
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "event":
        this.#type = value;
        break;
      case "data":
        this.#data.push(value);
        break;
      case "id":
        if (!value.includes("\0")) this.#lastEventId = value;
        break;
      case "retry":
        if (/^\d+$/.test(value)) this.handlers.onRetry?.(Number(value));
        break;
      default:
      // Unknown fields are ignored.
    }
  }

  #dispatch(): void {
    const data = this.#data;
    const type = this.#type || "message";
    this.#data = [];
    this.#type = "";
    if (data.length === 0) return;
    this.handlers.onEvent({ type, data: data.join("\n"), lastEventId: this.#lastEventId });
  }
}
