import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { errorResponses, PageOf, PageQuery } from "../http/schemas.ts";
import { ProjectParams } from "../projects/schemas.ts";
import type { Services } from "../server/services.ts";
import {
  CreateServiceAccount,
  CreatedServiceAccount,
  ServiceAccountParams,
  UpdateServiceAccount,
} from "./schemas.ts";

const tags = ["service accounts"];

export const serviceAccountRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (
  app,
  { services },
) => {
  const accounts = services.serviceAccounts;

  app.get(
    "/v1/projects/:project/service-accounts",
    {
      schema: {
        tags,
        summary: "List the service accounts of a project, by name",
        params: ProjectParams,
        querystring: Type.Object(PageQuery, { additionalProperties: false }),
        response: { 200: PageOf(Type.Ref("ServiceAccount")), ...errorResponses(400, 401, 404) },
      },
    },
    async (request) =>
      accounts.list(request.ctx, request.params.project, {
        limit: request.query.limit ?? 50,
        cursor: request.query.cursor,
      }),
  );

  app.post(
    "/v1/projects/:project/service-accounts",
    {
      schema: {
        tags,
        summary:
          "Create a service account (role and scope no higher than the caller's), optionally with its first token",
        params: ProjectParams,
        body: CreateServiceAccount,
        response: { 201: CreatedServiceAccount, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const { token, ...account } = request.body;
      const created =
        token === undefined
          ? await accounts.create(request.ctx, request.params.project, account)
          : await accounts.createWithToken(
              request.ctx,
              request.params.project,
              account,
              token,
              services.tokens,
            );
      return reply.code(201).send(created);
    },
  );

  app.get(
    "/v1/projects/:project/service-accounts/:name",
    {
      schema: {
        tags,
        summary: "Get a service account",
        params: ServiceAccountParams,
        response: { 200: Type.Ref("ServiceAccount"), ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => accounts.get(request.ctx, request.params.project, request.params.name),
  );

  app.patch(
    "/v1/projects/:project/service-accounts/:name",
    {
      schema: {
        tags,
        summary: "Edit a service account (description, owner, role, scope, disabled, labels)",
        params: ServiceAccountParams,
        body: UpdateServiceAccount,
        response: { 200: Type.Ref("ServiceAccount"), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) =>
      accounts.update(request.ctx, request.params.project, request.params.name, request.body),
  );

  app.delete(
    "/v1/projects/:project/service-accounts/:name",
    {
      schema: {
        tags,
        summary: "Delete a service account and revoke all its tokens",
        params: ServiceAccountParams,
        response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await accounts.delete(request.ctx, request.params.project, request.params.name);
      return reply.code(204).send(null);
    },
  );
};
