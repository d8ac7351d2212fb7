import type { FastifyInstance, FastifyRequest } from "fastify";
import { authenticateBearer, recordUse } from "../auth/authenticate.ts";
import type { FailedAuthLimiter } from "../auth/rate-limit.ts";
import { ApiError } from "../lib/errors.ts";
import type { RequestContext } from "../server/context.ts";
import { type Deps, transact } from "../server/deps.ts";
import { redactTokenLookalikes } from "../tokens/format.ts";
import type { Metrics } from "./metrics.ts";

declare module "fastify" {
  interface FastifyRequest {
    ctx: RequestContext;
  }
}

export function contextOf(request: FastifyRequest): RequestContext {
  return {
    principal: undefined,
    requestId: request.id,
    ip: request.ip ?? null,
    // Recorded in audit events, so a pasted secret is cut out of it.
    userAgent: redactTokenLookalikes(request.headers["user-agent"]?.slice(0, 512) ?? "") || null,
  };
}

/**
 * Adds bearer authentication to every route of the plugin it is installed in. Failed attempts
 * count against the client address; a token that exists but no longer works is audited.
 */
export function requireBearer(
  app: FastifyInstance,
  deps: Deps,
  limiter: FailedAuthLimiter,
  metrics: Metrics,
): void {
  // Declared up front, so every request object keeps one shape (V8 stays on its fast path).
  if (!app.hasRequestDecorator("ctx")) app.decorateRequest("ctx", undefined as unknown as RequestContext);
  app.addHook("onRequest", async (request) => {
    const ctx = contextOf(request);
    request.ctx = ctx;
    const address = request.ip;
    const wait = limiter.retryAfter(address);
    if (wait > 0) {
      throw new ApiError(
        "too_many_failed_authentications",
        `too many failed authentications; retry in ${wait} s`,
        {
          headers: { "retry-after": String(wait) },
        },
      );
    }
    const result = await authenticateBearer(deps, request.headers.authorization);
    metrics.authentications.inc({ result: result.ok ? "success" : result.error.code });
    if (!result.ok) {
      limiter.recordFailure(address);
      const record = result.record;
      if (record) {
        await transact(deps, (trx) =>
          deps.audit.append(trx, ctx, {
            action: "auth.authenticate",
            target: { type: "token", id: record.id, name: record.name },
            project: record.project_name,
            outcome: "denied",
            details: { code: result.error.code, service_account: record.sa_name },
          }),
        );
      }
      throw new ApiError(result.error.code, result.error.message, {
        headers: { "www-authenticate": "Bearer" },
      });
    }
    // A JWT is for the audiences it names; our own API is the issuer.
    if (result.token.format === "jwt" && !result.token.audiences.includes(deps.issuer)) {
      limiter.recordFailure(address);
      throw new ApiError("token_invalid", "the token's audience is not this API", {
        headers: { "www-authenticate": "Bearer" },
      });
    }
    ctx.principal = result.principal;
    if (result.record) await recordUse(deps, ctx, result.record);
  });
}
