import { type CompiledQuery, sql } from "kysely";
import type { Executor } from "../db/database.ts";
import { compiledOnce, runCompiled } from "../db/prepared.ts";
import type { ServiceAccountTable, TokenTable } from "../db/schema.ts";
import { addSeconds } from "../lib/clock.ts";
import { newId } from "../lib/ids.ts";
import type { Access } from "../auth/policy.ts";
import { scopeOf, signAccessToken } from "../jwt/access-token.ts";
import type { KeyRing } from "../keys/key-ring.ts";
import { emailOf } from "../service-accounts/email.ts";
import { TABLES } from "../store-transfer/tables.ts";
import { generateOpaqueToken, tokenDigest } from "./format.ts";

/** A token row with what its views and rules need from its service account and project. */
export interface TokenRecord extends TokenTable {
  sa_name: string;
  sa_role: string;
  sa_scope: string;
  sa_disabled: number;
  sa_deleted_at: string | null;
  project_id: string;
  project_name: string;
}

export function selectTokens(db: Executor) {
  return db
    .selectFrom("tokens")
    .innerJoin("service_accounts as sa", "sa.id", "tokens.service_account_id")
    .innerJoin("projects as p", "p.id", "sa.project_id")
    .selectAll("tokens")
    .select(ACCOUNT_COLUMNS);
}

/** The columns of TokenRecord that come from the token's service account and project. */
const ACCOUNT_COLUMNS = [
  "sa.name as sa_name",
  "sa.role as sa_role",
  "sa.scope as sa_scope",
  "sa.disabled as sa_disabled",
  "sa.deleted_at as sa_deleted_at",
  "p.id as project_id",
  "p.name as project_name",
] as const;

export async function findTokenById(db: Executor, id: string): Promise<TokenRecord | undefined> {
  return findTokenBy(db, "id", id);
}

/** The hot path: one indexed lookup by digest (opaque tokens, on every authenticated request). */
export async function findTokenByDigest(db: Executor, digest: string): Promise<TokenRecord | undefined> {
  return findTokenBy(db, "digest", digest);
}

/**
 * A token with its account and project, by id or digest. Compiled once per store, since building
 * the query costs more than running it, and prepared on every PostgreSQL connection.
 */
async function findTokenBy(
  db: Executor,
  column: "id" | "digest",
  value: string,
): Promise<TokenRecord | undefined> {
  const query = compiledOnce(db, `token-by-${column}`, () => tokenLookup(db, column, [value]), true);
  const [row] = await runCompiled(db, query, [value]);
  return row;
}

/**
 * Two tokens by digest in one query: introspection's caller and the token it asks about, in one
 * round trip to PostgreSQL instead of two. Rows come back in no particular order.
 */
export async function findTokensByDigests(
  db: Executor,
  first: string,
  second: string,
): Promise<TokenRecord[]> {
  const query = compiledOnce(
    db,
    "tokens-by-two-digests",
    () => tokenLookup(db, "digest", [first, second]),
    true,
  );
  return runCompiled(db, query, [first, second]);
}

/**
 * The token rows first (a materialized CTE), then their accounts and projects. Joined directly,
 * SQLite reads each of the token's columns through the join, at about a microsecond apiece: 35 µs
 * per lookup against 12 µs this way (bench/NOTES.md). PostgreSQL plans both alike. Several values
 * are a UNION ALL of single-row seeks (SQLite's `IN (?, ?)` and `OR` each cost twice as much).
 */
function tokenLookup(db: Executor, column: "id" | "digest", values: string[]): CompiledQuery<TokenRecord> {
  return db
    .with(
      (cte) => cte("t").materialized(),
      (q) => {
        const [first, ...rest] = values.map((v) => q.selectFrom("tokens").selectAll().where(column, "=", v));
        return rest.reduce((union, next) => union.unionAll(next), first as NonNullable<typeof first>);
      },
    )
    .selectFrom("t")
    .innerJoin("service_accounts as sa", "sa.id", "t.service_account_id")
    .innerJoin("projects as p", "p.id", "sa.project_id")
    .selectAll("t")
    .select(ACCOUNT_COLUMNS)
    .compile();
}

export type NewToken = Omit<
  TokenTable,
  | "id"
  | "digest"
  | "kid"
  | "created_at"
  | "expires_at"
  | "last_used_at"
  | "revoked_at"
  | "rotated_to"
  | "created_by"
>;

/**
 * The service account a token is issued to, and its project, as the caller just read them in the
 * same transaction: what the token's claims and its TokenRecord need.
 */
export interface TokenOwner {
  account: Pick<ServiceAccountTable, "id" | "name" | "role" | "scope" | "disabled" | "deleted_at">;
  project: { id: string; name: string };
}

/**
 * The columns of a new token, in the order of the compiled insert's parameters: every column of the
 * table, as the store transfer lists them (which fails to compile when one is missing).
 */
const TOKEN_COLUMNS = TABLES.find((t) => t.name === "tokens")?.columns as readonly (keyof TokenTable)[];

/**
 * Makes a secret and stores only what verifies it: the digest of an opaque token, or the signing
 * key of a JWT (whose `jti` is the token id). The secret leaves this function once, to the caller.
 * The record returned is the row as inserted with its owner's columns: nothing is read back.
 */
