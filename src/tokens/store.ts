import type { CompiledQuery } from "kysely";
import type { Executor } from "../db/database.ts";
import type { TokenTable } from "../db/schema.ts";
import { addSeconds } from "../lib/clock.ts";
import { newId } from "../lib/ids.ts";
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
    .select([
      "sa.name as sa_name",
      "sa.role as sa_role",
      "sa.scope as sa_scope",
      "sa.disabled as sa_disabled",
      "sa.deleted_at as sa_deleted_at",
      "p.id as project_id",
      "p.name as project_name",
    ]);
}

export async function findTokenById(db: Executor, id: string): Promise<TokenRecord | undefined> {
  return selectTokens(db).where("tokens.id", "=", id).executeTakeFirst();
}

const byDigest = new WeakMap<Executor, CompiledQuery<TokenRecord>>();

/**
 * The hot path: one indexed lookup by digest. Compiled once per database, since building the
 * query costs more than running it; the digest is its only parameter.
 */
export async function findTokenByDigest(db: Executor, digest: string): Promise<TokenRecord | undefined> {
  let compiled = byDigest.get(db);
  if (!compiled) {
    compiled = selectTokens(db).where("tokens.digest", "=", digest).compile();
    byDigest.set(db, compiled);
  }
  const { rows } = await db.executeQuery<TokenRecord>({ ...compiled, parameters: [digest] });
  return rows[0];
}

export type NewToken = Omit<
  TokenTable,
  "id" | "digest" | "created_at" | "expires_at" | "last_used_at" | "revoked_at" | "rotated_to" | "created_by"
>;

/** Generates a secret and stores only its digest. The secret leaves this function once, to the caller. */
export async function issueToken(
  db: Executor,
  now: Date,
  createdBy: string,
  fields: NewToken,
): Promise<{ row: TokenRecord; secret: string }> {
  const secret = generateOpaqueToken();
  const id = newId();
  await db
    .insertInto("tokens")
    .values({
      ...fields,
      id,
      digest: tokenDigest(secret),
      created_at: now.toISOString(),
      expires_at: addSeconds(now, fields.ttl_seconds).toISOString(),
      last_used_at: null,
      revoked_at: null,
      rotated_to: null,
      created_by: createdBy,
    })
    .execute();
  const row = await findTokenById(db, id);
  if (!row) throw new Error("inserted token vanished");
  return { row, secret };
}
