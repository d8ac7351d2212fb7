import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import SQLite from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import type { Db, Store } from "./database.ts";
import { registerDialect, sqliteDialect } from "./dialect.ts";
import type { Database } from "./schema.ts";
import { SQLITE_FILE } from "./url.ts";

/** Opens (creating if needed) the embedded SQLite store in `dataDir`. */
export function openSqlite(dataDir: string): Db {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  return openSqliteFile(join(dataDir, SQLITE_FILE));
}

export function openSqliteFile(file: string): Db {
  const sqlite = new SQLite(file);
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("synchronous = NORMAL");
  sqlite.pragma("foreign_keys = ON");
  sqlite.pragma("busy_timeout = 5000");
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  registerDialect(db, sqliteDialect);
  return db;
}

/** The SQLite file as a Store: one process owns it, so there is nobody to notify. */
export function openSqliteStore(file: string): Store {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const db = openSqliteFile(file);
  return { db, dialect: sqliteDialect, location: file, nodeId: "sqlite", close: () => db.destroy() };
}

/** What ROLLBACK runs as when SQLite has already rolled the transaction back. */
const noTransaction = {
  reader: false,
  run: () => ({ changes: 0, lastInsertRowid: 0 }),
} as unknown as SQLite.Statement;

/**
 * Kysely prepares every query afresh, and preparing costs more than running an indexed lookup.
 * Statements are reused by SQL text; Kysely's queries are parameterised, so the set is small.
 */
function withStatementCache(sqlite: SQLite.Database, limit = 500) {
  const statements = new Map<string, SQLite.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sql: string): SQLite.Statement {
      // SQLite rolls a transaction back by itself on SQLITE_FULL (and some I/O errors); Kysely's own
      // ROLLBACK after the failure would then throw "no transaction is active" and hide the cause.
      if (sql === "rollback" && !sqlite.inTransaction) return noTransaction;
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
