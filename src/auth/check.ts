import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { StringEnum } from "../http/schemas.ts";
import type { Deps } from "../server/deps.ts";
import { authenticateBearer } from "./authenticate.ts";
import { ACCESS_LEVELS } from "./policy.ts";

/**
 * For reverse proxies (nginx `auth_request`, Traefik forwardAuth): 200 with the caller's identity in
 * `X-Latchkey-*` headers, or 401. Bodies are empty; proxies read the status and headers only.
 */
export const authCheckRoutes: FastifyPluginAsyncTypebox<{ deps: Deps }> = async (app, { deps }) => {
  app.get(
    "/v1/auth/check",
    {
      schema: {
        tags: ["auth"],
        summary: "Identity check for reverse proxies: 200 with X-Latchkey-* headers, or 401",
        querystring: Type.Object(
          {
            audience: Type.Optional(
              Type.String({ maxLength: 256, description: "The token must be valid for it" }),
            ),
            access: Type.Optional(
              StringEnum(ACCESS_LEVELS, { description: "read-write refuses read-only tokens" }),
            ),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const result = await authenticateBearer(deps, request.headers.authorization);
      const refuse = () => reply.code(401).header("www-authenticate", "Bearer").send();
      if (!result.ok) return refuse();
      const { audience, access } = request.query;
      const audiences = result.token.audiences;
      // A JWT names its audiences; an opaque token without any is valid for every audience.
      const forAudience = audience
        ? audiences.length === 0 || audiences.includes(audience)
        : result.token.format === "opaque" || audiences.includes(deps.issuer);
      if (!forAudience) return refuse();
      if (access === "read-write" && result.principal.access !== "read-write") return reply.code(403).send();
      const p = result.principal;
      return reply
        .code(200)
        .headers({
          "x-latchkey-subject": p.serviceAccountId,
          "x-latchkey-project": p.projectName,
          "x-latchkey-service-account": p.serviceAccountName,
          "x-latchkey-email": p.email,
          "x-latchkey-token-id": result.token.id,
          "x-latchkey-access": p.access,
        })
        .send();
    },
  );
};
