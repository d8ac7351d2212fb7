import { sql } from "kysely";
import type { Db } from "../../src/db/database.ts";
import { dialectOf } from "../../src/db/dialect.ts";

/**
 * Every row of every table (migration bookkeeping included), for "the store is exactly as before":
 * in storage order on SQLite; on PostgreSQL, whose storage order moves with updates, sorted.
 */
export async function allRows(db: Db): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  const dialect = dialectOf(db);
  if (dialect.name === "sqlite") {
    const tables = await sql<{ name: string }>`
      select name from sqlite_master where type = 'table' order by name`.execute(db);
    for (const { name } of tables.rows) {
      out[name] = (await sql`select * from ${sql.table(name)} order by rowid`.execute(db)).rows;
    }
    return out;
  }
  const tables = await sql<{ name: string }>`
    select table_name as name from information_schema.tables
    where table_schema = ${dialect.schema} and table_type = 'BASE TABLE' order by table_name`.execute(db);
  for (const { name } of tables.rows) {
    const rows = (await sql`select * from ${sql.table(name)}`.execute(db)).rows;
    out[name] = rows
      .map((row) => [JSON.stringify(row), row] as const)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, row]) => row);
  }
  return out;
}
