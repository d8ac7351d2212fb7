import { sql } from "kysely";
import type { Db, StoreLog } from "../db/database.ts";
import type { Clock } from "../lib/clock.ts";

/** How often a node re-reads the database's clock (its own drifts, or is stepped by NTP). */
const RESYNC_MS = 15_000;
/** Round trips per reading; the fastest one bounds the error best. */
const SAMPLES = 3;
/** A node further off than this says so in its log. */
const WARN_OFFSET_MS = 1_000;

/**
 * PostgreSQL's clock, read without a query: this process's clock plus the offset measured against
 * `clock_timestamp()` at start and every RESYNC_MS. Every node of a deployment stamps creation,
 * expiry, rotation deadlines and audit events from it, and checks expiry against it, so a node whose
 * own clock is minutes off neither extends a retired token's life nor cuts a grace period short.
 * The error is half the fastest round trip of a reading (well under a millisecond on a LAN), plus
 * whatever the node's clock drifts between readings.
 */
export class DatabaseClock implements Clock {
  #offsetMs = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Db,
    private readonly log?: StoreLog,
  ) {}

  /** The database's clock minus this process's, in milliseconds. */
  get offsetMs(): number {
    return this.#offsetMs;
  }

  now(): Date {
    return new Date(Date.now() + this.#offsetMs);
  }

  async sync(): Promise<void> {
    let best: { roundTripMs: number; offsetMs: number } | undefined;
    for (let i = 0; i < SAMPLES; i++) {
      const sentAt = Date.now();
      const started = performance.now();
      const { rows } = await sql<{ ms: number }>`
        select (extract(epoch from clock_timestamp()) * 1000)::float8 as ms`.execute(this.db);
      const roundTripMs = performance.now() - started;
      const offsetMs = Number(rows[0]?.ms) - (sentAt + roundTripMs / 2);
      if (Number.isFinite(offsetMs) && (!best || roundTripMs < best.roundTripMs)) {
        best = { roundTripMs, offsetMs };
      }
    }
    if (!best) return;
    const previous = this.#offsetMs;
    this.#offsetMs = Math.round(best.offsetMs);
    if (Math.abs(this.#offsetMs) >= WARN_OFFSET_MS && Math.abs(this.#offsetMs - previous) >= WARN_OFFSET_MS) {
      this.log?.warn(
        { offset_ms: this.#offsetMs },
        "this node's clock is off the database's; every deadline uses the database's clock",
      );
    }
  }

  /** Reads the database's clock now (failing the start if it cannot), then keeps reading it. */
  async start(): Promise<void> {
    await this.sync();
    this.#timer = setInterval(() => {
      // The store is unreachable: keep the last offset; requests that need the store get 503 anyway.
      this.sync().catch(() => undefined);
    }, RESYNC_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
