import { authorize } from "../auth/guard.ts";
import type { Access } from "../auth/policy.ts";
import type { Executor } from "../db/database.ts";
import { addSeconds } from "../lib/clock.ts";
import { decodeCursor, type Page, toPage } from "../lib/cursor.ts";
import { ApiError, invalidField } from "../lib/errors.ts";
import type { Labels } from "../lib/json.ts";
import type { RequestContext } from "../server/context.ts";
import {
  DEFAULT_TOKEN_TTL_SECONDS,
  DeniedError,
  type Deps,
  MIN_TOKEN_TTL_SECONDS,
  transact,
} from "../server/deps.ts";
import { visibleProject } from "../projects/service.ts";
import { asTarget, visibleServiceAccount } from "../service-accounts/service.ts";
import type { TokenState } from "./state.ts";
import { tokenRevoked } from "../revocations/feed.ts";
import {
  findTokenById,
  issueToken,
  listTokens,
  type TokenRecord,
  type TokenSort,
  tokenSortKey,
} from "./store.ts";
import { accountTokens } from "./list-query.ts";
import { ownedTokenView, type TokenView, tokenView } from "./view.ts";

export interface CreateToken {
  name: string;
  description?: string;
  owner?: string;
  access?: Access;
  format?: "opaque" | "jwt";
  audiences?: string[];
  ttl_seconds?: number;
  labels?: Labels;
}

export type UpdateToken = Partial<Pick<CreateToken, "name" | "description" | "owner" | "labels">>;

export interface RotateToken {
  ttl_seconds?: number;
  previous_expires_in_seconds?: number;
  previous_expires_at?: string;
  retire_previous_on_first_use?: boolean;
}

/** A token with its secret: only ever in the create and rotate responses. */
export type IssuedToken = TokenView & { token: string };
export type RotatedToken = IssuedToken & { previous: TokenView };

export interface AllTokensQuery {
  project?: string;
  service_account?: string;
  state?: TokenState;
  expiring_within_days?: number;
  q?: string;
  sort?: string;
  limit?: number;
  cursor?: string;
}

export interface TokenListQuery {
  limit: number;
  cursor?: string;
  state?: TokenState;
  name?: string;
}

const tokenSubject = (row: Pick<TokenRecord, "id" | "name" | "project_name">) => ({
  type: "token",
  id: row.id,
  name: row.name,
  project: row.project_name,
});

export class TokenService {
  constructor(private readonly deps: Deps) {}

  /** 400 naming the limit, before any date arithmetic can overflow. */
  private checkTtl(ttl: number, field = "ttl_seconds"): void {
    const max = this.deps.policy.maxTokenTtlSeconds;
    if (ttl < MIN_TOKEN_TTL_SECONDS || ttl > max) {
      throw new ApiError("ttl_out_of_range", `${field} must be between ${MIN_TOKEN_TTL_SECONDS} and ${max}`, {
        errors: [{ field, message: `must be between ${MIN_TOKEN_TTL_SECONDS} and ${max}` }],
      });
    }
  }

  async list(
    ctx: RequestContext,
    projectName: string,
    saName: string,
    q: TokenListQuery,
  ): Promise<Page<TokenView>> {
    const { project, account } = await visibleServiceAccount(this.deps.db, ctx, projectName, saName);
    const now = this.deps.clock.now().toISOString();
    const after = q.cursor
      ? decodeCursor<{ c: string; i: string }>(q.cursor, { c: "string", i: "string" })
      : undefined;
    // The account and project are known: the rows come from the tokens table alone.
    const rows = await accountTokens(this.deps.db, {
      serviceAccountId: account.id,
      name: q.name,
      state: q.state,
      now,
      after: after && { createdAt: after.c, id: after.i },
      rows: q.limit + 1,
    });
    const owner = { name: account.name, project: project.name };
    return toPage(
      rows,
      q.limit,
      (r) => ownedTokenView(r, owner, now),
      (r) => ({ c: r.created_at, i: r.id }),
    );
  }

