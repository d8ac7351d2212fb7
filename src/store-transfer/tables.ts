import type { Database } from "../db/schema.ts";

/** A table as a transfer moves it: its columns in a fixed order, and the key it is read in. */
export interface TableSpec {
  name: keyof Database;
  columns: readonly string[];
  key: readonly string[];
}

/** A column of `T` left out of `C`: the build fails naming it (`missing: "new_column"`). */
type EveryColumn<T extends keyof Database, C extends readonly string[]> = [
  Exclude<keyof Database[T], C[number]>,
] extends [never]
  ? unknown
  : { missing: Exclude<keyof Database[T], C[number]> };

function table<T extends keyof Database, const C extends readonly (keyof Database[T] & string)[]>(
  name: T,
  key: readonly C[number][],
  columns: C & EveryColumn<T, C>,
): TableSpec & { name: T } {
  return { name, key, columns };
}

/**
 * Every table of the store, parents before children, so that foreign keys hold at every insert.
 * A table added to schema.ts must be added here too (`everyTable` below fails to compile otherwise).
 */
export const TABLES = [
  table(
    "projects",
    ["id"],
    ["id", "name", "description", "labels", "created_at", "updated_at", "created_by"],
  ),
  table(
    "service_accounts",
    ["id"],
    [
      "id",
      "project_id",
      "name",
      "description",
      "owner",
      "role",
      "scope",
      "disabled",
      "labels",
      "created_at",
      "updated_at",
      "created_by",
      "deleted_at",
    ],
  ),
  table(
    "tokens",
    ["id"],
    [
      "id",
      "service_account_id",
      "name",
      "description",
      "owner",
      "access",
      "format",
      "audiences",
      "labels",
      "digest",
      "ttl_seconds",
      "created_at",
      "expires_at",
      "last_used_at",
      "revoked_at",
      "rotated_from",
      "rotated_to",
      "retire_previous_on_first_use",
      "created_by",
      "kid",
    ],
  ),
  table(
    "signing_keys",
    ["kid"],
    ["kid", "algorithm", "public_jwk", "private_key", "created_at", "retired_at"],
  ),
  table(
    "bound_objects",
    ["project_id", "kind", "name"],
    ["project_id", "kind", "name", "uid", "created_at", "updated_at"],
  ),
  table("revoked_jwts", ["jti"], ["jti", "expires_at"]),
  table("revocation_events", ["seq"], ["seq", "time", "type", "data", "relevant_until"]),
  table(
    "audit_events",
    ["seq"],
    [
      "seq",
      "id",
      "time",
      "actor_service_account_id",
      "actor_service_account_name",
      "actor_project",
      "actor_token_id",
      "action",
      "target_type",
      "target_id",
      "target_name",
      "project",
      "outcome",
      "request_id",
      "ip",
      "user_agent",
      "details",
      "prev_hash",
      "hash",
    ],
  ),
] as const;

export type TableName = (typeof TABLES)[number]["name"];
const everyTable: Exclude<keyof Database, TableName> extends never ? true : never = true;
void everyTable;
