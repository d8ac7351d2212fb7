import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { errorResponses, PageOf } from "../http/schemas.ts";
import type { Services } from "../server/services.ts";
import { ServiceAccountParams } from "../service-accounts/schemas.ts";
import {
  AllTokensQuery,
  CreateToken,
  RotateToken,
  TokenListQuery,
  TokenParams,
  UpdateToken,
} from "./schemas.ts";

const tags = ["tokens"];

export const tokenRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  const tokens = services.tokens;

  app.get(
    "/v1/projects/:project/service-accounts/:name/tokens",
    {
      schema: {
        tags,
        summary: "List a service account's tokens (oldest first), optionally by state and name",
        params: ServiceAccountParams,
        querystring: TokenListQuery,
        response: { 200: PageOf(Type.Ref("Token")), ...errorResponses(400, 401, 404) },
      },
    },
    async (request) =>
      tokens.list(request.ctx, request.params.project, request.params.name, {
        ...request.query,
        limit: request.query.limit ?? 50,
      }),
  );

  app.post(
    "/v1/projects/:project/service-accounts/:name/tokens",
    {
      schema: {
        tags,
        summary: "Create a token; the secret is in this response only",
        params: ServiceAccountParams,
        body: CreateToken,
        response: { 201: Type.Ref("IssuedToken"), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(await tokens.create(request.ctx, request.params.project, request.params.name, request.body)),
  );

  app.get(
    "/v1/tokens",
    {
      schema: {
        tags,
        summary: "List tokens across every project the caller can see, with filters, a sort order and paging",
        querystring: AllTokensQuery,
        response: { 200: PageOf(Type.Ref("Token")), ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => tokens.listAll(request.ctx, request.query),
  );

  // Registered before /v1/tokens/:id so that "self" is never read as an id.
  app.post(
    "/v1/tokens/self/rotate",
    {
      schema: {
        tags,
        summary: "Rotate the calling token (read-write tokens)",
        body: RotateToken,
        response: { 201: Type.Ref("RotatedToken"), ...errorResponses(400, 401, 403, 409) },
      },
    },
    async (request, reply) => reply.code(201).send(await tokens.rotateSelf(request.ctx, request.body)),
  );

  app.delete(
    "/v1/tokens/self",
    {
      schema: {
        tags,
        summary: "Revoke the calling token (read-write tokens)",
        response: { 204: Type.Null(), ...errorResponses(401, 403) },
      },
    },
    async (request, reply) => {
      await tokens.revokeSelf(request.ctx);
      return reply.code(204).send(null);
    },
  );

  app.get(
    "/v1/tokens/:id",
    {
      schema: {
        tags,
        summary: "Get a token by id (never its secret)",
        params: TokenParams,
        response: { 200: Type.Ref("Token"), ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => tokens.get(request.ctx, request.params.id),
  );

  app.patch(
    "/v1/tokens/:id",
    {
      schema: {
        tags,
        summary: "Edit a token's name, description, owner and labels",
        params: TokenParams,
        body: UpdateToken,
        response: { 200: Type.Ref("Token"), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => tokens.update(request.ctx, request.params.id, request.body),
  );

  app.delete(
    "/v1/tokens/:id",
    {
      schema: {
        tags,
        summary: "Revoke a token (idempotent)",
        params: TokenParams,
        response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await tokens.revoke(request.ctx, request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.post(
    "/v1/tokens/:id/rotate",
    {
      schema: {
        tags,
        summary: "Rotate a token: a new secret now, the previous one retired at a deadline",
        params: TokenParams,
        body: RotateToken,
        response: { 201: Type.Ref("RotatedToken"), ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await tokens.rotate(request.ctx, request.params.id, request.body)),
  );
};
