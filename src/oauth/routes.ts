import type { FastifyInstance, FastifyRequest } from "fastify";
import { type AuthResult, authenticateToken, lookupTogether } from "../auth/authenticate.ts";
import { decide, effectiveRole, type Principal, roleRank } from "../auth/policy.ts";
import { looksLikeJwt, scopeOf, signAccessToken, verifyAccessToken } from "../jwt/access-token.ts";
import { newId } from "../lib/ids.ts";
import { tokenRevoked } from "../revocations/feed.ts";
import type { RequestContext } from "../server/context.ts";
import { type Deps, transact } from "../server/deps.ts";
import { contextOf } from "../http/authentication.ts";
import type { FailedAuthLimiter } from "../auth/rate-limit.ts";
import { findTokenById } from "../tokens/store.ts";
import { isWellFormedOpaqueToken, tokenDigest } from "../tokens/format.ts";
import { findTokenByDigest } from "../tokens/store.ts";
import { authenticateClient, clientSecretOf, type Form } from "./client-auth.ts";
import { OAuthError } from "./errors.ts";

const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE_URN = "urn:ietf:params:oauth:token-type:access_token";
const JWT_TYPE_URN = "urn:ietf:params:oauth:token-type:jwt";
const DEFAULT_LIFETIME_SECONDS = 3600;

function parseForm(body: string): Form {
  const form: Form = {};
  for (const [key, value] of new URLSearchParams(body)) {
    // RFC 6749 §3.1: parameters must not be repeated.
    if (key in form) throw new OAuthError("invalid_request", `parameter ${key} is repeated`);
    form[key] = value;
  }
  return form;
}

const scopesOf = (text: string | undefined): string[] => (text ? text.split(" ").filter(Boolean) : []);

/**
 * OAuth 2.0 endpoints: token (client_credentials, RFC 8693 token exchange), introspection (RFC 7662)
 * and revocation (RFC 7009). Errors use the OAuth shape, not problem+json.
 */
