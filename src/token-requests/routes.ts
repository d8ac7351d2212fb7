import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { authorize } from "../auth/guard.ts";
import { BoundObjectKind, BoundObjectName, BoundObjectUid } from "../bound-objects/routes.ts";
import { errorResponses } from "../http/schemas.ts";
import { scopeOf, signAccessToken } from "../jwt/access-token.ts";
import { addSeconds } from "../lib/clock.ts";
import { ApiError, invalidField } from "../lib/errors.ts";
import { newId } from "../lib/ids.ts";
import { emailOf } from "../service-accounts/email.ts";
import { ServiceAccountParams } from "../service-accounts/schemas.ts";
import { asTarget, visibleServiceAccount } from "../service-accounts/service.ts";
import { type Deps, transact } from "../server/deps.ts";

export const MIN_EXPIRATION_SECONDS = 600;
export const DEFAULT_EXPIRATION_SECONDS = 3600;

const TokenRequest = Type.Object(
  {
    audiences: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 256, pattern: "^[\\x21-\\x7e]+$" }), {
        maxItems: 20,
        uniqueItems: true,
        description: "Who may accept the token; default: this server's issuer (its own API)",
      }),
    ),
    expiration_seconds: Type.Optional(
      Type.Integer({
        minimum: MIN_EXPIRATION_SECONDS,
        description:
          "At least 600 (default 3600); above the policy maximum it is shortened, as in Kubernetes",
      }),
    ),
    bound_object_ref: Type.Optional(
      Type.Object(
        { kind: BoundObjectKind, name: BoundObjectName, uid: Type.Optional(BoundObjectUid) },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

const TokenRequestResponse = Type.Object({
  token: Type.String({ description: "The JWT. Shown in this response only." }),
  expiration_timestamp: Type.String({
    description: "When it expires (RFC 3339): the truth, after any shortening",
  }),
  audiences: Type.Array(Type.String()),
  bound_object_ref: Type.Optional(
    Type.Object({ kind: Type.String(), name: Type.String(), uid: Type.String() }),
  ),
});

/**
 * Kubernetes TokenRequest semantics: a short-lived JWT for a service account, for the given
 * audiences, optionally bound to an object. An account may always request tokens for itself (no
 * more than its own token's access); for others the caller needs the rights to mint their tokens.
 */
export const tokenRequestRoutes: FastifyPluginAsyncTypebox<{ deps: Deps }> = async (app, { deps }) => {
  app.post(
    "/v1/projects/:project/service-accounts/:name/token-requests",
    {
      schema: {
        tags: ["token requests"],
        summary: "Request a short-lived JWT for a service account (Kubernetes TokenRequest semantics)",
        params: ServiceAccountParams,
        body: TokenRequest,
        response: { 201: TokenRequestResponse, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const ctx = request.ctx;
      const body = request.body;
      const result = await transact(deps, async (trx) => {
        const { project, account } = await visibleServiceAccount(
          trx,
          ctx,
          request.params.project,
          request.params.name,
        );
        const principal = ctx.principal;
        if (!principal) throw new ApiError("unauthenticated");
        const self = principal.serviceAccountId === account.id;
        if (!self) {
          authorize(
            ctx,
            "token.create",
            { projectId: project.id, serviceAccount: asTarget(account) },
            {
              type: "token",
              name: "token-request",
              project: project.name,
            },
          );
        }
        let bound: { kind: string; name: string; uid: string } | undefined;
        const ref = body.bound_object_ref;
        if (ref) {
          const object = await trx
            .selectFrom("bound_objects")
            .select("uid")
            .where("project_id", "=", project.id)
            .where("kind", "=", ref.kind)
            .where("name", "=", ref.name)
            .executeTakeFirst();
          if (!object)
            throw invalidField(
              "bound_object_ref.name",
              `no ${ref.kind} named ${ref.name} in ${project.name}`,
            );
          if (ref.uid !== undefined && ref.uid !== object.uid) {
            throw invalidField(
              "bound_object_ref.uid",
              `does not match the current uid of ${ref.kind}/${ref.name}`,
            );
          }
          bound = { kind: ref.kind, name: ref.name, uid: object.uid };
        }
        const seconds = Math.min(
          body.expiration_seconds ?? DEFAULT_EXPIRATION_SECONDS,
          deps.policy.maxTokenRequestSeconds,
        );
        const now = deps.clock.now();
        // For itself, an account gets no token that outlives the one it asked with (no self-renewal).
        const ownExpiry = new Date(principal.tokenExpiresAt);
        const asked = addSeconds(now, seconds);
        const expires = self && ownExpiry < asked ? ownExpiry : asked;
        const audiences = body.audiences && body.audiences.length > 0 ? body.audiences : [deps.issuer];
        const access = self ? principal.access : "read-write";
        const jti = newId();
        const token = await signAccessToken(deps.keys, {
          iss: deps.issuer,
          sub: account.id,
          aud: audiences,
          exp: Math.floor(expires.getTime() / 1000),
          iat: Math.floor(now.getTime() / 1000),
          nbf: Math.floor(now.getTime() / 1000),
          jti,
          client_id: emailOf(account.name, project.name),
          scope: scopeOf(access),
          project: project.name,
          service_account: account.name,
          access,
          ...(bound ? { bound_object: bound } : {}),
        });
        await deps.audit.append(trx, ctx, {
          action: "token.request",
          target: { type: "token", id: jti, name: account.name },
          project: project.name,
          details: { audiences, expires_at: expires.toISOString(), bound_object: bound ?? null, access },
        });
        return {
          token,
          expiration_timestamp: expires.toISOString(),
          audiences,
          ...(bound ? { bound_object_ref: bound } : {}),
        };
      });
      return reply.code(201).send(result);
    },
  );
};
