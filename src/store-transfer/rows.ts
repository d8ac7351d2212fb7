import { type Kysely, sql } from "kysely";
import type { Executor } from "../db/database.ts";
import type { TableSpec } from "./tables.ts";

/** A row as it travels: its values in the table's column order. */
export type Values = unknown[];

const PAGE = 1000;
/** Rows per INSERT: far below SQLite's and PostgreSQL's limits on bound parameters. */
const BATCH = 200;

// The transfer moves every table the same way, by name, so it works on untyped queries.
const untyped = (db: Executor) => db as unknown as Kysely<Record<string, Record<string, unknown>>>;

/** Every row of `spec`, in key order, a page at a time (keyset pagination: no OFFSET, no re-reads). */
export async function* readRows(db: Executor, spec: TableSpec): AsyncGenerator<Values[]> {
  let after: Record<string, unknown> | undefined;
  for (;;) {
    let query = untyped(db)
      .selectFrom(spec.name)
      .select(spec.columns as string[])
      .limit(PAGE);
    for (const column of spec.key) query = query.orderBy(column);
    if (after) {
      const last = after;
      const keys = sql.join(spec.key.map((k) => sql.ref(k)));
      const values = sql.join(spec.key.map((k) => last[k]));
      query = query.where(sql<boolean>`(${keys}) > (${values})`);
    }
    const rows = await query.execute();
    if (rows.length > 0) yield rows.map((row) => spec.columns.map((c) => row[c]));
    if (rows.length < PAGE) return;
    after = rows.at(-1);
  }
}

/** Inserts rows given as values in column order. */
export async function insertRows(db: Executor, spec: TableSpec, rows: Values[]): Promise<void> {
  for (let i = 0; i < rows.length; i += BATCH) {
    const batch = rows.slice(i, i + BATCH).map((values) => {
      const row: Record<string, unknown> = {};
      spec.columns.forEach((column, index) => (row[column] = values[index] ?? null));
      return row;
    });
    await untyped(db).insertInto(spec.name).values(batch).execute();
  }
}

/** Number of rows in `spec`. */
export async function countRows(db: Executor, spec: TableSpec): Promise<number> {
  const row = await untyped(db)
    .selectFrom(spec.name)
    .select((eb) => eb.fn.countAll().as("n"))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
