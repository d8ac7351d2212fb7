import type { AuditLog, AuditRecord } from "../audit/log.ts";
import type { Db, Executor } from "../db/database.ts";
import type { Clock } from "../lib/clock.ts";
import { ApiError } from "../lib/errors.ts";
import type { RequestContext } from "./context.ts";

/** Server policy: limits an operator sets. */
export interface Policy {
  /** Longest lifetime a token may be given, in seconds (default 366 days). */
  maxTokenTtlSeconds: number;
}

export const MIN_TOKEN_TTL_SECONDS = 600;
export const DEFAULT_TOKEN_TTL_SECONDS = 90 * 86400;
export const defaultPolicy: Policy = { maxTokenTtlSeconds: 366 * 86400 };

/** The edges every service is given: store, clock, audit log and policy. */
export interface Deps {
  db: Db;
  clock: Clock;
  audit: AuditLog;
  policy: Policy;
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

/** Runs `work` in one transaction: the change and its audit events commit together or not at all. */
export function transact<T>(deps: Deps, work: (trx: Executor) => Promise<T>): Promise<T> {
  return deps.db.transaction().execute(work);
}

/** Writes a denial's audit event on its own, after whatever it interrupted has rolled back. */
export function recordDenial(deps: Deps, ctx: RequestContext, denial: DeniedError): Promise<void> {
  return transact(deps, (trx) => deps.audit.append(trx, ctx, denial.record));
}