  /**
   * `GET /v1/tokens`: tokens of every project the caller can see (its own project only when it is
   * project-scoped), filtered, sorted and keyset-paginated.
   */
  async listAll(ctx: RequestContext, q: AllTokensQuery): Promise<Page<TokenView>> {
    const principal = ctx.principal;
    if (!principal) throw new ApiError("unauthenticated");
    if (q.service_account !== undefined && q.project === undefined) {
      throw invalidField("service_account", "needs project as well");
    }
    const db = this.deps.db;
    let projectId: string | undefined;
    let serviceAccountId: string | undefined;
    if (q.project !== undefined && q.service_account !== undefined) {
      const { project, account } = await visibleServiceAccount(db, ctx, q.project, q.service_account);
      projectId = project.id;
      serviceAccountId = account.id;
    } else if (q.project !== undefined) {
      projectId = (await visibleProject(db, ctx, q.project)).id;
    } else if (principal.scope !== "organization") {
      projectId = principal.projectId;
    }
    authorize(ctx, "token.read", projectId === undefined ? {} : { projectId }, {
      type: "token",
      project: q.project ?? null,
    });
    const sortParam = q.sort ?? "created_at";
    const descending = sortParam.startsWith("-");
    const sort = (descending ? sortParam.slice(1) : sortParam) as TokenSort;
    let after: { key: string; id: string } | undefined;
    if (q.cursor) {
      const c = decodeCursor<{ s: string; k: string; i: string }>(q.cursor, {
        s: "string",
        k: "string",
        i: "string",
      });
      if (c.s !== sortParam) {
        throw new ApiError("invalid_cursor", "cursor: it was returned for another sort order", {
          errors: [{ field: "cursor", message: "it was returned for another sort order" }],
        });
      }
      after = { key: c.k, id: c.i };
    }
    const now = this.deps.clock.now();
    const limit = q.limit ?? 50;
    const rows = await listTokens(db, {
      projectId,
      serviceAccountId,
      state: q.state,
      expiringBy:
        q.expiring_within_days === undefined
          ? undefined
          : addSeconds(now, q.expiring_within_days * 86400).toISOString(),
      text: q.q,
      now: now.toISOString(),
      sort,
      descending,
      after,
      limit,
    });
    return toPage(
      rows,
      limit,
      (r) => tokenView(r, now),
      (r) => ({ s: sortParam, k: tokenSortKey(r, sort), i: r.id }),
    );
  }

  /** A token by id, or 404 when missing or outside the caller's scope. */
  private async visibleToken(db: Executor, ctx: RequestContext, id: string): Promise<TokenRecord> {
    const row = await findTokenById(db, id);
    if (!row) throw new ApiError("not_found", `token ${id} not found`);
    authorize(ctx, "token.read", { projectId: row.project_id }, tokenSubject(row));
    return row;
  }

  async get(ctx: RequestContext, id: string): Promise<TokenView> {
    return tokenView(await this.visibleToken(this.deps.db, ctx, id), this.deps.clock.now());
  }

  async create(
    ctx: RequestContext,
    projectName: string,
    saName: string,
    body: CreateToken,
  ): Promise<IssuedToken> {
    this.checkTtl(body.ttl_seconds ?? DEFAULT_TOKEN_TTL_SECONDS);
    return transact(this.deps, (trx) => this.createIn(trx, ctx, projectName, saName, body));
  }

  /**
   * Creates a token inside an open transaction (also used to create a service account with its
   * first token in one step, where the lifetime's field is `token.ttl_seconds`).
   */
  async createIn(
    trx: Executor,
    ctx: RequestContext,
    projectName: string,
    saName: string,
    body: CreateToken,
    ttlField = "ttl_seconds",
  ): Promise<IssuedToken> {
    const ttl = body.ttl_seconds ?? DEFAULT_TOKEN_TTL_SECONDS;
    this.checkTtl(ttl, ttlField);
    const { project, account } = await visibleServiceAccount(trx, ctx, projectName, saName);
    const principal = authorize(
      ctx,
      "token.create",
      { projectId: project.id, serviceAccount: asTarget(account) },
      { type: "token", name: body.name, project: project.name },
    );
    const owner = { account, project };
    const issued = await issueToken(trx, this.deps, this.deps.clock.now(), principal.email, owner, {
      service_account_id: account.id,
      name: body.name,
      description: body.description ?? "",
      owner: body.owner ?? "",
      access: body.access ?? "read-write",
      format: body.format ?? "opaque",
      audiences: JSON.stringify(body.audiences ?? []),
      labels: JSON.stringify(body.labels ?? {}),
      ttl_seconds: ttl,
      rotated_from: null,
      retire_previous_on_first_use: 0,
    });
    await this.deps.audit.append(trx, ctx, {
      action: "token.create",
      target: tokenSubject(issued.row),
      project: project.name,
      details: {
        service_account: account.name,
        access: issued.row.access,
        format: issued.row.format,
        expires_at: issued.row.expires_at,
      },
    });
    return { ...tokenView(issued.row, this.deps.clock.now()), token: issued.secret };
  }

