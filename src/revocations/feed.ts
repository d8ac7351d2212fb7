import { EventEmitter } from "node:events";
import type { Db, Executor } from "../db/database.ts";
import { dialectOf } from "../db/dialect.ts";
import type { Clock } from "../lib/clock.ts";

export type RevocationEventType =
  | "token.revoked"
  | "service_account.disabled"
  | "service_account.enabled"
  | "bound_object.invalidated"
  | "signing_key.rotated";

export interface RevocationEvent {
  id: number;
  time: string;
  type: RevocationEventType;
  data: Record<string, unknown>;
}

/**
 * What offline verifiers must learn, appended in the same transaction as the change and announced
 * after it commits. Subscribers resume from the last id they saw.
 */
export class RevocationFeed {
  readonly #emitter = new EventEmitter().setMaxListeners(0);
  /** Transactions that appended and have not yet been reported committed. */
  readonly #pending = new WeakSet<Executor>();

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  async append(
    trx: Executor,
    type: RevocationEventType,
    data: Record<string, unknown>,
    relevantUntil: string,
  ): Promise<void> {
    const dialect = dialectOf(trx);
    await dialect.lockChain(trx, "revocation_events");
    const last = await trx
      .selectFrom("revocation_events")
      .select("seq")
      .orderBy("seq", "desc")
      .limit(1)
      .executeTakeFirst();
    await trx
      .insertInto("revocation_events")
      .values({
        seq: Number(last?.seq ?? 0) + 1,
        time: this.clock.now().toISOString(),
        type,
        data: JSON.stringify(data),
        relevant_until: relevantUntil,
      })
      .execute();
    // Local subscribers are woken after the commit (committed()); other nodes' by this notification.
    await dialect.notifyChange(trx, "revocations");
    this.#pending.add(trx);
  }

  /** Called after each commit; wakes subscribers when that transaction appended something. */
  committed(trx: Executor): void {
    if (!this.#pending.delete(trx)) return;
    this.#emitter.emit("appended");
  }

  /** Wakes local subscribers for events appended elsewhere (another node, or missed while disconnected). */
  announce(): void {
    this.#emitter.emit("appended");
  }

  onAppended(listener: () => void): () => void {
    this.#emitter.on("appended", listener);
    return () => this.#emitter.off("appended", listener);
  }

  /** Events after `afterId`; from the start, only those still relevant. */
  async since(afterId: number | undefined, limit = 1000): Promise<RevocationEvent[]> {
    let query = this.db.selectFrom("revocation_events").selectAll().orderBy("seq").limit(limit);
    query =
      afterId === undefined
        ? query.where("relevant_until", ">", this.clock.now().toISOString())
        : query.where("seq", ">", afterId);
    const rows = await query.execute();
    return rows.map((r) => ({
      id: Number(r.seq),
      time: r.time,
      type: r.type as RevocationEventType,
      data: JSON.parse(r.data) as Record<string, unknown>,
    }));
  }

  /** Drops events no token can need any more; the newest stays, so ids are never reused. */
  async prune(): Promise<number> {
    const now = this.clock.now().toISOString();
    const newest = this.db.selectFrom("revocation_events").select((eb) => eb.fn.max("seq").as("m"));
    const events = await this.db
      .deleteFrom("revocation_events")
      .where("relevant_until", "<=", now)
      .where("seq", "<", newest)
      .executeTakeFirst();
    // A revoked short-lived JWT past its expiry is refused for expiry anyway.
    const jtis = await this.db.deleteFrom("revoked_jwts").where("expires_at", "<=", now).executeTakeFirst();
    return Number(events.numDeletedRows) + Number(jtis.numDeletedRows);
  }
}

/** Records that a token stops working at `at` (now, or a rotation deadline). */
export function tokenRevoked(
  feed: RevocationFeed,
  trx: Executor,
  token: { id: string; expires_at: string },
  at: string,
): Promise<void> {
  return feed.append(trx, "token.revoked", { token_id: token.id, at }, token.expires_at);
}
