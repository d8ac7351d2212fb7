import { authorize } from "../auth/guard.ts";
import type { Role, Scope } from "../auth/policy.ts";
import type { Executor } from "../db/database.ts";
import { compiledOnce, runCompiled } from "../db/prepared.ts";
import type { ProjectTable, ServiceAccountTable } from "../db/schema.ts";
import { decodeCursor, type Page, toPage } from "../lib/cursor.ts";
import { addSeconds } from "../lib/clock.ts";
import { ApiError } from "../lib/errors.ts";
import { tokenRevoked } from "../revocations/feed.ts";
import { newId } from "../lib/ids.ts";
import { type Labels, parseLabels } from "../lib/json.ts";
import { visibleProject } from "../projects/service.ts";
import type { RequestContext } from "../server/context.ts";
import { type Deps, transact } from "../server/deps.ts";
import type { CreateToken, IssuedToken, TokenService } from "../tokens/service.ts";

export const emailOf = (name: string, project: string): string =>
  `${name}@${project}.serviceaccounts.latchkey`;

export interface ServiceAccountView {
  id: string;
  project: string;
  name: string;
  email: string;
  description: string;
  owner: string;
  role: Role;
  scope: Scope;
  disabled: boolean;
  labels: Labels;
  created_at: string;
  updated_at: string;
  created_by: string;
}

export const serviceAccountView = (row: ServiceAccountTable, project: string): ServiceAccountView => ({
  id: row.id,
  project,
  name: row.name,
  email: emailOf(row.name, project),
  description: row.description,
  owner: row.owner,
  role: row.role as Role,
  scope: row.scope as Scope,
  disabled: row.disabled === 1,
  labels: parseLabels(row.labels),
  created_at: row.created_at,
  updated_at: row.updated_at,
  created_by: row.created_by,
});

export interface CreateServiceAccount {
  name: string;
  description?: string;
  owner?: string;
  role?: Role;
  scope?: Scope;
  labels?: Labels;
}

export type UpdateServiceAccount = Partial<Omit<CreateServiceAccount, "name">> & { disabled?: boolean };

export interface LocatedServiceAccount {
  project: ProjectTable;
  account: ServiceAccountTable;
}

/** A live service account by project and name, or 404 when missing or outside the caller's scope. */
export async function visibleServiceAccount(
  db: Executor,
  ctx: RequestContext,
  projectName: string,
  name: string,
): Promise<LocatedServiceAccount> {
  const project = await visibleProject(db, ctx, projectName);
  // Compiled once, prepared on PostgreSQL: issuing and most account and token routes start here.
  const query = compiledOnce(
    db,
    "live-service-account-by-name",
    () =>
      db
        .selectFrom("service_accounts")
        .selectAll()
        .where("project_id", "=", project.id)
        .where("name", "=", name)
        .where("deleted_at", "is", null)
        .compile(),
    true,
  );
  const [account] = await runCompiled(db, query, [project.id, name]);
  if (!account)
    throw new ApiError("not_found", `service account ${name} not found in project ${projectName}`);
  return { project, account };
}

export const accountSubject = (account: { id?: string; name: string }, project: string) => ({
  type: "service_account",
  id: account.id ?? null,
  name: account.name,
  project,
});

export const asTarget = (account: Pick<ServiceAccountTable, "role" | "scope">) => ({
  role: account.role as Role,
  scope: account.scope as Scope,
});

export class ServiceAccountService {
  constructor(private readonly deps: Deps) {}

  /** Until every token the account could hold has expired. */
  private relevantForever(): string {
    const longest = Math.max(this.deps.policy.maxTokenTtlSeconds, this.deps.policy.maxTokenRequestSeconds);
    return addSeconds(this.deps.clock.now(), longest).toISOString();
  }

  async list(
    ctx: RequestContext,
    projectName: string,
    q: { limit: number; cursor?: string },
  ): Promise<Page<ServiceAccountView>> {
    const project = await visibleProject(this.deps.db, ctx, projectName);
    let query = this.deps.db
      .selectFrom("service_accounts")
      .selectAll()
      .where("project_id", "=", project.id)
      .where("deleted_at", "is", null)
      .orderBy("name")
      .limit(q.limit + 1);
    if (q.cursor) query = query.where("name", ">", decodeCursor<{ n: string }>(q.cursor, { n: "string" }).n);
    const rows = await query.execute();
    return toPage(
      rows,
      q.limit,
      (r) => serviceAccountView(r, project.name),
      (r) => ({ n: r.name }),
    );
  }

  async get(ctx: RequestContext, projectName: string, name: string): Promise<ServiceAccountView> {
    const { project, account } = await visibleServiceAccount(this.deps.db, ctx, projectName, name);
    return serviceAccountView(account, project.name);
  }

  async create(
    ctx: RequestContext,
    projectName: string,
    body: CreateServiceAccount,
  ): Promise<ServiceAccountView> {
    return transact(this.deps, (trx) => this.createIn(trx, ctx, projectName, body));
  }

