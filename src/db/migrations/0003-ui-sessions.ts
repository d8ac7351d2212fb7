import { type Kysely, sql } from "kysely";

/**
 * Web UI sessions (src/ui/session.ts), and the indexes of the cross-project token list
 * (`GET /v1/tokens`) for its sort orders.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("ui_sessions")
    // SHA-256 (hex) of the session id: the id itself, like a token secret, is never stored.
    .addColumn("id_digest", "text", (c) => c.primaryKey())
    // The token that signed in: its id, or the jti of a short-lived JWT (which has no token row).
    .addColumn("token_id", "text", (c) => c.notNull())
    .addColumn("service_account_id", "text", (c) => c.notNull())
    // The verified claims of a JWT sign-in (JSON, no signature), so each request can re-check it.
    .addColumn("claims", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("expires_at", "text", (c) => c.notNull())
    .addColumn("last_seen_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("ui_sessions_by_expiry").on("ui_sessions").column("expires_at").execute();

  // GET /v1/tokens walks these in keyset order (the sort key, then id) across every project.
  for (const column of ["created_at", "expires_at", "name"]) {
    await db.schema.createIndex(`tokens_by_${column}`).on("tokens").columns([column, "id"]).execute();
  }
  // A never-used token sorts as "" (the query orders by the same expression).
  await sql`create index tokens_by_last_used_at on tokens ((coalesce(last_used_at, '')), id)`.execute(db);
}
