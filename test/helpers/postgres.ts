import { randomBytes } from "node:crypto";
import pg from "pg";

/**
 * A PostgreSQL server the tests may use (the store suite, the cluster tests), e.g.
 * postgres://latchkey:latchkey@127.0.0.1:5432/latchkey_test. Tests that need one are skipped without it.
 */
export const TEST_POSTGRES_URL =
  process.env.LATCHKEY_TEST_POSTGRES_URL || process.env.LATCHKEY_TEST_DATABASE_URL || undefined;

/** Set when the whole HTTP suite runs against PostgreSQL instead of SQLite (startServer reads it). */
export const HTTP_SUITE_POSTGRES_URL = process.env.LATCHKEY_TEST_DATABASE_URL || undefined;

export interface TestSchema {
  /** The database URL with `?schema=` naming a fresh, empty schema. */
  url: string;
  schema: string;
  /** Drops the schema and everything in it. */
  drop(): Promise<void>;
}

async function admin<T>(baseUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: baseUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A fresh schema in the test database: each test server, store or cluster gets its own. */
export async function freshSchema(baseUrl: string, prefix = "lk_test"): Promise<TestSchema> {
  const schema = `${prefix}_${randomBytes(6).toString("hex")}`;
  await admin(baseUrl, (c) => c.query(`create schema ${schema}`));
  const url = new URL(baseUrl);
  url.searchParams.set("schema", schema);
  return {
    url: url.toString(),
    schema,
    drop: () =>
      admin(baseUrl, (c) => c.query(`drop schema if exists ${schema} cascade`)).then(() => undefined),
  };
}

/** Runs one query against the test database (outside any schema's pool). */
export function adminQuery<R extends pg.QueryResultRow = any>(
  baseUrl: string,
  text: string,
  values: unknown[] = [],
): Promise<pg.QueryResult<R>> {
  return admin(baseUrl, (c) => c.query<R>(text, values));
}
