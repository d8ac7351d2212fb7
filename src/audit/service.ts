import { authorize } from "../auth/guard.ts";
import type { AuditEventTable } from "../db/schema.ts";
import { decodeCursor, type Page, toPage } from "../lib/cursor.ts";
import { invalidField } from "../lib/errors.ts";
import type { RequestContext } from "../server/context.ts";
import type { Deps } from "../server/deps.ts";
import { eventHash, GENESIS_HASH } from "./chain.ts";

export interface AuditEventView {
  id: string;
  time: string;
  actor: {
    service_account: { id: string; name: string | null } | null;
    project: string | null;
    token_id: string | null;
  };
  action: string;
  target: { type: string; id: string | null; name: string | null };
  project: string | null;
  outcome: string;
  request_id: string | null;
  ip: string | null;
  user_agent: string | null;
  details: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

export const auditEventView = (row: AuditEventTable): AuditEventView => ({
  id: row.id,
  time: row.time,
  actor: {
    service_account: row.actor_service_account_id
      ? { id: row.actor_service_account_id, name: row.actor_service_account_name }
      : null,
    project: row.actor_project,
    token_id: row.actor_token_id,
  },
  action: row.action,
  target: { type: row.target_type, id: row.target_id, name: row.target_name },
  project: row.project,
  outcome: row.outcome,
  request_id: row.request_id,
  ip: row.ip,
  user_agent: row.user_agent,
  details: JSON.parse(row.details) as Record<string, unknown>,
  prev_hash: row.prev_hash,
  hash: row.hash,
});

export interface AuditQuery {
  limit: number;
  cursor?: string;
  actor?: string;
  action?: string;
  target?: string;
  project?: string;
  outcome?: string;
  since?: string;
  until?: string;
}

export interface ChainVerification {
  valid: boolean;
  events_checked: number;
  first_invalid_event_id: string | null;
  last_hash: string;
}

/** RFC 3339 text → the stored ISO form. A leap second (23:59:60) passes the format but is no JS Date. */
function instant(field: string, text: string): string {
  const at = new Date(text);
  if (Number.isNaN(at.getTime())) throw invalidField(field, "must be an RFC 3339 date-time");
  return at.toISOString();
}

export class AuditService {
  constructor(private readonly deps: Deps) {}

  /** Newest first. Project-scoped admins see the events of their own project only. */
  async list(ctx: RequestContext, q: AuditQuery): Promise<Page<AuditEventView>> {
    const principal = authorize(ctx, "audit.read", {}, { type: "audit_log" });
    let query = this.deps.db
      .selectFrom("audit_events")
      .selectAll()
      .orderBy("seq", "desc")
      .limit(q.limit + 1);
    if (principal.scope !== "organization") query = query.where("project", "=", principal.projectName);
    if (q.actor) {
      const actor = q.actor;
      query = query.where((eb) =>
        eb.or([eb("actor_service_account_id", "=", actor), eb("actor_service_account_name", "=", actor)]),
      );
    }
    if (q.action) query = query.where("action", "=", q.action);
    if (q.target) {
      const target = q.target;
      query = query.where((eb) => eb.or([eb("target_id", "=", target), eb("target_name", "=", target)]));
    }
    if (q.project) query = query.where("project", "=", q.project);
    if (q.outcome) query = query.where("outcome", "=", q.outcome);
    if (q.since) query = query.where("time", ">=", instant("since", q.since));
    if (q.until) query = query.where("time", "<", instant("until", q.until));
    if (q.cursor) query = query.where("seq", "<", decodeCursor<{ s: number }>(q.cursor, { s: "number" }).s);
    const rows = await query.execute();
    return toPage(rows, q.limit, auditEventView, (r) => ({ s: Number(r.seq) }));
  }

  /** Recomputes every hash from the first event on; any edit, insertion or deletion breaks the chain. */
  async verify(ctx: RequestContext): Promise<ChainVerification> {
    authorize(ctx, "audit.verify", {}, { type: "audit_log" });
    let prev = GENESIS_HASH;
    let expectedSeq = 1;
    let checked = 0;
    for (;;) {
      const rows = await this.deps.db
        .selectFrom("audit_events")
        .selectAll()
        .where("seq", ">=", expectedSeq)
        .orderBy("seq")
        .limit(1000)
        .execute();
      for (const row of rows) {
        const intact =
          Number(row.seq) === expectedSeq && row.prev_hash === prev && eventHash(prev, row) === row.hash;
        if (!intact)
          return { valid: false, events_checked: checked, first_invalid_event_id: row.id, last_hash: prev };
        prev = row.hash;
        expectedSeq += 1;
        checked += 1;
      }
      if (rows.length < 1000)
        return { valid: true, events_checked: checked, first_invalid_event_id: null, last_hash: prev };
    }
  }
}
