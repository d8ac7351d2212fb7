import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { errorResponses, PageOf } from "../http/schemas.ts";
import type { Services } from "../server/services.ts";
import { AuditQuery } from "./schemas.ts";

export const auditRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  app.get(
    "/v1/audit-events",
    {
      schema: {
        tags: ["audit"],
        summary: "List audit events, newest first; with verify=true, verify the hash chain instead",
        querystring: AuditQuery,
        response: {
          200: Type.Union([PageOf(Type.Ref("AuditEvent")), Type.Ref("ChainVerification")]),
          ...errorResponses(400, 401, 403),
        },
      },
    },
    async (request) => {
      const { verify, ...query } = request.query;
      if (verify) return services.audit.verify(request.ctx);
      return services.audit.list(request.ctx, { ...query, limit: query.limit ?? 50 });
    },
  );
};
