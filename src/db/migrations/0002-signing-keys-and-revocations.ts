import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("signing_keys")
    .addColumn("kid", "text", (c) => c.primaryKey())
    .addColumn("algorithm", "text", (c) => c.notNull())
    .addColumn("public_jwk", "text", (c) => c.notNull())
    // AES-256-GCM under the key-encryption key; never stored in clear.
    .addColumn("private_key", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("retired_at", "text")
    .execute();

  // JWT-format tokens remember which key signed them, so a retired key stays published while they live.
  await db.schema.alterTable("tokens").addColumn("kid", "text").execute();

  await db.schema
    .createTable("bound_objects")
    .addColumn("project_id", "text", (c) => c.notNull().references("projects.id"))
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("uid", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("bound_objects_pk", ["project_id", "kind", "name"])
    .execute();

  // Short-lived JWTs have no token row; revoking one records its jti until it would have expired.
  await db.schema
    .createTable("revoked_jwts")
    .addColumn("jti", "text", (c) => c.primaryKey())
    .addColumn("expires_at", "text", (c) => c.notNull())
    .execute();

  // The revocation feed: what offline verifiers must learn, in order, resumable by seq.
  await db.schema
    .createTable("revocation_events")
    .addColumn("seq", "bigint", (c) => c.primaryKey())
    .addColumn("time", "text", (c) => c.notNull())
    .addColumn("type", "text", (c) => c.notNull())
    .addColumn("data", "text", (c) => c.notNull())
    // After this, no token the event concerns can still be valid: the event is pruned.
    .addColumn("relevant_until", "text", (c) => c.notNull())
    .execute();
}
