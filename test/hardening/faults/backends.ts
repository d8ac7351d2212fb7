import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { type Db, openStore, type Store } from "../../../src/db/database.ts";
import { MasterKey } from "../../../src/keys/master-key.ts";
import { adminQuery, freshSchema, type TestSchema } from "../../helpers/postgres.ts";
import { type ServerProcess, startServerProcess, tempDataDir } from "../../helpers/process.ts";
import { HARDENING_POSTGRES_URL, requirePostgres } from "./mode.ts";

/**
 * One deployment under test, SQLite or PostgreSQL, run as the real `latchkey server` executable,
 * with the store open beside it for checks the API cannot make. Restartable on the same store.
 */
export interface Deployment {
  kind: "sqlite" | "postgres";
  /** Environment every server process of this deployment gets (store, master key, limits). */
  env: Record<string, string>;
  dataDir: string;
  /** The bootstrap token. */
  admin: string;
  server: ServerProcess;
  /** The store itself, opened beside the server. */
  db: Db;
  /** Starts another server process on the same store (after a kill, or a second node). */
  start(options?: { cli?: string; env?: Record<string, string> }): Promise<ServerProcess>;
  /** Runs SQL on the store as the operator would (triggers, grants): SQLite file or the schema. */
  exec(statements: string): Promise<void>;
  stop(): Promise<void>;
}

export const BACKENDS = ["sqlite", "postgres"] as const;
export type BackendKind = (typeof BACKENDS)[number];

/** Backends to run: SQLite always; PostgreSQL when configured (and always in CI, which fails without it). */
export const backendsHere = (): BackendKind[] =>
  HARDENING_POSTGRES_URL !== undefined || process.env.CI === "true" ? [...BACKENDS] : ["sqlite"];

export async function startDeployment(
  kind: BackendKind,
  options: { cli?: string; logLevel?: string } = {},
): Promise<Deployment> {
  const dataDir = tempDataDir();
  let schema: TestSchema | undefined;
  const env: Record<string, string> = {
    LATCHKEY_MASTER_KEY: MasterKey.generate().toText(),
    LATCHKEY_FAILED_AUTH_LIMIT: "100000/60s",
    LATCHKEY_LOG_LEVEL: options.logLevel ?? "fatal",
  };
  if (kind === "postgres") {
    schema = await freshSchema(requirePostgres(), "lk_faults");
    env.LATCHKEY_DATABASE_URL = schema.url;
  }
  const processes: ServerProcess[] = [];
  const start = async (o: { cli?: string; env?: Record<string, string> } = {}) => {
    const cli = o.cli ?? options.cli;
    const server = await startServerProcess({
      dataDir,
      env: { ...env, ...o.env },
      ...(cli ? { cli } : {}),
    });
    processes.push(server);
    return server;
  };
  const server = await start();
  const admin = readFileSync(join(dataDir, "bootstrap-token"), "utf8").trim();
  const store: Store = await openStore(
    schema ? { databaseUrl: schema.url } : { databaseUrl: `sqlite:${join(dataDir, "latchkey.db")}` },
    { poolMax: 2 },
  );
  const exec = async (statements: string) => {
    if (schema) {
      await adminQuery(requirePostgres(), `set search_path to ${schema.schema}; ${statements}`);
      return;
    }
    const { default: SQLite } = await import("better-sqlite3");
    const file = new SQLite(join(dataDir, "latchkey.db"));
    try {
      file.pragma("busy_timeout = 5000");
      file.exec(statements);
    } finally {
      file.close();
    }
  };
  return {
    kind,
    env,
    dataDir,
    admin,
    server,
    db: store.db,
    start,
    exec,
    async stop() {
      await Promise.all(processes.map((p) => p.stop().catch(() => undefined)));
      await store.close().catch(() => undefined);
      await schema?.drop().catch(() => undefined);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
