import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { type Db, openStore } from "../../src/db/database.ts";
import { MasterKey } from "../../src/keys/master-key.ts";
import { freshSchema, TEST_POSTGRES_URL, type TestSchema } from "./postgres.ts";
import { type ServerProcess, startServerProcess, tempDataDir } from "./process.ts";

/**
 * Several real `latchkey server` processes sharing one PostgreSQL schema and nothing else but the
 * master key and the issuer, as behind a load balancer. Run by .ci/run on its own (LATCHKEY_TEST_CLUSTER=1):
 * these tests measure delays, and one of them stops PostgreSQL.
 */
export const CLUSTER_TESTS = process.env.LATCHKEY_TEST_CLUSTER === "1" && TEST_POSTGRES_URL !== undefined;

export const CLUSTER_ISSUER = "http://latchkey.cluster.test";

export interface Cluster {
  schema: TestSchema;
  nodes: ServerProcess[];
  /** The bootstrap token, written by the first node. */
  admin: string;
  /** The environment every node gets: the store, the shared master key, the issuer. */
  env: Record<string, string>;
  /** Direct access to the shared store (checks that the API cannot make, like orphan rows). */
  db: Db;
  /** Starts one more node on the same store (e.g. after one was killed). */
  addNode(options?: { logLevel?: string; cli?: string }): Promise<ServerProcess>;
  stop(): Promise<void>;
}

export async function startCluster(size: number, options: { logLevel?: string } = {}): Promise<Cluster> {
  if (!TEST_POSTGRES_URL) throw new Error("set LATCHKEY_TEST_POSTGRES_URL");
  const schema = await freshSchema(TEST_POSTGRES_URL, "lk_cluster");
  const env = {
    LATCHKEY_DATABASE_URL: schema.url,
    LATCHKEY_MASTER_KEY: MasterKey.generate().toText(),
    LATCHKEY_ISSUER: CLUSTER_ISSUER,
    // The tests send thousands of revoked tokens from one address on purpose.
    LATCHKEY_FAILED_AUTH_LIMIT: "100000/60s",
    LATCHKEY_LOG_LEVEL: options.logLevel ?? "warn",
  };
  const dataDirs: string[] = [];
  const all: ServerProcess[] = [];
  const addNode = async (o: { logLevel?: string; cli?: string } = {}) => {
    const dataDir = tempDataDir();
    dataDirs.push(dataDir);
    const node = await startServerProcess({
      dataDir,
      env: { ...env, LATCHKEY_LOG_LEVEL: o.logLevel ?? env.LATCHKEY_LOG_LEVEL },
      ...(o.cli ? { cli: o.cli } : {}),
    });
    all.push(node);
    return node;
  };
  // The first node bootstraps the store; the others join it.
  const first = await addNode();
  const admin = readFileSync(join(first.dataDir, "bootstrap-token"), "utf8").trim();
  const rest = await Promise.all(Array.from({ length: size - 1 }, () => addNode()));
  const store = await openStore({ databaseUrl: schema.url }, { poolMax: 2 });
  const db = store.db;
  return {
    schema,
    nodes: [first, ...rest],
    admin,
    env,
    db,
    addNode,
    async stop() {
      await Promise.all(all.map((n) => n.stop().catch(() => undefined)));
      await store.close().catch(() => undefined);
      await schema.drop().catch(() => undefined);
      for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Percentile (nearest rank) of a list of numbers. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface SseEvent {
  type: string;
  data: any;
  /** performance.now() when it arrived. */
  at: number;
}

/** Subscribes to a server's revocation feed; events are collected as they arrive. */
export async function subscribeRevocations(
  url: string,
  token: string,
): Promise<{ events: SseEvent[]; ready: Promise<void>; close(): void }> {
  const abort = new AbortController();
  const response = await fetch(`${url}/v1/revocations/stream`, {
    headers: { authorization: `Bearer ${token}` },
    signal: abort.signal,
  });
  if (response.status !== 200 || !response.body) throw new Error(`revocation stream: ${response.status}`);
  const events: SseEvent[] = [];
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        for (let end = buffer.indexOf("\n\n"); end !== -1; end = buffer.indexOf("\n\n")) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const type = /^event: (.*)$/m.exec(frame)?.[1];
          const data = /^data: (.*)$/m.exec(frame)?.[1];
          if (type === "ready") markReady();
          if (type && data) events.push({ type, data: JSON.parse(data), at: performance.now() });
        }
      }
    } catch {
      // closed
    }
  })();
  // Servers without the `ready` bookmark: the first keepalive-free moment will do.
  setTimeout(markReady, 300);
  return { events, ready, close: () => abort.abort() };
}
