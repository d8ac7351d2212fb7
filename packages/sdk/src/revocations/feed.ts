import type { AccessTokenClaims } from "../jwt/claims.ts";
import { currentToken, type Fetch, send, type TokenSource } from "../lib/http.ts";
import { endpoint, normalizeIssuer } from "../lib/issuer.ts";
import { SseParser } from "../lib/sse.ts";
import { type LatchkeyError, RevocationFeedUnavailableError } from "../util/errors.ts";
import { parseRevocationEvent, type RevocationEvent, RevocationState } from "./state.ts";

/** Options of {@link createRevocationFeed}. */
export interface RevocationFeedOptions {
  /** The Latchkey server's URL; the feed is `${issuer}/v1/revocations/stream`. */
  issuer: string;
  /** A Latchkey token to read the feed with (any active one will do), or a function returning the current one. */
  token: TokenSource;
  /** Reconnection backoff: first delay (default: the server's `retry`, 1000 ms) doubling up to `maxDelayMs` (default 30000). */
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number };
  /** Reconnect when nothing, not even a keepalive, arrived for this long (default 45000; the server sends one every 15 s). */
  idleTimeoutMs?: number;
  /**
   * Told about every failed or dropped connection. The feed keeps retrying, except after a 404, or a 401
   * or 403 for a fixed `token` (a function may return a better one next time).
   */
  onError?: (error: unknown) => void;
  /** A fetch to use instead of the global one. */
  fetch?: Fetch;
}

/** A live subscription to Latchkey's revocation feed. */
export interface RevocationFeed {
  /**
   * Settles once the first connection has caught up with every revocation that still matters.
   * Rejects with RevocationFeedUnavailableError if the server refuses the token (401, 403) or has no
   * feed (404), or if the feed is closed first.
   */
  readonly ready: Promise<void>;
  /** Connected and caught up right now. */
  readonly inSync: boolean;
  /** The id of the last event received; sent as `Last-Event-ID` when reconnecting. */
  readonly lastEventId: string | undefined;
  /** Milliseconds since the feed was last known to be caught up (0 while it is); Infinity before the first time. */
  staleForMs(): number;
  /** Why these claims are no longer good according to the feed (revoked, disabled, unbound), or undefined. */
  check(claims: AccessTokenClaims, now: Date): LatchkeyError | undefined;
  /** Calls `listener` with each event as it arrives, after it is applied. Returns the unsubscribe function. */
  subscribe(listener: (event: RevocationEvent) => void): () => void;
  /** Ends the connection and stops reconnecting. */
  close(): Promise<void>;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    timer.unref?.();
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });

class Feed implements RevocationFeed {
  readonly ready: Promise<void>;
  readonly #state = new RevocationState();
  readonly #listeners = new Set<(event: RevocationEvent) => void>();
  readonly #closing = new AbortController();
  readonly #url: URL;
  readonly #fetch: Fetch;
  #resolveReady!: () => void;
  #rejectReady!: (error: Error) => void;
  #settled = false;
  #inSync = false;
  /** performance.now() when the feed was last known to be in sync; undefined before it ever was. */
  #syncedAt: number | undefined;
  #lastEventId: string | undefined;
  #retryMs: number;
  #failure: RevocationFeedUnavailableError | undefined;
  readonly #running: Promise<void>;

