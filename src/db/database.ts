import { join } from "node:path";
import { type Kysely, Migrator, type Transaction } from "kysely";
import type { Client as PgClient } from "pg";
import { dialectOf, type StoreDialect } from "./dialect.ts";
import { migrations } from "./migrations/index.ts";
import type { Database } from "./schema.ts";
import { openSqliteStore } from "./sqlite.ts";
import { parseStoreUrl, SQLITE_FILE, StoreUrlError } from "./url.ts";

export { openSqlite, openSqliteFile } from "./sqlite.ts";
export { StoreUrlError } from "./url.ts";

export type Db = Kysely<Database>;
/** Anything queries can run on: the database itself or an open transaction. */
export type Executor = Kysely<Database> | Transaction<Database>;

/** What the store reports about itself (a pino logger fits). */
export interface StoreLog {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

/**
 * An open store: the one query layer (`db`), the engine's quirks, and for PostgreSQL a way to open
 * the extra connection that listens for other nodes' changes.
 */
export interface Store {
  readonly db: Db;
  readonly dialect: StoreDialect;
  /** Where it is, for logs and messages: a file path, or the URL without its password. */
  readonly location: string;
  /** This process's identity among the nodes sharing the store. */
  readonly nodeId: string;
  /** PostgreSQL only: the NOTIFY channel of this store and a dedicated connection to LISTEN on. */
  readonly listen?: { channel: string; connect(): Promise<PgClient> };
  close(): Promise<void>;
}

/**
 * `postgres://…` (or `postgresql://…`) opens PostgreSQL; `sqlite:PATH` a SQLite file, or the
 * `latchkey.db` in PATH when it is a directory; no URL, the SQLite file in `dataDir`.
 */
export async function openStore(
  target: { databaseUrl?: string; dataDir?: string },
  options: { log?: StoreLog; poolMax?: number } = {},
): Promise<Store> {
  const url = target.databaseUrl;
  if (url === undefined || url === "") {
    if (target.dataDir === undefined) throw new StoreUrlError("give a database URL or a data directory");
    return openSqliteStore(join(target.dataDir, SQLITE_FILE));
  }
  const location = parseStoreUrl(url);
  if (location.kind === "sqlite") return openSqliteStore(location.file);
  // Loaded only when used: the embedded default never loads the PostgreSQL driver.
  const { openPostgres } = await import("./postgres.ts");
  return openPostgres(location, options);
}

export class SchemaTooNewError extends Error {}

/** Names of every migration this version knows, in order; the last is what a current store is at. */
export const KNOWN_MIGRATIONS = Object.keys(migrations);

/** Applies pending migrations; refuses a store migrated by a newer Latchkey. Returns every applied one. */
export async function migrate(db: Db): Promise<string[]> {
  const schema = dialectOf(db).schema;
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    ...(schema === undefined ? {} : { migrationTableSchema: schema }),
  });
  const known = new Set(KNOWN_MIGRATIONS);
  const unknown = (await appliedMigrations(db)).filter((n) => !known.has(n));
  if (unknown.length > 0) {
    throw new SchemaTooNewError(
      `the store has migrations this version does not know (${unknown.join(", ")}); upgrade Latchkey`,
    );
  }
  // Safe with several nodes starting at once: Kysely holds a lock while it migrates.
  const { error } = await migrator.migrateToLatest();
  if (error) throw error;
  return appliedMigrations(db);
}

/** Migrations recorded in the store, in the order they ran; empty for a new store. */
export async function appliedMigrations(db: Db): Promise<string[]> {
  const schema = dialectOf(db).schema;
  const tables = await db.introspection.getTables({ withInternalKyselyTables: true });
  const here = (t: { name: string; schema?: string }) =>
    t.name === "kysely_migration" && (schema === undefined || t.schema === schema);
  if (!tables.some(here)) return [];
  const migrationTables = db as unknown as Kysely<{ kysely_migration: { name: string; timestamp: string } }>;
  const rows = await (schema === undefined ? migrationTables : migrationTables.withSchema(schema))
    .selectFrom("kysely_migration")
    .select("name")
    .orderBy("timestamp")
    .orderBy("name")
    .execute();
  return rows.map((r) => r.name);
}
