import type { CompiledQuery } from "kysely";
import type { Executor } from "./database.ts";

/**
 * SQL texts that run on every request: the token lookups of authentication and verification, and
 * what issuing writes (the token, the audit chain's head and event). The query layer registers them
 * where it writes them, and PostgreSQL then runs them as named prepared statements, planned once
 * per connection (planning the lookups' three-table join took about 1.1 ms against 0.2 ms to run
 * it: docs/benchmarks.md). SQLite's statement cache needs nothing more.
 */
const names = new Map<string, string>();

export function prepareOnEveryConnection(sql: string): void {
  if (!names.has(sql)) names.set(sql, `latchkey_prepared_${names.size}`);
}

/** The statement name of a registered text, or undefined for any other query. */
export const preparedStatementName = (sql: string): string | undefined => names.get(sql);

const compiled = new WeakMap<object, Map<string, CompiledQuery>>();

/**
 * A query built and compiled once per store, then run with fresh parameters: building a query with
 * Kysely costs more than SQLite takes to run a small one. Keyed by the store's adapter, which the
 * store and its transactions share. With `prepare`, PostgreSQL also plans it once per connection.
 */
export function compiledOnce<R>(
  db: Executor,
  key: string,
  build: () => CompiledQuery<R>,
  prepare = false,
): CompiledQuery<R> {
  const adapter = db.getExecutor().adapter;
  let queries = compiled.get(adapter);
  if (!queries) compiled.set(adapter, (queries = new Map()));
  let query = queries.get(key) as CompiledQuery<R> | undefined;
  if (!query) {
    query = build();
    if (prepare) prepareOnEveryConnection(query.sql);
    queries.set(key, query);
  }
  return query;
}

/** Runs a query from `compiledOnce` with these parameters. */
export async function runCompiled<R>(
  db: Executor,
  query: CompiledQuery<R>,
  parameters: readonly unknown[],
): Promise<R[]> {
  const { rows } = await db.executeQuery<R>({ ...query, parameters });
  return rows;
}
