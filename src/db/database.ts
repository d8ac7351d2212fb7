import { mkdirSync } from "node:fs";
import { join } from "node:path";
import SQLite from "better-sqlite3";
import { Kysely, Migrator, SqliteDialect, type Transaction } from "kysely";
import { migrations } from "./migrations/index.ts";
import type { Database } from "./schema.ts";

export type Db = Kysely<Database>;
/** Anything queries can run on: the database itself or an open transaction. */
export type Executor = Kysely<Database> | Transaction<Database>;

/** Opens (creating if needed) the embedded SQLite store in `dataDir`. */
export function openSqlite(dataDir: string): Db {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  return openSqliteFile(join(dataDir, "latchkey.db"));
}

export function openSqliteFile(file: string): Db {
  const sqlite = new SQLite(file);
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("synchronous = NORMAL");
  sqlite.pragma("foreign_keys = ON");
  sqlite.pragma("busy_timeout = 5000");
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
}

/**
 * Kysely prepares every query afresh, and preparing costs more than running an indexed lookup.
 * Statements are reused by SQL text; Kysely's queries are parameterised, so the set is small.
 */
function withStatementCache(sqlite: SQLite.Database, limit = 500) {
  const statements = new Map<string, SQLite.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sql: string): SQLite.Statement {
      let statement = statements.get(sql);
      if (!statement) {
        if (statements.size >= limit) statements.clear();
        statement = sqlite.prepare(sql);
        statements.set(sql, statement);
      }
      return statement;
    },
  };
}

export class SchemaTooNewError extends Error {}

/** Applies pending migrations; refuses a store migrated by a newer Latchkey. */
export async function migrate(db: Db): Promise<string[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const known = new Set(Object.keys(migrations));
  const applied = (await migrator.getMigrations()).filter((m) => m.executedAt !== undefined);
  const unknown = await unknownApplied(db, known);
  if (unknown.length > 0) {
    throw new SchemaTooNewError(
      `the store has migrations this version does not know (${unknown.join(", ")}); upgrade Latchkey`,
    );
  }
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error;
  return [...applied.map((m) => m.name), ...(results ?? []).map((r) => r.migrationName)];
}

async function unknownApplied(db: Db, known: Set<string>): Promise<string[]> {
  const tables = await db.introspection.getTables({ withInternalKyselyTables: true });
  if (!tables.some((t) => t.name === "kysely_migration")) return [];
  const rows = await (db as unknown as Kysely<{ kysely_migration: { name: string } }>)
    .selectFrom("kysely_migration")
    .select("name")
    .execute();
  return rows.map((r) => r.name).filter((n) => !known.has(n));
}