export async function oauthRoutes(
  app: FastifyInstance,
  { deps, limiter }: { deps: Deps; limiter: FailedAuthLimiter },
) {
  // RFC 6749 §3.2: form parameters only. A JSON body would put objects where strings are expected.
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser(
    "application/x-www-form-urlencoded",
    { parseAs: "string" },
    (_request, body, done) => {
      try {
        done(null, parseForm(body as string));
      } catch (error) {
        done(error as Error, undefined);
      }
    },
  );
  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    const oauth =
      error instanceof OAuthError
        ? error
        : error.statusCode && error.statusCode < 500
          ? new OAuthError("invalid_request", "send the parameters as application/x-www-form-urlencoded")
          : undefined;
    if (!oauth) {
      request.log.error({ err: error }, "oauth request failed");
      return reply.code(500).send({ error: "server_error", error_description: "an internal error occurred" });
    }
    if (oauth.error === "invalid_client") {
      limiter.recordFailure(request.ip);
      reply.header("www-authenticate", 'Basic realm="latchkey"');
    }
    return reply
      .code(oauth.status)
      .header("pragma", "no-cache")
      .send({ error: oauth.error, error_description: oauth.description });
  });
  app.addHook("onRequest", async (request) => {
    request.ctx = contextOf(request);
    const wait = limiter.retryAfter(request.ip);
    if (wait > 0)
      throw new OAuthError("invalid_client", `too many failed authentications; retry in ${wait} s`);
  });

  const formOf = (request: FastifyRequest): Form => {
    if (typeof request.body !== "object" || request.body === null) {
      throw new OAuthError("invalid_request", "send the parameters as application/x-www-form-urlencoded");
    }
    return request.body as Form;
  };

  const oauthSchema = (summary: string) => ({
    schema: { tags: ["oauth2"], summary, consumes: ["application/x-www-form-urlencoded"] },
  });

  app.post(
    "/oauth2/token",
    oauthSchema("OAuth 2.0 token endpoint: client_credentials and token exchange"),
    async (request, reply) => {
      const form = formOf(request);
      const ctx = request.ctx;
      let subject: Extract<AuthResult, { ok: true }>;
      let grant: string;
      if (form.grant_type === "client_credentials") {
        subject = await authenticateClient(deps, request, form, { allowBearer: false });
        grant = "client_credentials";
      } else if (form.grant_type === TOKEN_EXCHANGE) {
        if (form.client_id !== undefined || request.headers.authorization) {
          await authenticateClient(deps, request, form, { allowBearer: false });
        }
        if (!form.subject_token) throw new OAuthError("invalid_request", "subject_token is required");
        if (form.subject_token_type !== ACCESS_TOKEN_TYPE_URN) {
          throw new OAuthError("invalid_request", `subject_token_type must be ${ACCESS_TOKEN_TYPE_URN}`);
        }
        if (
          form.requested_token_type &&
          ![ACCESS_TOKEN_TYPE_URN, JWT_TYPE_URN].includes(form.requested_token_type)
        ) {
          throw new OAuthError("invalid_request", "requested_token_type must be an access token or a JWT");
        }
        const result = await authenticateToken(deps, form.subject_token);
        if (!result.ok || result.token.format !== "opaque") {
          throw new OAuthError("invalid_grant", "subject_token is not an active opaque Latchkey token");
        }
        subject = result;
        grant = "token_exchange";
      } else {
        throw new OAuthError(
          "unsupported_grant_type",
          "grant_type must be client_credentials or token exchange",
        );
      }
      ctx.principal = subject.principal;

      // Narrower only: audiences within the subject token's (if it names any), scopes within its access.
      const requestedAudiences = [...scopesOf(form.audience), ...scopesOf(form.resource)];
      const allowedAudiences = subject.token.audiences;
      if (allowedAudiences.length > 0 && requestedAudiences.some((a) => !allowedAudiences.includes(a))) {
        throw new OAuthError("invalid_target", "the requested audience is outside the token's audiences");
      }
      const audiences =
        requestedAudiences.length > 0
          ? requestedAudiences
          : allowedAudiences.length > 0
            ? allowedAudiences
            : [deps.issuer];
      const allowedScopes = scopesOf(scopeOf(subject.principal.access));
      const requestedScopes = scopesOf(form.scope);
      if (requestedScopes.some((s) => !allowedScopes.includes(s))) {
        throw new OAuthError("invalid_scope", `scope may only include ${allowedScopes.join(" ")}`);
      }
      const scopes = requestedScopes.length > 0 ? requestedScopes : allowedScopes;
      const access = scopes.includes("write") ? "read-write" : "read-only";

      const now = deps.clock.now();
      const nowSeconds = Math.floor(now.getTime() / 1000);
      // Never outlives the credential it came from.
      const exp = Math.min(
        nowSeconds + Math.min(DEFAULT_LIFETIME_SECONDS, deps.policy.maxTokenRequestSeconds),
        Math.floor(new Date(subject.token.expiresAt).getTime() / 1000),
      );
      const jti = newId();
      const p = subject.principal;
      const accessToken = await signAccessToken(deps.keys, {
        iss: deps.issuer,
        sub: p.serviceAccountId,
        aud: audiences,
        exp,
        iat: nowSeconds,
        nbf: nowSeconds,
        jti,
        client_id: p.email,
        scope: scopes.join(" "),
        project: p.projectName,
        service_account: p.serviceAccountName,
        access,
      });
      await transact(deps, (trx) =>
        deps.audit.append(trx, ctx, {
          action: "oauth2.token",
          target: { type: "token", id: jti, name: p.serviceAccountName },
          project: p.projectName,
          details: {
            grant,
            audiences,
            scope: scopes.join(" "),
            expires_at: new Date(exp * 1000).toISOString(),
          },
        }),
      );
      return reply.header("pragma", "no-cache").send({
        access_token: accessToken,
        token_type: "Bearer",
        expires_in: exp - nowSeconds,
        scope: scopes.join(" "),
        ...(grant === "token_exchange" ? { issued_token_type: ACCESS_TOKEN_TYPE_URN } : {}),
      });
    },
  );

  app.post(
    "/oauth2/introspect",
    oauthSchema("RFC 7662 token introspection (the caller authenticates)"),
    async (request) => {
      const form = formOf(request);
      // The caller's secret and the token asked about, found together: one query, not two.
      const lookup = await lookupTogether(deps, clientSecretOf(request, form), form.token);
      await authenticateClient(deps, request, form, { allowBearer: true, lookup });
      const result = form.token ? await authenticateToken(deps, form.token, lookup) : undefined;
      // Fail closed: anything but an active token is exactly {"active": false}.
      if (!result?.ok) return { active: false };
      const p = result.principal;
      return {
        active: true,
        token_type: "Bearer",
        scope: scopeOf(p.access),
        client_id: p.email,
        username: p.email,
        sub: p.serviceAccountId,
        aud: result.token.audiences,
        iss: deps.issuer,
        jti: result.token.id,
        iat: Math.floor(new Date(result.token.issuedAt).getTime() / 1000),
        exp: Math.floor(new Date(result.token.expiresAt).getTime() / 1000),
        project: p.projectName,
        service_account: p.serviceAccountName,
        access: p.access,
        token_format: result.token.format,
      };
    },
  );

  app.post("/oauth2/revoke", oauthSchema("RFC 7009 token revocation"), async (request, reply) => {
    const form = formOf(request);
    const caller = await authenticateClient(deps, request, form, { allowBearer: true });
    const ctx: RequestContext = { ...request.ctx, principal: caller.principal };
    if (!form.token) throw new OAuthError("invalid_request", "token is required");
    await revokeAny(deps, ctx, caller.principal, form.token);
    // RFC 7009 §2.2: unknown, invalid or already revoked tokens get 200 as well.
    return reply.code(200).send({});
  });
}

