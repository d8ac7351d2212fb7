import type { Client } from "pg";
import type { StoreLog } from "../db/database.ts";
import { CHANGE_TOPICS, type ChangeTopic } from "../db/dialect.ts";

export interface ChangeListenerOptions {
  /** The NOTIFY channel of the store (one per PostgreSQL schema). */
  channel: string;
  /** This node's id: notifications it sent itself are skipped (it already knows). */
  nodeId: string;
  /** Opens a dedicated connection (never one from the query pool: LISTEN holds it for good). */
  connect: () => Promise<Client>;
  /** Another node changed `topic`. */
  onChange: (topic: ChangeTopic) => Promise<void> | void;
  /**
   * Listening (again): whatever changed while this node was not listening must be re-read, since
   * notifications are not queued for a listener that is gone. Runs after LISTEN, so nothing falls
   * between the two.
   */
  onResync: () => Promise<void>;
  log: StoreLog;
  /** How often the connection is checked with a query (default 5 s); a silent network loss shows here. */
  heartbeatMs?: number;
  /** Reconnection backoff: doubling from `minMs` up to `maxMs`, with jitter (default 100 ms .. 1 s). */
  backoff?: { minMs: number; maxMs: number };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * One LISTEN connection per node, kept open for the life of the process: reconnects with backoff
 * after any failure (PostgreSQL restarted, failed over, network lost) and resyncs after each connect.
 */
export class ChangeListener {
  #stopped = false;
  #client: Client | undefined;
  #running: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #connected = false;
  #connects = 0;

  constructor(private readonly options: ChangeListenerOptions) {}

  /** Listening now (false while reconnecting). */
  get connected(): boolean {
    return this.#connected;
  }

  /** How many times a LISTEN connection was established (1 + reconnections). */
  get connects(): number {
    return this.#connects;
  }

  /** Starts listening in the background; resolves once the first attempt finished (either way). */
  start(): Promise<void> {
    let first!: () => void;
    const attempted = new Promise<void>((resolve) => (first = resolve));
    this.#running = this.#run(first);
    return attempted;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    await this.#client?.end().catch(() => undefined);
    await this.#running;
  }

  async #run(firstAttempt: () => void): Promise<void> {
    // Attempts are cheap, and every second without listening is a second a key change can be missed.
    const { minMs, maxMs } = this.options.backoff ?? { minMs: 100, maxMs: 1000 };
    let failures = 0;
    while (!this.#stopped) {
      try {
        await this.#listenOnce(firstAttempt);
        failures = 0;
      } catch (error) {
        failures += 1;
        if (!this.#stopped) {
          const level = failures === 1 ? "warn" : "error";
          this.options.log[level](
            { err: error, failures },
            "cluster notifications: not listening; reconnecting",
          );
        }
      }
      firstAttempt();
      if (this.#stopped) break;
      const delay = Math.min(maxMs, minMs * 2 ** Math.max(0, failures - 1));
      await this.#sleep(delay / 2 + (Math.random() * delay) / 2);
    }
  }

  /** Connects, listens, resyncs, then waits until the connection is lost. */
  async #listenOnce(listening: () => void): Promise<void> {
    const client = await this.options.connect();
    this.#client = client;
    try {
      const lost = new Promise<Error>((resolve) => {
        client.once("end", () => resolve(new Error("the LISTEN connection ended")));
        client.on("error", (error) => resolve(error));
      });
      client.on("notification", (message) => {
        if (message.channel === this.options.channel) void this.#deliver(message.payload);
      });
      await client.query(`LISTEN ${quoteIdent(this.options.channel)}`);
      if (this.#stopped) return;
      this.#connected = true;
      this.#connects += 1;
      if (this.#connects > 1)
        this.options.log.info({ connects: this.#connects }, "cluster notifications: listening again");
      await this.options.onResync();
      listening();
      const heartbeatMs = this.options.heartbeatMs ?? 5000;
      for (;;) {
        const beat = this.#sleep(heartbeatMs).then(() => "beat" as const);
        const outcome = await Promise.race([lost, beat]);
        if (this.#stopped) return;
        if (outcome !== "beat") throw outcome;
        // A query that does not come back within the period means the connection is gone.
        const answered = client.query("select 1").then(
          () => "ok" as const,
          (error: unknown) => error,
        );
        const check = await Promise.race([answered, lost, sleep(heartbeatMs).then(() => "timeout" as const)]);
        if (check === "timeout") throw new Error("the LISTEN connection stopped answering");
        if (check !== "ok") throw check;
      }
    } finally {
      this.#connected = false;
      this.#client = undefined;
      client.removeAllListeners("notification");
      client.end().catch(() => undefined);
    }
  }

  async #deliver(payload: string | undefined): Promise<void> {
    let notice: { topic?: unknown; node?: unknown };
    try {
      notice = JSON.parse(payload ?? "") as typeof notice;
    } catch {
      return;
    }
    if (notice.node === this.options.nodeId) return;
    const topic = CHANGE_TOPICS.find((t) => t === notice.topic);
    if (!topic) return;
    try {
      await this.options.onChange(topic);
    } catch (error) {
      this.options.log.error({ err: error, topic }, "cluster notifications: could not apply a change");
    }
  }

  /** A sleep that stop() cuts short. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }
}
