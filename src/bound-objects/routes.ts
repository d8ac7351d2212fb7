import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { authorize } from "../auth/guard.ts";
import { errorResponses } from "../http/schemas.ts";
import { ApiError, invalidField } from "../lib/errors.ts";
import { visibleProject } from "../projects/service.ts";
import { ProjectName } from "../projects/schemas.ts";
import type { Executor } from "../db/database.ts";
import type { RequestContext } from "../server/context.ts";
import { type Deps, transact } from "../server/deps.ts";

export const BoundObjectKind = Type.String({
  minLength: 1,
  maxLength: 63,
  pattern: "^[A-Za-z][A-Za-z0-9.-]*$",
  description: "Kind of object, e.g. Pod, Job, Secret, or your own",
});
export const BoundObjectName = Type.String({
  minLength: 1,
  maxLength: 253,
  pattern: "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
  description: "A DNS subdomain name",
});
export const BoundObjectUid = Type.String({ minLength: 1, maxLength: 128, pattern: "^[\\x21-\\x7e]+$" });

/** A bound object as the revocation feed records it (one key order, so it can be looked up). */
const objectRef = (project: string, kind: string, name: string, uid: string) => ({
  project,
  kind,
  name,
  uid,
});

const Params = Type.Object({ project: ProjectName, kind: BoundObjectKind, name: BoundObjectName });
const BoundObject = Type.Object({
  project: Type.String(),
  kind: Type.String(),
  name: Type.String(),
  uid: Type.String(),
  created_at: Type.String(),
  updated_at: Type.String(),
});

/**
 * Objects that short-lived tokens can be bound to. Deleting one, or giving it a new uid, makes every
 * token bound to it stop working at once (and tells offline verifiers through the revocation feed).
 */
export const boundObjectRoutes: FastifyPluginAsyncTypebox<{ deps: Deps }> = async (app, { deps }) => {
  const invalidate = async (
    trx: Executor,
    ctx: RequestContext,
    object: { project: string; kind: string; name: string; uid: string },
    action: string,
  ) => {
    await deps.revocations.append(
      trx,
      "bound_object.invalidated",
      object,
      new Date(deps.clock.now().getTime() + deps.policy.maxTokenRequestSeconds * 1000).toISOString(),
    );
    await deps.audit.append(trx, ctx, {
      action,
      target: { type: "bound_object", id: object.uid, name: `${object.kind}/${object.name}` },
      project: object.project,
    });
  };

  app.put(
    "/v1/projects/:project/bound-objects/:kind/:name",
    {
      schema: {
        tags: ["token requests"],
        summary: "Create or replace a bound object; a new uid invalidates the tokens bound to the old one",
        params: Params,
        body: Type.Object({ uid: BoundObjectUid }, { additionalProperties: false }),
        response: { 200: BoundObject, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { project: projectName, kind, name } = request.params;
      return transact(deps, async (trx) => {
        const project = await visibleProject(trx, request.ctx, projectName);
        authorize(
          request.ctx,
          "bound_object.write",
          { projectId: project.id },
          {
            type: "bound_object",
            name: `${kind}/${name}`,
            project: project.name,
          },
        );
        const now = deps.clock.now().toISOString();
        const existing = await trx
          .selectFrom("bound_objects")
          .selectAll()
          .where("project_id", "=", project.id)
          .where("kind", "=", kind)
          .where("name", "=", name)
          .executeTakeFirst();
        // A uid once invalidated stays dead: offline verifiers were told so by the revocation feed, and
        // tokens bound to it must not come back to life with an object that reuses it.
        const invalidated = await trx
          .selectFrom("revocation_events")
          .select("seq")
          .where("type", "=", "bound_object.invalidated")
          .where("data", "=", JSON.stringify(objectRef(project.name, kind, name, request.body.uid)))
          .executeTakeFirst();
        if (invalidated) {
          throw invalidField(
            "uid",
            `${kind}/${name} had this uid before it was deleted or replaced; use a new uid`,
          );
        }
        if (existing && existing.uid === request.body.uid) {
          return {
            project: project.name,
            kind,
            name,
            uid: existing.uid,
            created_at: existing.created_at,
            updated_at: existing.updated_at,
          };
        }
        if (existing) {
          await trx
            .updateTable("bound_objects")
            .set({ uid: request.body.uid, updated_at: now })
            .where("project_id", "=", project.id)
            .where("kind", "=", kind)
            .where("name", "=", name)
            .execute();
          await invalidate(
            trx,
            request.ctx,
            objectRef(project.name, kind, name, existing.uid),
            "bound_object.replace",
          );
        } else {
          await trx
            .insertInto("bound_objects")
            .values({
              project_id: project.id,
              kind,
              name,
              uid: request.body.uid,
              created_at: now,
              updated_at: now,
            })
            .execute();
          await deps.audit.append(trx, request.ctx, {
            action: "bound_object.create",
            target: { type: "bound_object", id: request.body.uid, name: `${kind}/${name}` },
            project: project.name,
          });
        }
        return {
          project: project.name,
          kind,
          name,
          uid: request.body.uid,
          created_at: existing?.created_at ?? now,
          updated_at: now,
        };
      });
    },
  );

  app.delete(
    "/v1/projects/:project/bound-objects/:kind/:name",
    {
      schema: {
        tags: ["token requests"],
        summary: "Delete a bound object: every token bound to it stops working at once",
        params: Params,
        response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { project: projectName, kind, name } = request.params;
      await transact(deps, async (trx) => {
        const project = await visibleProject(trx, request.ctx, projectName);
        authorize(
          request.ctx,
          "bound_object.write",
          { projectId: project.id },
          {
            type: "bound_object",
            name: `${kind}/${name}`,
            project: project.name,
          },
        );
        const existing = await trx
          .deleteFrom("bound_objects")
          .where("project_id", "=", project.id)
          .where("kind", "=", kind)
          .where("name", "=", name)
          .returning("uid")
          .executeTakeFirst();
        if (!existing) throw new ApiError("not_found", `bound object ${kind}/${name} not found`);
        await invalidate(
          trx,
          request.ctx,
          objectRef(project.name, kind, name, existing.uid),
          "bound_object.delete",
        );
      });
      return reply.code(204).send(null);
    },
  );
};
