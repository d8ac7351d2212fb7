import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { errorResponses, StringEnum } from "../http/schemas.ts";
import { ApiError } from "../lib/errors.ts";
import { Role, Scope } from "../service-accounts/schemas.ts";
import { ACCESS_LEVELS, effectiveRole, type Principal } from "./policy.ts";

const WhoAmI = Type.Object({
  service_account: Type.Object({
    id: Type.String(),
    project: Type.String(),
    name: Type.String(),
    email: Type.String(),
    role: Role,
    scope: Scope,
  }),
  token_id: Type.String(),
  access: StringEnum(ACCESS_LEVELS),
  effective_role: Role,
});

/** The body of GET /v1/whoami (and of the web UI's session): who a principal is. */
export function whoamiOf(p: Principal) {
  return {
    service_account: {
      id: p.serviceAccountId,
      project: p.projectName,
      name: p.serviceAccountName,
      email: p.email,
      role: p.role,
      scope: p.scope,
    },
    token_id: p.tokenId,
    access: p.access,
    effective_role: effectiveRole(p),
  };
}

export const whoamiRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    "/v1/whoami",
    {
      schema: {
        tags: ["auth"],
        summary: "The caller: service account, token id, effective role",
        response: { 200: WhoAmI, ...errorResponses(401) },
      },
    },
    async (request) => {
      const p = request.ctx.principal;
      if (!p) throw new ApiError("unauthenticated");
      return whoamiOf(p);
    },
  );
};