  constructor(private readonly options: RevocationFeedOptions) {
    this.#url = endpoint(normalizeIssuer(options.issuer), "/v1/revocations/stream");
    this.#fetch = options.fetch ?? fetch;
    this.#retryMs = options.reconnect?.initialDelayMs ?? 1000;
    this.ready = new Promise<void>((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    // Nobody may be awaiting `ready`; its rejection is still seen by whoever does.
    this.ready.catch(() => undefined);
    this.#running = this.#run();
  }

  get inSync(): boolean {
    return this.#inSync;
  }

  get lastEventId(): string | undefined {
    return this.#lastEventId;
  }

  staleForMs(): number {
    if (this.#inSync) return 0;
    return this.#syncedAt === undefined ? Infinity : performance.now() - this.#syncedAt;
  }

  check(claims: AccessTokenClaims, now: Date): LatchkeyError | undefined {
    if (this.#failure) return this.#failure;
    return this.#state.check(claims, now);
  }

  subscribe(listener: (event: RevocationEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.#closing.abort();
    this.#fail(new RevocationFeedUnavailableError("the revocation feed was closed"));
    await this.#running;
  }

  #fail(error: RevocationFeedUnavailableError): void {
    this.#failure ??= error;
    this.#outOfSync();
    if (!this.#settled) {
      this.#settled = true;
      this.#rejectReady(error);
    }
  }

  #outOfSync(): void {
    if (this.#inSync) this.#syncedAt = performance.now();
    this.#inSync = false;
  }

  async #run(): Promise<void> {
    let attempt = 0;
    while (!this.#closing.signal.aborted) {
      try {
        if (await this.#connect()) attempt = 0;
      } catch (error) {
        if (this.#closing.signal.aborted) break;
        this.options.onError?.(error);
      }
      this.#outOfSync();
      if (this.#failure || this.#closing.signal.aborted) break;
      const max = this.options.reconnect?.maxDelayMs ?? 30_000;
      const delay = Math.min(max, this.#retryMs * 2 ** Math.min(attempt, 16));
      attempt += 1;
      // Full delay halved at random, so that many verifiers do not reconnect in step.
      await sleep(delay * (0.5 + Math.random() / 2), this.#closing.signal);
    }
  }

  /** One connection, until it ends. True when it caught up (the backoff starts over). */
  async #connect(): Promise<boolean> {
    const connection = new AbortController();
    const abort = () => connection.abort();
    this.#closing.signal.addEventListener("abort", abort, { once: true });
    let idle: ReturnType<typeof setTimeout> | undefined;
    const idleMs = this.options.idleTimeoutMs ?? 45_000;
    const alive = () => {
      clearTimeout(idle);
      idle = setTimeout(abort, idleMs);
      idle.unref?.();
    };
    let caughtUp = false;
    try {
      const headers: Record<string, string> = {
        authorization: `Bearer ${await currentToken(this.options.token)}`,
        accept: "text/event-stream",
        "cache-control": "no-store",
      };
      if (this.#lastEventId !== undefined) headers["last-event-id"] = this.#lastEventId;
      alive();
      const response = await send(this.#fetch, this.#url, { headers, signal: connection.signal });
      // A fixed token that is refused will never be accepted; a function may return a new one next time.
      const refused = response.status === 401 || response.status === 403;
      if ((refused && typeof this.options.token === "string") || response.status === 404) {
        await response.body?.cancel();
        this.#fail(
          new RevocationFeedUnavailableError(
            `the revocation feed answered ${response.status}: ${
              response.status === 404 ? "this server has no feed" : "its token is not accepted"
            }`,
          ),
        );
        return false;
      }
      const type = response.headers.get("content-type") ?? "";
      if (response.status !== 200 || !type.startsWith("text/event-stream") || !response.body) {
        await response.body?.cancel();
        throw new Error(`the revocation feed answered ${response.status} ${type}`);
      }
      const parser = new SseParser(
        {
          onActivity: alive,
          onRetry: (ms) => {
            if (this.options.reconnect?.initialDelayMs === undefined) this.#retryMs = ms;
          },
          onEvent: (event) => {
            if (event.type === "ready") {
              caughtUp = true;
              this.#inSync = true;
              this.#syncedAt = performance.now();
              if (!this.#settled) {
                this.#settled = true;
                this.#resolveReady();
              }
              return;
            }
            const parsed = parseRevocationEvent(event.type, event.lastEventId, event.data);
            if (parsed) this.#state.apply(parsed);
            // Remembered once its event is applied, so a reconnection never skips a half-read event.
            if (event.lastEventId) this.#lastEventId = event.lastEventId;
            if (!parsed) return;
            for (const listener of this.#listeners) {
              try {
                listener(parsed);
              } catch (error) {
                this.options.onError?.(error);
              }
            }
          },
        },
        this.#lastEventId ?? "",
      );
      const reader = response.body.getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          alive();
          parser.push(value);
        }
      } finally {
        reader.releaseLock();
      }
      if (!this.#closing.signal.aborted) throw new Error("the revocation feed ended");
      return caughtUp;
    } catch (error) {
      if (caughtUp && !this.#closing.signal.aborted) this.options.onError?.(error);
      if (caughtUp) return true;
      throw error;
    } finally {
      clearTimeout(idle);
      this.#closing.signal.removeEventListener("abort", abort);
      connection.abort();
    }
  }
}

/**
 * Subscribes to Latchkey's revocation feed (`GET /v1/revocations/stream`, Server-Sent Events over
 * fetch, since Node has no EventSource): revoked tokens, disabled or deleted service accounts,
 * invalidated bound objects and key rotations. It reconnects with `Last-Event-ID` and exponential
 * backoff, so no event is missed across a reconnection. Most code wants {@link createVerifier}, which
 * makes one; create it yourself to share one connection among several verifiers, or to react to events.
 *
 * @example
 *
 * ```ts
 * import { createRevocationFeed } from "@latchkey/sdk";
 *
 * const feed = createRevocationFeed({ issuer: "https://latchkey.example.com", token: process.env.LATCHKEY_TOKEN! });
 * feed.subscribe((event) => {
 *   if (event.type === "token.revoked") sessions.dropByTokenId(event.tokenId);
 * });
 * await feed.ready;
 * // …
 * await feed.close();
 * ```
 */
export function createRevocationFeed(options: RevocationFeedOptions): RevocationFeed {
  return new Feed(options);
}
