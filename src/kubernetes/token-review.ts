import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { authenticateToken } from "../auth/authenticate.ts";
import type { Deps } from "../server/deps.ts";

const API_VERSION = "authentication.k8s.io/v1";

const TokenReview = Type.Object({
  apiVersion: Type.Literal(API_VERSION),
  kind: Type.Literal("TokenReview"),
  metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  spec: Type.Object({
    token: Type.String({ maxLength: 16384 }),
    audiences: Type.Optional(Type.Array(Type.String({ maxLength: 256 }), { maxItems: 20 })),
  }),
});

export const usernameOf = (project: string, name: string) => `latchkey:serviceaccount:${project}:${name}`;
export const groupsOf = (project: string) => [
  "latchkey:serviceaccounts",
  `latchkey:serviceaccounts:${project}`,
];

/**
 * Kubernetes TokenReview, as a webhook token authenticator for kube-apiserver. Audiences follow
 * Kubernetes: the review's audiences (or, when it names none, this server's) must meet the token's;
 * `status.audiences` is the intersection. An opaque token without audiences is valid for any.
 */
export const tokenReviewRoutes: FastifyPluginAsyncTypebox<{ deps: Deps }> = async (app, { deps }) => {
  app.post(
    "/apis/authentication.k8s.io/v1/tokenreviews",
    {
      schema: {
        tags: ["kubernetes"],
        summary: "Kubernetes TokenReview (webhook token authenticator)",
        body: TokenReview,
      },
    },
    async (request, reply) => {
      const { spec } = request.body;
      const wanted = spec.audiences && spec.audiences.length > 0 ? spec.audiences : [deps.issuer];
      // The token is never echoed back: the response carries the review's audiences only.
      const respond = (status: Record<string, unknown>) =>
        reply.code(201).send({
          apiVersion: API_VERSION,
          kind: "TokenReview",
          metadata: { creationTimestamp: null },
          spec: spec.audiences ? { audiences: spec.audiences } : {},
          status,
        });
      const result = await authenticateToken(deps, spec.token);
      if (!result.ok) return respond({ authenticated: false, error: result.error.message });
      const own = result.token.audiences;
      const audiences = own.length === 0 ? wanted : wanted.filter((a) => own.includes(a));
      if (audiences.length === 0) {
        return respond({
          authenticated: false,
          error: "the token's audiences do not include the requested ones",
        });
      }
      const p = result.principal;
      return respond({
        authenticated: true,
        user: {
          username: usernameOf(p.projectName, p.serviceAccountName),
          uid: p.serviceAccountId,
          groups: groupsOf(p.projectName),
          extra: {
            "latchkey.dev/token-id": [result.token.id],
            "latchkey.dev/access": [p.access],
            ...(result.token.boundObject
              ? {
                  "authentication.kubernetes.io/bound-object": [
                    `${result.token.boundObject.kind}/${result.token.boundObject.name}`,
                  ],
                }
              : {}),
          },
        },
        audiences,
      });
    },
  );
};
