import type { AuditRecord } from "../audit/log.ts";
import { ApiError } from "../lib/errors.ts";
import type { RequestContext } from "../server/context.ts";
import { DeniedError } from "../server/deps.ts";
import { type Action, decide, type Principal, type Target } from "./policy.ts";

/**
 * Throws unless the caller may do `action` on `target`. A denial carries its audit record, so
 * `transact` can write it once the transaction has rolled back.
 */
export function authorize(
  ctx: RequestContext,
  action: Action,
  target: Target,
  subject: AuditRecord["target"] & { project?: string | null },
): Principal {
  const principal = ctx.principal;
  if (!principal) throw new ApiError("unauthenticated");
  const denial = decide(principal, action, target);
  if (denial) {
    const { project, ...auditTarget } = subject;
    throw new DeniedError(denial, {
      action,
      target: auditTarget,
      project: project ?? null,
      outcome: "denied",
      details: { code: denial.code, reason: denial.message },
    });
  }
  return principal;
}