/** Revokes an opaque token, a JWT-format token or a short-lived JWT, if the caller may. */
async function revokeAny(deps: Deps, ctx: RequestContext, caller: Principal, token: string): Promise<void> {
  const now = deps.clock.now();
  let target:
    | {
        id: string;
        saId: string;
        projectId: string;
        project: string;
        role: string;
        scope: string;
        expiresAt: string;
        row: boolean;
      }
    | undefined;
  if (looksLikeJwt(token)) {
    // The signature proves we issued it; an expired one needs no revoking.
    const verified = await verifyAccessToken(deps.keys, token, { issuer: deps.issuer, now });
    if (!verified.ok) return;
    const claims = verified.claims;
    const row = await findTokenById(deps.db, claims.jti);
    const account = await deps.db
      .selectFrom("service_accounts as sa")
      .innerJoin("projects as p", "p.id", "sa.project_id")
      .select(["sa.id", "sa.role", "sa.scope", "p.id as project_id", "p.name as project_name"])
      .where("sa.id", "=", claims.sub)
      .executeTakeFirst();
    if (!account) return;
    target = {
      id: claims.jti,
      saId: account.id,
      projectId: account.project_id,
      project: account.project_name,
      role: account.role,
      scope: account.scope,
      expiresAt: row?.expires_at ?? new Date(claims.exp * 1000).toISOString(),
      row: row !== undefined,
    };
  } else if (isWellFormedOpaqueToken(token)) {
    const row = await findTokenByDigest(deps.db, tokenDigest(token));
    if (!row) return;
    target = {
      id: row.id,
      saId: row.service_account_id,
      projectId: row.project_id,
      project: row.project_name,
      role: row.sa_role,
      scope: row.sa_scope,
      expiresAt: row.expires_at,
      row: true,
    };
  }
  if (!target) return;
  if (target.saId !== caller.serviceAccountId) {
    // Someone else's token: admin rights over its account.
    const denial = decide(caller, "token.revoke", {
      projectId: target.projectId,
      serviceAccount: { role: target.role as Principal["role"], scope: target.scope as Principal["scope"] },
    });
    if (denial || roleRank(effectiveRole(caller)) < roleRank("admin")) {
      throw new OAuthError(
        "access_denied",
        "revoking another service account's token needs admin rights over it",
      );
    }
  }
  const at = now.toISOString();
  const found = target;
  await transact(deps, async (trx) => {
    if (found.row) {
      const updated = await trx
        .updateTable("tokens")
        .set({ revoked_at: at })
        .where("id", "=", found.id)
        .where("revoked_at", "is", null)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) === 0) return;
    } else {
      const exists = await trx
        .selectFrom("revoked_jwts")
        .select("jti")
        .where("jti", "=", found.id)
        .executeTakeFirst();
      if (exists) return;
      await trx.insertInto("revoked_jwts").values({ jti: found.id, expires_at: found.expiresAt }).execute();
    }
    await tokenRevoked(deps.revocations, trx, { id: found.id, expires_at: found.expiresAt }, at);
    await deps.audit.append(trx, ctx, {
      action: "token.revoke",
      target: { type: "token", id: found.id },
      project: found.project,
      details: { via: "oauth2/revoke" },
    });
  });
}
