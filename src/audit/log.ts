import type { Executor } from "../db/database.ts";
import { dialectOf } from "../db/dialect.ts";
import type { Clock } from "../lib/clock.ts";
import { newId } from "../lib/ids.ts";
import type { RequestContext } from "../server/context.ts";
import { compiledOnce, runCompiled } from "../db/prepared.ts";
import type { AuditEventTable } from "../db/schema.ts";
import { eventHash, GENESIS_HASH, HASHED_FIELDS, type HashedEvent } from "./chain.ts";

export type Outcome = "success" | "denied" | "error";

/** What a service reports; who, when, from where and the chain are added here. */
export interface AuditRecord {
  action: string;
  target: { type: string; id?: string | null; name?: string | null };
  project?: string | null;
  outcome?: Outcome;
  details?: Record<string, unknown>;
}

/**
 * Appends events to the hash chain inside the caller's transaction, so an event exists exactly
 * when its change does. Replaceable in tests to prove that a failed write rolls the change back.
 */
export interface AuditLog {
  append(db: Executor, ctx: RequestContext, record: AuditRecord): Promise<void>;
}

/** The columns of an event, in the order of the compiled insert's parameters. */
const EVENT_COLUMNS = ["seq", "prev_hash", "hash", ...HASHED_FIELDS] as const;

// Both run on every change and every denial: compiled once, and prepared on PostgreSQL.
const chainHead = (db: Executor) =>
  compiledOnce(
    db,
    "audit_events.head",
    () => db.selectFrom("audit_events").select(["seq", "hash"]).orderBy("seq", "desc").limit(1).compile(),
    true,
  );
const insertEvent = (db: Executor) =>
  compiledOnce(
    db,
    "audit_events.insert",
    () =>
      db
        .insertInto("audit_events")
        .values(Object.fromEntries(EVENT_COLUMNS.map((c) => [c, null])) as unknown as AuditEventTable)
        .compile(),
    true,
  );

export class ChainedAuditLog implements AuditLog {
  constructor(private readonly clock: Clock) {}

  async append(db: Executor, ctx: RequestContext, record: AuditRecord): Promise<void> {
    // Other processes append too (several nodes on PostgreSQL): hold the chain until this commits.
    await dialectOf(db).lockChain(db, "audit_events");
    const head = chainHead(db);
    const [last] = await runCompiled(db, head, head.parameters);
    const actor = ctx.principal;
    const event: HashedEvent = {
      id: newId(),
      time: this.clock.now().toISOString(),
      actor_service_account_id: actor?.serviceAccountId ?? null,
      actor_service_account_name: actor?.serviceAccountName ?? null,
      actor_project: actor?.projectName ?? null,
      actor_token_id: actor?.tokenId ?? null,
      action: record.action,
      target_type: record.target.type,
      target_id: record.target.id ?? null,
      target_name: record.target.name ?? null,
      project: record.project ?? null,
      outcome: record.outcome ?? "success",
      request_id: ctx.requestId,
      ip: ctx.ip,
      user_agent: ctx.userAgent,
      details: JSON.stringify(record.details ?? {}),
    };
    const prevHash = last?.hash ?? GENESIS_HASH;
    // seq = predecessor + 1 under a primary key: two writers racing for the same slot cannot both win.
    const row: AuditEventTable = {
      ...event,
      seq: Number(last?.seq ?? 0) + 1,
      prev_hash: prevHash,
      hash: eventHash(prevHash, event),
    };
    await runCompiled(
      db,
      insertEvent(db),
      EVENT_COLUMNS.map((c) => row[c]),
    );
  }
}
