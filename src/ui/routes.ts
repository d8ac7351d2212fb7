import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyReply } from "fastify";
import { decodeJwt } from "jose";
import { Type } from "typebox";
import { authenticateToken, recordUse } from "../auth/authenticate.ts";
import type { FailedAuthLimiter } from "../auth/rate-limit.ts";
import {
  type AuthGuards,
  authenticateSessionRequest,
  authenticationFailed,
  checkLimiter,
  checkOrigin,
  contextOf,
} from "../http/authentication.ts";
import type { Metrics } from "../http/metrics.ts";
import type { AccessTokenClaims } from "../jwt/access-token.ts";
import { ApiError } from "../lib/errors.ts";
import type { RequestContext } from "../server/context.ts";
import { type Deps, transact } from "../server/deps.ts";
import { uiBundle } from "./assets.ts";
import { setSecurityHeaders } from "./security.ts";
import {
  clearedSessionCookie,
  createSession,
  csrfTokenOf,
  deleteSession,
  pruneSessions,
  sessionCookie,
  sessionIdOf,
} from "./session.ts";
import { whoamiOf } from "../auth/routes.ts";

const SignIn = Type.Object(
  {
    token: Type.String({
      minLength: 1,
      maxLength: 16_384,
      description: "A Latchkey token (lk_…, or a JWT whose audience is this API)",
    }),
  },
  { additionalProperties: false },
);

const PRUNE_INTERVAL_MS = 60 * 60 * 1000;
const hidden = { hide: true };

/**
 * The web UI at /ui: the session endpoints (sign-in, current session, sign-out), the bundled app
 * under /ui/assets/, and index.html for every other /ui path (the app routes on the client). Every
 * response carries the strict CSP and security headers. Not part of the API: hidden from OpenAPI.
 */
export const uiRoutes: FastifyPluginAsyncTypebox<{
  deps: Deps;
  limiter: FailedAuthLimiter;
  metrics: Metrics;
}> = async (app, { deps, limiter, metrics }) => {
  const guards: AuthGuards = { limiter, metrics };
  if (!app.hasRequestDecorator("ctx")) app.decorateRequest("ctx", undefined as unknown as RequestContext);
  app.addHook("onRequest", async (request) => {
    request.ctx = contextOf(request);
  });
  app.addHook("onSend", async (_request, reply) => setSecurityHeaders(reply));

  const pruning = setInterval(() => {
    pruneSessions(deps).catch((error) => app.log.warn({ err: error }, "pruning UI sessions failed"));
  }, PRUNE_INTERVAL_MS).unref();
  app.addHook("onClose", async () => clearInterval(pruning));

  app.post("/ui/session", { schema: { ...hidden, body: SignIn } }, async (request, reply) => {
    await checkOrigin(deps, request);
    checkLimiter(limiter, request);
    const token = request.body.token;
    const result = await authenticateToken(deps, token);
    metrics.authentications.inc({ result: result.ok ? "success" : result.error.code });
    if (!result.ok) throw await authenticationFailed(deps, guards, request, result, {});
    if (result.token.format === "jwt" && !result.token.audiences.includes(deps.issuer)) {
      limiter.recordFailure(request.ip);
      throw new ApiError("token_invalid", "the token's audience is not this API");
    }
    const principal = result.principal;
    request.ctx.principal = principal;
    if (result.record) await recordUse(deps, request.ctx, result.record);
    // A short-lived JWT has no row: its (just verified) claims let later requests re-check it.
    const claims = result.record ? undefined : (decodeJwt(token) as unknown as AccessTokenClaims);
    const session = await transact(deps, (trx) => createSession(deps, trx, request.ctx, principal, claims));
    return reply
      .code(201)
      .header("set-cookie", sessionCookie(deps, session.id))
      .send({ csrf_token: session.csrfToken, expires_at: session.expiresAt, whoami: whoamiOf(principal) });
  });

  const requireSession = async (request: Parameters<typeof sessionIdOf>[0]) => {
    checkLimiter(limiter, request);
    const sessionId = sessionIdOf(request);
    if (sessionId === undefined) {
      throw new ApiError("unauthenticated", "not signed in: no session cookie", {
        headers: { "set-cookie": clearedSessionCookie(deps) },
      });
    }
    return authenticateSessionRequest(deps, guards, request, sessionId);
  };

  app.get("/ui/session", { schema: hidden }, async (request) => {
    const session = await requireSession(request);
    const principal = request.ctx.principal;
    if (!principal) throw new ApiError("unauthenticated");
    return {
      csrf_token: csrfTokenOf(session.id),
      expires_at: session.expiresAt,
      whoami: whoamiOf(principal),
    };
  });

  app.delete("/ui/session", { schema: hidden }, async (request, reply) => {
    const session = await requireSession(request);
    await transact(deps, (trx) => deleteSession(deps, trx, request.ctx, session.id));
    return reply.code(204).header("set-cookie", clearedSessionCookie(deps)).send();
  });

  app.get("/ui/assets/*", { schema: hidden }, async (request, reply) => {
    const name = (request.params as { "*": string })["*"];
    const asset = (await uiBundle()).assets.get(name);
    if (!asset) throw new ApiError("not_found", "no such asset");
    return reply
      .header("content-type", asset.contentType)
      .header("cache-control", "public, max-age=31536000, immutable")
      .send(asset.body);
  });

  const page = async (_request: unknown, reply: FastifyReply) =>
    reply.header("content-type", "text/html; charset=utf-8").send((await uiBundle()).indexHtml);
  app.get("/ui", { schema: hidden }, page);
  app.get("/ui/*", { schema: hidden }, page);
  // Any other method under /ui: the usual 404, with the UI's headers.
  app.route({
    method: ["POST", "PUT", "PATCH", "DELETE"],
    url: "/ui/*",
    schema: hidden,
    handler: async (request) => {
      throw new ApiError("route_not_found", `no ${request.method} route at this path`);
    },
  });
};