  async update(ctx: RequestContext, id: string, body: UpdateToken): Promise<TokenView> {
    return transact(this.deps, async (trx) => {
      const row = await this.visibleToken(trx, ctx, id);
      authorize(
        ctx,
        "token.update",
        { projectId: row.project_id, serviceAccount: tokenOwner(row) },
        tokenSubject(row),
      );
      const changes = {
        name: body.name ?? row.name,
        description: body.description ?? row.description,
        owner: body.owner ?? row.owner,
        labels: body.labels ? JSON.stringify(body.labels) : row.labels,
      };
      await trx.updateTable("tokens").set(changes).where("id", "=", row.id).execute();
      await this.deps.audit.append(trx, ctx, {
        action: "token.update",
        target: tokenSubject({ ...row, ...changes }),
        project: row.project_name,
        details: { changed: Object.keys(body) },
      });
      return tokenView({ ...row, ...changes }, this.deps.clock.now());
    });
  }

  async revoke(ctx: RequestContext, id: string): Promise<void> {
    await transact(this.deps, async (trx) => {
      const row = await this.visibleToken(trx, ctx, id);
      authorize(
        ctx,
        "token.revoke",
        { projectId: row.project_id, serviceAccount: tokenOwner(row) },
        tokenSubject(row),
      );
      await this.revokeIn(trx, ctx, row);
    });
  }

  /** `DELETE /v1/tokens/self`: any read-write token may revoke itself. */
  async revokeSelf(ctx: RequestContext): Promise<void> {
    await transact(this.deps, async (trx) => {
      const row = await this.selfToken(trx, ctx, "token.revoke");
      await this.revokeIn(trx, ctx, row);
    });
  }

  private async revokeIn(trx: Executor, ctx: RequestContext, row: TokenRecord): Promise<void> {
    if (row.revoked_at !== null) return; // revoking twice is not an error, and not a change
    const now = this.deps.clock.now().toISOString();
    await trx.updateTable("tokens").set({ revoked_at: now }).where("id", "=", row.id).execute();
    await tokenRevoked(this.deps.revocations, trx, row, now);
    await this.deps.audit.append(trx, ctx, {
      action: "token.revoke",
      target: tokenSubject(row),
      project: row.project_name,
      details: { service_account: row.sa_name },
    });
  }

  async rotate(ctx: RequestContext, id: string, body: RotateToken): Promise<RotatedToken> {
    return transact(this.deps, async (trx) => {
      const row = await this.visibleToken(trx, ctx, id);
      authorize(
        ctx,
        "token.rotate",
        { projectId: row.project_id, serviceAccount: tokenOwner(row) },
        tokenSubject(row),
      );
      return this.rotateIn(trx, ctx, row, body);
    });
  }

  /** `POST /v1/tokens/self/rotate`: any read-write token may rotate itself, whatever its role. */
  async rotateSelf(ctx: RequestContext, body: RotateToken): Promise<RotatedToken> {
    return transact(this.deps, async (trx) =>
      this.rotateIn(trx, ctx, await this.selfToken(trx, ctx, "token.rotate"), body),
    );
  }

  private async selfToken(
    trx: Executor,
    ctx: RequestContext,
    action: "token.rotate" | "token.revoke",
  ): Promise<TokenRecord> {
    const principal = ctx.principal;
    if (!principal) throw new ApiError("unauthenticated");
    const row = await findTokenById(trx, principal.tokenId);
    if (!row) throw new ApiError("not_found");
    if (principal.access !== "read-write") {
      // A denial like any other: audited (after the rollback, by transact).
      const denial = new ApiError(
        "read_write_token_required",
        "a read-only token cannot rotate or revoke itself",
      );
      const { project, ...target } = tokenSubject(row);
      throw new DeniedError(denial, {
        action,
        target,
        project,
        outcome: "denied",
        details: { code: denial.code, reason: denial.message },
      });
    }
    return row;
  }