export async function issueToken(
  db: Executor,
  signer: { keys: KeyRing; issuer: string },
  now: Date,
  createdBy: string,
  owner: TokenOwner,
  fields: NewToken,
): Promise<{ row: TokenRecord; secret: string }> {
  const { account, project } = owner;
  const id = newId();
  const expiresAt = addSeconds(now, fields.ttl_seconds);
  let secret: string;
  let digest: string | null = null;
  let kid: string | null = null;
  if (fields.format === "jwt") {
    const audiences = JSON.parse(fields.audiences) as string[];
    kid = signer.keys.active().kid;
    secret = await signAccessToken(signer.keys, {
      iss: signer.issuer,
      sub: account.id,
      aud: audiences.length > 0 ? audiences : [signer.issuer],
      exp: Math.floor(expiresAt.getTime() / 1000),
      iat: Math.floor(now.getTime() / 1000),
      nbf: Math.floor(now.getTime() / 1000),
      jti: id,
      client_id: emailOf(account.name, project.name),
      scope: scopeOf(fields.access as Access),
      project: project.name,
      service_account: account.name,
      access: fields.access as Access,
    });
  } else {
    secret = generateOpaqueToken();
    digest = tokenDigest(secret);
  }
  const token: TokenTable = {
    ...fields,
    id,
    digest,
    kid,
    created_at: now.toISOString(),
    expires_at: expiresAt.toISOString(),
    last_used_at: null,
    revoked_at: null,
    rotated_to: null,
    created_by: createdBy,
  };
  const insert = compiledOnce(
    db,
    "tokens.insert",
    () =>
      db
        .insertInto("tokens")
        .values(Object.fromEntries(TOKEN_COLUMNS.map((c) => [c, null])) as unknown as TokenTable)
        .compile(),
    true,
  );
  await runCompiled(
    db,
    insert,
    TOKEN_COLUMNS.map((c) => token[c]),
  );
  const row: TokenRecord = {
    ...token,
    sa_name: account.name,
    sa_role: account.role,
    sa_scope: account.scope,
    sa_disabled: account.disabled,
    sa_deleted_at: account.deleted_at,
    project_id: project.id,
    project_name: project.name,
  };
  return { row, secret };
}

/** Sort orders of the cross-project token list; each is keyset-paginated on (key, id). */
export const TOKEN_SORTS = [
  "name",
  "created_at",
  "expires_at",
  "last_used_at",
  "project",
  "service_account",
] as const;
export type TokenSort = (typeof TOKEN_SORTS)[number];

export interface TokenListFilter {
  /** Only this project's tokens; undefined for every project. */
  projectId?: string;
  serviceAccountId?: string;
  state?: "active" | "expired" | "revoked";
  /** Only active tokens that expire at or before this instant (ISO). */
  expiringBy?: string;
  /** Case-insensitive substring of the name, description, owner or service account name. */
  text?: string;
  now: string;
  sort: TokenSort;
  descending: boolean;
  /** The (key, id) of the last row of the previous page. */
  after?: { key: string; id: string };
  limit: number;
}

/** The sort key of a row, as `listTokens` orders by it (a never-used token's last_used_at is ""). */
export function tokenSortKey(row: TokenRecord, sort: TokenSort): string {
  switch (sort) {
    case "project":
      return row.project_name;
    case "service_account":
      return row.sa_name;
    case "last_used_at":
      return row.last_used_at ?? "";
    default:
      return row[sort];
  }
}

/**
 * `GET /v1/tokens`: tokens of live service accounts, filtered, in one of TOKEN_SORTS orders, one page
 * of `limit + 1` rows after `after`. Indexes (migration 0003) serve the name, created_at and
 * expires_at orders; the text filter is a scan by nature.
 */
export async function listTokens(db: Executor, f: TokenListFilter): Promise<TokenRecord[]> {
  const keyColumn = {
    name: sql<string>`${sql.ref("tokens.name")}`,
    created_at: sql<string>`${sql.ref("tokens.created_at")}`,
    expires_at: sql<string>`${sql.ref("tokens.expires_at")}`,
    last_used_at: sql<string>`coalesce(${sql.ref("tokens.last_used_at")}, '')`,
    project: sql<string>`${sql.ref("p.name")}`,
    service_account: sql<string>`${sql.ref("sa.name")}`,
  }[f.sort];
  const direction = f.descending ? "desc" : "asc";
  let query = selectTokens(db)
    .where("sa.deleted_at", "is", null)
    .orderBy(keyColumn, direction)
    .orderBy("tokens.id", direction)
    .limit(f.limit + 1);
  if (f.projectId !== undefined) query = query.where("sa.project_id", "=", f.projectId);
  if (f.serviceAccountId !== undefined)
    query = query.where("tokens.service_account_id", "=", f.serviceAccountId);
  if (f.state === "revoked") query = query.where("tokens.revoked_at", "is not", null);
  if (f.state === "active" || f.expiringBy !== undefined)
    query = query.where("tokens.revoked_at", "is", null).where("tokens.expires_at", ">", f.now);
  if (f.state === "expired")
    query = query.where("tokens.revoked_at", "is", null).where("tokens.expires_at", "<=", f.now);
  if (f.expiringBy !== undefined) query = query.where("tokens.expires_at", "<=", f.expiringBy);
  if (f.text) {
    const pattern = `%${f.text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    const like = (column: string) => sql<boolean>`lower(${sql.ref(column)}) like ${pattern} escape '\\'`;
    query = query.where((eb) =>
      eb.or([like("tokens.name"), like("tokens.description"), like("tokens.owner"), like("sa.name")]),
    );
  }
  if (f.after) {
    const { key, id } = f.after;
    const beyond = f.descending ? "<" : ">";
    query = query.where((eb) =>
      eb.or([eb(keyColumn, beyond, key), eb.and([eb(keyColumn, "=", key), eb("tokens.id", beyond, id)])]),
    );
  }
  return query.execute();
}
