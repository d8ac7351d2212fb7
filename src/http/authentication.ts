import type { FastifyInstance, FastifyRequest } from "fastify";
import { type AuthResult, authenticateBearer, recordUse } from "../auth/authenticate.ts";
import type { FailedAuthLimiter } from "../auth/rate-limit.ts";
import { ApiError } from "../lib/errors.ts";
import type { RequestContext } from "../server/context.ts";
import { type Deps, transact } from "../server/deps.ts";
import { redactTokenLookalikes } from "../tokens/format.ts";
import {
  CSRF_HEADER,
  clearedSessionCookie,
  csrfMatches,
  resolveSession,
  sameOrigin,
  sessionIdOf,
  UNSAFE_METHODS,
} from "../ui/session.ts";
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

/** What authentication needs besides the store: the failed-attempt limiter and the metrics. */
export interface AuthGuards {
  limiter: FailedAuthLimiter;
  metrics: Metrics;
}

/** 429 while the address has failed too often; called before any credential is looked at. */
export function checkLimiter(limiter: FailedAuthLimiter, request: FastifyRequest): void {
  const wait = limiter.retryAfter(request.ip);
  if (wait > 0) {
    throw new ApiError(
      "too_many_failed_authentications",
      `too many failed authentications; retry in ${wait} s`,
      {
        headers: { "retry-after": String(wait) },
      },
    );
  }
}

/**
 * The failure half of every authentication (bearer, session, UI sign-in): counts it against the
 * address, audits it when the token exists, and returns the error to throw.
 */
export async function authenticationFailed(
  deps: Deps,
  guards: AuthGuards,
  request: FastifyRequest,
  result: Extract<AuthResult, { ok: false }>,
  headers: Record<string, string>,
): Promise<ApiError> {
  guards.limiter.recordFailure(request.ip);
  const record = result.record;
  if (record) {
    await transact(deps, (trx) =>
      deps.audit.append(trx, request.ctx, {
        action: "auth.authenticate",
        target: { type: "token", id: record.id, name: record.name },
        project: record.project_name,
        outcome: "denied",
        details: { code: result.error.code, service_account: record.sa_name },
      }),
    );
  }
  return new ApiError(result.error.code, result.error.message, { headers });
}

/** 403 csrf_failed, audited as a denial by whoever the request authenticated as (if anyone). */
export async function csrfFailed(deps: Deps, request: FastifyRequest, reason: string): Promise<ApiError> {
  const principal = request.ctx.principal;
  await transact(deps, (trx) =>
    deps.audit.append(trx, request.ctx, {
      action: "ui.csrf",
      target: { type: "session", id: null, name: null },
      project: principal?.projectName ?? null,
      outcome: "denied",
      details: {
        code: "csrf_failed",
        reason,
        method: request.method,
        route: request.routeOptions.url ?? null,
      },
    }),
  );
  return new ApiError("csrf_failed", reason);
}

/** Refuses a request whose Origin is another site's (or that a browser marks as cross-site). */
export async function checkOrigin(deps: Deps, request: FastifyRequest): Promise<void> {
  if (!sameOrigin(request, deps.issuer)) {
    throw await csrfFailed(deps, request, "the request comes from another origin");
  }
}

/**
 * Authenticates a request by its web UI session cookie: the session must be live and its token
 * still valid; the Origin must be this server's; unsafe methods need the X-CSRF-Token header.
 * Sets `request.ctx.principal`; returns the session.
 */
export async function authenticateSessionRequest(
  deps: Deps,
  guards: AuthGuards,
  request: FastifyRequest,
  sessionId: string,
): Promise<{ id: string; expiresAt: string }> {
  const result = await resolveSession(deps, sessionId);
  guards.metrics.authentications.inc({ result: result.ok ? "success" : result.error.code });
  if (!result.ok) {
    throw await authenticationFailed(deps, guards, request, result, {
      "set-cookie": clearedSessionCookie(deps),
    });
  }
  request.ctx.principal = result.principal;
  await checkOrigin(deps, request);
  if (UNSAFE_METHODS.has(request.method) && !csrfMatches(sessionId, request.headers[CSRF_HEADER])) {
    const reason = request.headers[CSRF_HEADER] === undefined ? "missing" : "wrong";
    throw await csrfFailed(deps, request, `the ${CSRF_HEADER} header is ${reason}`);
  }
  if (result.record) await recordUse(deps, request.ctx, result.record);
  return result.session;
}

/**
 * Adds authentication to every route of the plugin it is installed in: a bearer token, or, when
 * there is no Authorization header, a web UI session cookie (with its CSRF rules). Failed attempts
 * count against the client address; a token that exists but no longer works is audited.
 */
export function requireBearer(
  app: FastifyInstance,
  deps: Deps,
  limiter: FailedAuthLimiter,
  metrics: Metrics,
): void {
  const guards: AuthGuards = { limiter, metrics };
  // Declared up front, so every request object keeps one shape (V8 stays on its fast path).
  if (!app.hasRequestDecorator("ctx")) app.decorateRequest("ctx", undefined as unknown as RequestContext);
  app.addHook("onRequest", async (request) => {
    const ctx = contextOf(request);
    request.ctx = ctx;
    checkLimiter(limiter, request);
    const authorization = request.headers.authorization;
    if (authorization === undefined) {
      const sessionId = sessionIdOf(request);
      if (sessionId !== undefined) {
        await authenticateSessionRequest(deps, guards, request, sessionId);
        return;
      }
    }
    const result = await authenticateBearer(deps, authorization);
    metrics.authentications.inc({ result: result.ok ? "success" : result.error.code });
    if (!result.ok) {
      throw await authenticationFailed(deps, guards, request, result, { "www-authenticate": "Bearer" });
    }
    // A JWT is for the audiences it names; our own API is the issuer.
    if (result.token.format === "jwt" && !result.token.audiences.includes(deps.issuer)) {
      limiter.recordFailure(request.ip);
      throw new ApiError("token_invalid", "the token's audience is not this API", {
        headers: { "www-authenticate": "Bearer" },
      });
    }
    ctx.principal = result.principal;
    if (result.record) await recordUse(deps, ctx, result.record);
  });
}
