import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { authorize } from "../auth/guard.ts";
import { errorResponses } from "../http/schemas.ts";
import { type Deps, transact } from "../server/deps.ts";
import type { KeyRing, SigningKey } from "./key-ring.ts";

const SigningKeyView = Type.Object({
  kid: Type.String(),
  algorithm: Type.String(),
  created_at: Type.String(),
  retired_at: Type.Union([Type.String(), Type.Null()]),
  published: Type.Boolean({ description: "Still in the JWKS: it may verify a token that is still valid" }),
  active: Type.Boolean({ description: "Signs new tokens" }),
  public_jwk: Type.Record(Type.String(), Type.Unknown()),
});

const view = (keys: KeyRing, key: SigningKey) => ({
  kid: key.kid,
  algorithm: key.algorithm,
  created_at: key.createdAt,
  retired_at: key.retiredAt,
  published: keys.verificationKey(key.kid) !== undefined,
  active: key.retiredAt === null,
  public_jwk: key.publicJwk as Record<string, unknown>,
});

const subject = { type: "signing_key" };

/** Owners list and rotate signing keys; everyone else reads the JWKS. */
export const signingKeyRoutes: FastifyPluginAsyncTypebox<{ deps: Deps }> = async (app, { deps }) => {
  app.get(
    "/v1/signing-keys",
    {
      schema: {
        tags: ["keys"],
        summary: "List signing keys, newest first (organization-scoped owners)",
        response: { 200: Type.Object({ items: Type.Array(SigningKeyView) }), ...errorResponses(401, 403) },
      },
    },
    async (request) => {
      authorize(request.ctx, "signing_key.read", {}, subject);
      await deps.keys.refreshIfStale();
      return { items: deps.keys.all().map((k) => view(deps.keys, k)) };
    },
  );

  app.post(
    "/v1/signing-keys/rotate",
    {
      schema: {
        tags: ["keys"],
        summary: "Make a new active signing key; the previous one keeps verifying until its tokens expire",
        response: { 201: SigningKeyView, ...errorResponses(401, 403) },
      },
    },
    async (request, reply) => {
      authorize(request.ctx, "signing_key.rotate", {}, subject);
      const rotated = await transact(deps, async (trx) => {
        const result = await deps.keys.rotate(trx);
        await deps.revocations.append(
          trx,
          "signing_key.rotated",
          { kid: result.created, retired: result.retired },
          new Date(deps.clock.now().getTime() + deps.policy.maxTokenRequestSeconds * 1000).toISOString(),
        );
        await deps.audit.append(trx, request.ctx, {
          action: "signing_key.rotate",
          target: { type: "signing_key", id: result.created },
          details: { retired: result.retired },
        });
        return result;
      });
      await deps.keys.load();
      const key = deps.keys.all().find((k) => k.kid === rotated.created);
      if (!key) throw new Error("the new key is missing after rotation");
      return reply.code(201).send(view(deps.keys, key));
    },
  );
};

/** Public discovery: the JWKS and the OAuth/OIDC metadata documents. */
export const discoveryRoutes: FastifyPluginAsyncTypebox<{ deps: Deps }> = async (app, { deps }) => {
  app.get(
    "/.well-known/jwks.json",
    { schema: { tags: ["discovery"], summary: "Every key that may verify a token that is still valid" } },
    async (_request, reply) => {
      await deps.keys.refreshIfStale();
      reply.header("cache-control", "public, max-age=60");
      return { keys: deps.keys.published().map((k) => k.publicJwk) };
    },
  );
  const metadata = () => ({
    issuer: deps.issuer,
    token_endpoint: `${deps.issuer}/oauth2/token`,
    introspection_endpoint: `${deps.issuer}/oauth2/introspect`,
    revocation_endpoint: `${deps.issuer}/oauth2/revoke`,
    jwks_uri: `${deps.issuer}/.well-known/jwks.json`,
    grant_types_supported: ["client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"],
    token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
    introspection_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post", "bearer"],
    revocation_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post", "bearer"],
    response_types_supported: ["token"],
    subject_types_supported: ["public"],
    scopes_supported: ["read", "write"],
    // Every published key's algorithm, not just the active one's: clients such as go-oidc accept
    // only these, and a retired key of another algorithm still verifies its unexpired tokens.
    id_token_signing_alg_values_supported: [...new Set(deps.keys.published().map((k) => k.algorithm))],
    token_endpoint_auth_signing_alg_values_supported: [deps.keys.active().algorithm],
    claims_supported: [
      "iss",
      "sub",
      "aud",
      "exp",
      "iat",
      "nbf",
      "jti",
      "client_id",
      "scope",
      "project",
      "service_account",
      "access",
    ],
  });
  for (const path of ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"]) {
    app.get(
      path,
      { schema: { tags: ["discovery"], summary: "OAuth 2.0 / OpenID Connect discovery" } },
      async () => {
        await deps.keys.refreshIfStale();
        return metadata();
      },
    );
  }
};
