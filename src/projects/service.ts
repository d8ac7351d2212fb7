import { authorize } from "../auth/guard.ts";
import type { Executor } from "../db/database.ts";
import { compiledOnce, runCompiled } from "../db/prepared.ts";
import type { ProjectTable } from "../db/schema.ts";
import { decodeCursor, type Page, toPage } from "../lib/cursor.ts";
import { ApiError } from "../lib/errors.ts";
import { newId } from "../lib/ids.ts";
import { type Labels, parseLabels } from "../lib/json.ts";
import type { RequestContext } from "../server/context.ts";
import { type Deps, transact } from "../server/deps.ts";

export const DEFAULT_PROJECT = "default";

export interface ProjectView {
  id: string;
  name: string;
  description: string;
  labels: Labels;
  created_at: string;
  updated_at: string;
  created_by: string;
}

export const projectView = (row: ProjectTable): ProjectView => ({
  id: row.id,
  name: row.name,
  description: row.description,
  labels: parseLabels(row.labels),
  created_at: row.created_at,
  updated_at: row.updated_at,
  created_by: row.created_by,
});

/** Runs on most requests (every path names its project): compiled once, prepared on PostgreSQL. */
export async function findProject(db: Executor, name: string): Promise<ProjectTable | undefined> {
  const query = compiledOnce(
    db,
    "project-by-name",
    () => db.selectFrom("projects").selectAll().where("name", "=", name).compile(),
    true,
  );
  const [row] = await runCompiled(db, query, [name]);
  return row;
}

const subject = (p: { id?: string; name: string }) => ({
  type: "project",
  id: p.id ?? null,
  name: p.name,
  project: p.name,
});

/** The project by name, or 404 when it is missing or outside the caller's scope. */
export async function visibleProject(db: Executor, ctx: RequestContext, name: string): Promise<ProjectTable> {
  const row = await findProject(db, name);
  if (!row) throw new ApiError("not_found", `project ${name} not found`);
  // Outside the caller's scope: the same 404, and a denial in the audit log.
  authorize(ctx, "project.read", { projectId: row.id }, subject(row));
  return row;
}

export class ProjectService {
  constructor(private readonly deps: Deps) {}

  async list(ctx: RequestContext, q: { limit: number; cursor?: string }): Promise<Page<ProjectView>> {
    const principal = ctx.principal;
    if (!principal) throw new ApiError("unauthenticated");
    let query = this.deps.db
      .selectFrom("projects")
      .selectAll()
      .orderBy("name")
      .limit(q.limit + 1);
    if (principal.scope !== "organization") query = query.where("id", "=", principal.projectId);
    if (q.cursor) query = query.where("name", ">", decodeCursor<{ n: string }>(q.cursor, { n: "string" }).n);
    return toPage(await query.execute(), q.limit, projectView, (r) => ({ n: r.name }));
  }

  async get(ctx: RequestContext, name: string): Promise<ProjectView> {
    return projectView(await visibleProject(this.deps.db, ctx, name));
  }

  async create(
    ctx: RequestContext,
    body: { name: string; description?: string; labels?: Labels },
  ): Promise<ProjectView> {
    return transact(this.deps, async (trx) => {
      const principal = authorize(ctx, "project.create", {}, subject(body));
      if (await findProject(trx, body.name))
        throw new ApiError("already_exists", `project ${body.name} already exists`);
      const now = this.deps.clock.now().toISOString();
      const row: ProjectTable = {
        id: newId(),
        name: body.name,
        description: body.description ?? "",
        labels: JSON.stringify(body.labels ?? {}),
        created_at: now,
        updated_at: now,
        created_by: principal.email,
      };
      await trx.insertInto("projects").values(row).execute();
      await this.deps.audit.append(trx, ctx, {
        action: "project.create",
        target: subject(row),
        project: row.name,
      });
      return projectView(row);
    });
  }

  async update(
    ctx: RequestContext,
    name: string,
    body: { description?: string; labels?: Labels },
  ): Promise<ProjectView> {
    return transact(this.deps, async (trx) => {
      const row = await visibleProject(trx, ctx, name);
      authorize(ctx, "project.update", { projectId: row.id }, subject(row));
      const next: ProjectTable = {
        ...row,
        description: body.description ?? row.description,
        labels: body.labels ? JSON.stringify(body.labels) : row.labels,
        updated_at: this.deps.clock.now().toISOString(),
      };
      await trx.updateTable("projects").set(next).where("id", "=", row.id).execute();
      await this.deps.audit.append(trx, ctx, {
        action: "project.update",
        target: subject(row),
        project: row.name,
        details: { changed: Object.keys(body) },
      });
      return projectView(next);
    });
  }

  async delete(ctx: RequestContext, name: string): Promise<void> {
    await transact(this.deps, async (trx) => {
      const row = await visibleProject(trx, ctx, name);
      authorize(ctx, "project.delete", { projectId: row.id }, subject(row));
      if (row.name === DEFAULT_PROJECT)
        throw new ApiError("project_protected", "the default project always exists");
      const live = await trx
        .selectFrom("service_accounts")
        .select("id")
        .where("project_id", "=", row.id)
        .where("deleted_at", "is", null)
        .limit(1)
        .executeTakeFirst();
      if (live)
        throw new ApiError(
          "project_not_empty",
          `project ${name} still has service accounts; delete them first`,
        );
      // Bound objects belong to the project too (and reference it): not empty while one is left.
      const bound = await trx
        .selectFrom("bound_objects")
        .select("name")
        .where("project_id", "=", row.id)
        .limit(1)
        .executeTakeFirst();
      if (bound)
        throw new ApiError("project_not_empty", `project ${name} still has bound objects; delete them first`);
      // Deleted service accounts keep their rows (and their revoked tokens) only while the project exists.
      const deadAccounts = trx.selectFrom("service_accounts").select("id").where("project_id", "=", row.id);
      await trx.deleteFrom("tokens").where("service_account_id", "in", deadAccounts).execute();
      await trx.deleteFrom("service_accounts").where("project_id", "=", row.id).execute();
      await trx.deleteFrom("projects").where("id", "=", row.id).execute();
      await this.deps.audit.append(trx, ctx, {
        action: "project.delete",
        target: subject(row),
        project: row.name,
      });
    });
  }
}