  /**
   * Creates the account and its first token in one transaction, both audited: if either part is
   * refused (its lifetime, the caller's rights), nothing is created.
   */
  async createWithToken(
    ctx: RequestContext,
    projectName: string,
    body: CreateServiceAccount,
    token: CreateToken,
    tokens: TokenService,
  ): Promise<ServiceAccountView & { token: IssuedToken }> {
    return transact(this.deps, async (trx) => {
      const account = await this.createIn(trx, ctx, projectName, body);
      const issued = await tokens.createIn(trx, ctx, projectName, account.name, token, "token.ttl_seconds");
      return { ...account, token: issued };
    });
  }

  /** Creates inside an open transaction (also used by bootstrap and by token creation flows). */
  async createIn(
    trx: Executor,
    ctx: RequestContext,
    projectName: string,
    body: CreateServiceAccount,
  ): Promise<ServiceAccountView> {
    const project = await visibleProject(trx, ctx, projectName);
    const role = body.role ?? "viewer";
    const scope = body.scope ?? "project";
    const principal = authorize(
      ctx,
      "service_account.create",
      { projectId: project.id, serviceAccount: { role, scope } },
      accountSubject(body, project.name),
    );
    const clash = await trx
      .selectFrom("service_accounts")
      .select("id")
      .where("project_id", "=", project.id)
      .where("name", "=", body.name)
      .where("deleted_at", "is", null)
      .executeTakeFirst();
    if (clash)
      throw new ApiError("already_exists", `service account ${body.name} already exists in ${project.name}`);
    const now = this.deps.clock.now().toISOString();
    const row: ServiceAccountTable = {
      id: newId(),
      project_id: project.id,
      name: body.name,
      description: body.description ?? "",
      owner: body.owner ?? "",
      role,
      scope,
      disabled: 0,
      labels: JSON.stringify(body.labels ?? {}),
      created_at: now,
      updated_at: now,
      created_by: principal.email,
      deleted_at: null,
    };
    await trx.insertInto("service_accounts").values(row).execute();
    await this.deps.audit.append(trx, ctx, {
      action: "service_account.create",
      target: accountSubject(row, project.name),
      project: project.name,
      details: { role, scope },
    });
    return serviceAccountView(row, project.name);
  }

  async update(
    ctx: RequestContext,
    projectName: string,
    name: string,
    body: UpdateServiceAccount,
  ): Promise<ServiceAccountView> {
    return transact(this.deps, async (trx) => {
      const { project, account } = await visibleServiceAccount(trx, ctx, projectName, name);
      const subject = accountSubject(account, project.name);
      // The caller must be above the account both as it is and as it would become.
      authorize(
        ctx,
        "service_account.update",
        { projectId: project.id, serviceAccount: asTarget(account) },
        subject,
      );
      const next: ServiceAccountTable = {
        ...account,
        description: body.description ?? account.description,
        owner: body.owner ?? account.owner,
        role: body.role ?? account.role,
        scope: body.scope ?? account.scope,
        disabled: body.disabled === undefined ? account.disabled : Number(body.disabled),
        labels: body.labels ? JSON.stringify(body.labels) : account.labels,
        updated_at: this.deps.clock.now().toISOString(),
      };
      authorize(
        ctx,
        "service_account.update",
        { projectId: project.id, serviceAccount: asTarget(next) },
        subject,
      );
      await trx.updateTable("service_accounts").set(next).where("id", "=", account.id).execute();
      if (next.disabled !== account.disabled) {
        const type = next.disabled === 1 ? "service_account.disabled" : "service_account.enabled";
        await this.deps.revocations.append(
          trx,
          type,
          { service_account_id: account.id },
          this.relevantForever(),
        );
      }
      await this.deps.audit.append(trx, ctx, {
        action: "service_account.update",
        target: subject,
        project: project.name,
        details: {
          changed: Object.keys(body),
          role: next.role,
          scope: next.scope,
          disabled: next.disabled === 1,
        },
      });
      return serviceAccountView(next, project.name);
    });
  }

  /** Deletes the account and revokes every token it has, at once. */
  async delete(ctx: RequestContext, projectName: string, name: string): Promise<void> {
    await transact(this.deps, async (trx) => {
      const { project, account } = await visibleServiceAccount(trx, ctx, projectName, name);
      const subject = accountSubject(account, project.name);
      authorize(
        ctx,
        "service_account.delete",
        { projectId: project.id, serviceAccount: asTarget(account) },
        subject,
      );
      const now = this.deps.clock.now().toISOString();
      const revoked = await trx
        .updateTable("tokens")
        .set({ revoked_at: now })
        .where("service_account_id", "=", account.id)
        .where("revoked_at", "is", null)
        .returning(["id", "expires_at"])
        .execute();
      for (const token of revoked) await tokenRevoked(this.deps.revocations, trx, token, now);
      // Short-lived JWTs of the account have no rows: verifiers learn that its subject is gone.
      await this.deps.revocations.append(
        trx,
        "service_account.disabled",
        { service_account_id: account.id, deleted: true },
        this.relevantForever(),
      );
      await trx
        .updateTable("service_accounts")
        .set({ deleted_at: now })
        .where("id", "=", account.id)
        .execute();
      await this.deps.audit.append(trx, ctx, {
        action: "service_account.delete",
        target: subject,
        project: project.name,
        details: { revoked_token_ids: revoked.map((r) => r.id) },
      });
    });
  }
}
