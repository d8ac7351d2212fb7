import type { AuditLog, AuditRecord } from "../audit/log.ts";
import type { Db, Executor } from "../db/database.ts";
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

/** Runs `work` in one transaction: the change and its audit events commit together or not at all. */
export async function transact<T>(deps: Deps, work: (trx: Executor) => Promise<T>): Promise<T> {
  const result = await deps.db.transaction().execute(work);
  deps.revocations.committed();
  return result;
}

/** Writes a denial's audit event on its own, after whatever it interrupted has rolled back. */
export function recordDenial(deps: Deps, ctx: RequestContext, denial: DeniedError): Promise<void> {
  return transact(deps, (trx) => deps.audit.append(trx, ctx, denial.record));
}
