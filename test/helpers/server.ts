import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AuditLog } from "../../src/audit/log.ts";
import { migrate, openStore, type Store } from "../../src/db/database.ts";
import type { SigningAlgorithm } from "../../src/keys/key-ring.ts";
import { MasterKey } from "../../src/keys/master-key.ts";
import type { Clock } from "../../src/lib/clock.ts";
import { buildApp, type Latchkey } from "../../src/server/app.ts";
import { BOOTSTRAP_TOKEN_FILE, bootstrap } from "../../src/server/bootstrap.ts";
import type { Policy } from "../../src/server/deps.ts";
import { freshSchema, HTTP_SUITE_POSTGRES_URL, type TestSchema } from "./postgres.ts";

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface RequestOptions {
  token?: string | null;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
}

export interface TestServer {
  url: string;
  dataDir: string;
  bootstrapToken: string;
  latchkey: Latchkey;
  /** The store it runs on: SQLite in dataDir, or a fresh PostgreSQL schema under LATCHKEY_TEST_DATABASE_URL. */
  store: Store;
  /** Calls the server over real HTTP; the bootstrap token is used unless `token` says otherwise. */
  api<T = any>(method: string, path: string, options?: RequestOptions): Promise<ApiResponse<T>>;
  close(): Promise<void>;
}

export interface TestServerOptions {
  clock?: Clock;
  policy?: Partial<Policy>;
  audit?: (clock: Clock) => AuditLog;
  failedAuthLimit?: { maxFailures: number; windowSeconds: number };
  signingAlgorithm?: SigningAlgorithm;
}

/**
 * A real Latchkey on a real port over a fresh store, with injectable edges. The store is a SQLite
 * file, or a fresh schema in the PostgreSQL database that LATCHKEY_TEST_DATABASE_URL names (how
 * the whole HTTP suite runs once more against PostgreSQL).
 */
export async function startServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), "latchkey-test-"));
  let schema: TestSchema | undefined;
  if (HTTP_SUITE_POSTGRES_URL) schema = await freshSchema(HTTP_SUITE_POSTGRES_URL);
  const store = await openStore({ databaseUrl: schema?.url, dataDir }, { poolMax: 5 });
  const db = store.db;
  await migrate(db);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const latchkey = await buildApp({
    db,
    masterKey: MasterKey.generate(),
    issuer: url,
    signingAlgorithm: options.signingAlgorithm,
    clock: options.clock,
    policy: options.policy,
    audit: options.audit,
    failedAuthLimit: options.failedAuthLimit ?? { maxFailures: 1000, windowSeconds: 60 },
  });
  await bootstrap(latchkey.deps, dataDir);
  const bootstrapToken = readFileSync(join(dataDir, BOOTSTRAP_TOKEN_FILE), "utf8").trim();
  await latchkey.app.listen({ host: "127.0.0.1", port });

  const api = async (method: string, path: string, o: RequestOptions = {}): Promise<ApiResponse> => {
    const headers: Record<string, string> = { ...o.headers };
    const token = o.token === undefined ? bootstrapToken : o.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    let body: string | undefined = o.rawBody;
    if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers["content-type"] ??= "application/json";
    }
    const response = await fetch(url + path, { method, headers, body });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, headers: response.headers, body: parsed, text };
  };

  return {
    url,
    dataDir,
    bootstrapToken,
    latchkey,
    store,
    api,
    close: async () => {
      await latchkey.app.close();
      await store.close();
      await schema?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Creates a service account and one token for it; returns the secret and ids. */
export async function accountWithToken(
  server: TestServer,
  opts: {
    project?: string;
    name: string;
    role?: string;
    scope?: string;
    access?: string;
    ttl_seconds?: number;
    asToken?: string;
  },
): Promise<{ token: string; tokenId: string; accountId: string }> {
  const project = opts.project ?? "default";
  const sa = await server.api("POST", `/v1/projects/${project}/service-accounts`, {
    token: opts.asToken,
    body: { name: opts.name, role: opts.role ?? "viewer", scope: opts.scope ?? "project" },
  });
  if (sa.status !== 201) throw new Error(`creating ${opts.name}: ${sa.status} ${sa.text}`);
  const tok = await server.api("POST", `/v1/projects/${project}/service-accounts/${opts.name}/tokens`, {
    token: opts.asToken,
    body: { name: `${opts.name}-token`, access: opts.access ?? "read-write", ttl_seconds: opts.ttl_seconds },
  });
  if (tok.status !== 201) throw new Error(`token for ${opts.name}: ${tok.status} ${tok.text}`);
  return { token: tok.body.token, tokenId: tok.body.id, accountId: sa.body.id };
}

/** Row counts of every table: "the database is exactly as before" is checked with these. */
export async function rowCounts(server: TestServer): Promise<Record<string, number>> {
  const db = server.latchkey.deps.db;
  const out: Record<string, number> = {};
  for (const table of ["projects", "service_accounts", "tokens", "audit_events"] as const) {
    const row = await db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .executeTakeFirstOrThrow();
    out[table] = Number(row.n);
  }
  return out;
}

/** A port that was free a moment ago (the issuer URL must be known before the server starts). */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
