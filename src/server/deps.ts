import type { AuditLog, AuditRecord } from "../audit/log.ts";
import type { Db, Executor } from "../db/database.ts";
import { dialectOf } from "../db/dialect.ts";
import type { KeyRing } from "../keys/key-ring.ts";
import type { Clock } from "../lib/clock.ts";
import type { RevocationFeed } from "../revocations/feed.ts";
import { ApiError } from "../lib/errors.ts";
import type { RequestContext } from "./context.ts";

/** Server policy: limits an operator sets. */
export interface Policy {
  /** Longest lifetime a token may be given, in seconds (default 366 days). */
  maxTokenTtlSeconds: number;
  /** Longest lifetime of a short-lived JWT (token requests, OAuth), in seconds (default 24 hours). */
  maxTokenRequestSeconds: number;
}

export const MIN_TOKEN_TTL_SECONDS = 600;
export const DEFAULT_TOKEN_TTL_SECONDS = 90 * 86400;
export const defaultPolicy: Policy = { maxTokenTtlSeconds: 366 * 86400, maxTokenRequestSeconds: 86400 };

/** The edges every service is given: store, clock, audit log, policy, keys and the revocation feed. */
export interface Deps {
  db: Db;
  clock: Clock;
  audit: AuditLog;
  policy: Policy;
  keys: KeyRing;
  /** `iss` of every JWT, and the base of the discovery documents. */
  issuer: string;
  revocations: RevocationFeed;
}

/**
 * An ApiError that is also a denial: the HTTP layer records it in the audit log once the request's
 * transaction (if any) has rolled back.
 */
export class DeniedError extends ApiError {
  constructor(
    base: ApiError,
    readonly record: AuditRecord,
  ) {
    super(base.code, base.message, { errors: base.errors ?? [], headers: base.headers });
  }
}

/** Attempts of one transaction when the store reports a transient failure (deadlock, lost race). */
const TRANSACTION_ATTEMPTS = 4;

/**
 * Runs `work` in one transaction: the change and its audit events commit together or not at all.
 * On PostgreSQL a deadlock or a check-then-insert that lost a race to another node rolls back, and
 * `work` runs again from the start, seeing the winner's commit (so a duplicate name becomes a 409).
 */
export async function transact<T>(deps: Deps, work: (trx: Executor) => Promise<T>): Promise<T> {
  const dialect = dialectOf(deps.db);
  for (let attempt = 1; ; attempt++) {
    try {
      let trx: Executor | undefined;
      const result = await deps.db.transaction().execute((t) => work((trx = t)));
      if (trx) deps.revocations.committed(trx);
      return result;
    } catch (error) {
      if (attempt >= TRANSACTION_ATTEMPTS || !dialect.isTransient(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
    }
  }
}

/** Writes a denial's audit event on its own, after whatever it interrupted has rolled back. */
export function recordDenial(deps: Deps, ctx: RequestContext, denial: DeniedError): Promise<void> {
  return transact(deps, (trx) => deps.audit.append(trx, ctx, denial.record));
}
