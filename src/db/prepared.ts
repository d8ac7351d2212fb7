/**
 * SQL texts that run on every request: the token lookups of authentication and verification. The
 * query layer registers them where it writes them, and PostgreSQL then runs them as named prepared
 * statements, planned once per connection (planning their three-table join took about 1.1 ms
 * against 0.2 ms to run it: docs/benchmarks.md). SQLite's statement cache needs nothing more.
 */
const names = new Map<string, string>();

export function prepareOnEveryConnection(sql: string): void {
  if (!names.has(sql)) names.set(sql, `latchkey_prepared_${names.size}`);
}

/** The statement name of a registered text, or undefined for any other query. */
export const preparedStatementName = (sql: string): string | undefined => names.get(sql);
