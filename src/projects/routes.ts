import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { errorResponses, PageOf, PageQuery } from "../http/schemas.ts";
import type { Services } from "../server/services.ts";
import { CreateProject, ProjectParams, UpdateProject } from "./schemas.ts";

const tags = ["projects"];

export const projectRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  const projects = services.projects;

  app.get(
    "/v1/projects",
    {
      schema: {
        tags,
        summary: "List the projects the caller can see",
        querystring: Type.Object(PageQuery, { additionalProperties: false }),
        response: { 200: PageOf(Type.Ref("Project")), ...errorResponses(400, 401) },
      },
    },
    async (request) =>
      projects.list(request.ctx, { limit: request.query.limit ?? 50, cursor: request.query.cursor }),
  );

  app.post(
    "/v1/projects",
    {
      schema: {
        tags,
        summary: "Create a project (organization-scoped admins and owners)",
        body: CreateProject,
        response: { 201: Type.Ref("Project"), ...errorResponses(400, 401, 403, 409) },
      },
    },
    async (request, reply) => reply.code(201).send(await projects.create(request.ctx, request.body)),
  );

  app.get(
    "/v1/projects/:project",
    {
      schema: {
        tags,
        summary: "Get a project",
        params: ProjectParams,
        response: { 200: Type.Ref("Project"), ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => projects.get(request.ctx, request.params.project),
  );

  app.patch(
    "/v1/projects/:project",
    {
      schema: {
        tags,
        summary: "Edit a project's description and labels",
        params: ProjectParams,
        body: UpdateProject,
        response: { 200: Type.Ref("Project"), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => projects.update(request.ctx, request.params.project, request.body),
  );

  app.delete(
    "/v1/projects/:project",
    {
      schema: {
        tags,
        summary: "Delete an empty project",
        params: ProjectParams,
        response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      await projects.delete(request.ctx, request.params.project);
      return reply.code(204).send(null);
    },
  );
};