  private async rotateIn(
    trx: Executor,
    ctx: RequestContext,
    old: TokenRecord,
    body: RotateToken,
  ): Promise<RotatedToken> {
    const now = this.deps.clock.now();
    const nowIso = now.toISOString();
    if (old.revoked_at !== null || old.expires_at <= nowIso) {
      throw new ApiError("token_not_active", "only an active token can be rotated");
    }
    if (old.rotated_to !== null) {
      throw new ApiError("token_already_rotated", `token ${old.id} was already rotated to ${old.rotated_to}`);
    }
    const ttl = body.ttl_seconds ?? old.ttl_seconds;
    this.checkTtl(ttl);
    const deadline = this.previousDeadline(now, body);
    // Never extended: the previous token keeps the earlier of its own expiry and the deadline.
    const previousExpiry = deadline === undefined || deadline >= old.expires_at ? old.expires_at : deadline;

    const owner = {
      account: {
        id: old.service_account_id,
        name: old.sa_name,
        role: old.sa_role,
        scope: old.sa_scope,
        disabled: old.sa_disabled,
        deleted_at: old.sa_deleted_at,
      },
      project: { id: old.project_id, name: old.project_name },
    };
    const issued = await issueToken(trx, this.deps, now, ctx.principal?.email ?? "system", owner, {
      service_account_id: old.service_account_id,
      name: old.name,
      description: old.description,
      owner: old.owner,
      access: old.access,
      format: old.format,
      audiences: old.audiences,
      labels: old.labels,
      ttl_seconds: ttl,
      rotated_from: old.id,
      retire_previous_on_first_use: body.retire_previous_on_first_use ? 1 : 0,
    });
    // The database decides races: only one rotation can claim rotated_to.
    const claimed = await trx
      .updateTable("tokens")
      .set({ rotated_to: issued.row.id, expires_at: previousExpiry })
      .where("id", "=", old.id)
      .where("rotated_to", "is", null)
      .where("revoked_at", "is", null)
      .executeTakeFirst();
    if (Number(claimed.numUpdatedRows) !== 1) {
      throw new ApiError("token_already_rotated", `token ${old.id} was rotated concurrently`);
    }
    if (previousExpiry !== old.expires_at)
      await tokenRevoked(this.deps.revocations, trx, old, previousExpiry);
    await this.deps.audit.append(trx, ctx, {
      action: "token.rotate",
      target: tokenSubject(issued.row),
      project: old.project_name,
      details: {
        previous_token_id: old.id,
        previous_expires_at: previousExpiry,
        retire_previous_on_first_use: body.retire_previous_on_first_use === true,
        expires_at: issued.row.expires_at,
      },
    });
    const previous = tokenView({ ...old, rotated_to: issued.row.id, expires_at: previousExpiry }, now);
    return { ...tokenView(issued.row, now), token: issued.secret, previous };
  }

  /** When the previous token stops working, as an ISO string; undefined means its own expiry. */
  private previousDeadline(now: Date, body: RotateToken): string | undefined {
    if (body.previous_expires_at !== undefined && body.previous_expires_in_seconds !== undefined) {
      throw invalidField(
        "previous_expires_at",
        "give previous_expires_in_seconds or previous_expires_at, not both",
      );
    }
    if (body.previous_expires_at !== undefined) {
      const at = new Date(body.previous_expires_at);
      if (Number.isNaN(at.getTime()))
        throw invalidField("previous_expires_at", "must be an RFC 3339 date-time");
      if (at < now) throw invalidField("previous_expires_at", "must not be in the past");
      return at.toISOString();
    }
    if (body.previous_expires_in_seconds !== undefined) {
      return addSeconds(now, body.previous_expires_in_seconds).toISOString();
    }
    // Retire-on-first-use without a deadline keeps the previous token until its own expiry at most.
    return body.retire_previous_on_first_use ? undefined : now.toISOString();
  }
}

const tokenOwner = (row: TokenRecord) => asTarget({ role: row.sa_role, scope: row.sa_scope });
