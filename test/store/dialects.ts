import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrate, openStore, type Store } from "../../src/db/database.ts";
import { MasterKey } from "../../src/keys/master-key.ts";
import type { Clock } from "../../src/lib/clock.ts";
import { buildApp, type Latchkey } from "../../src/server/app.ts";
import { bootstrap } from "../../src/server/bootstrap.ts";
import { freshSchema, TEST_POSTGRES_URL } from "../helpers/postgres.ts";

/**
 * Every engine the store suite runs on, against a real database (as kysely's own tests do): SQLite
 * always, PostgreSQL when LATCHKEY_TEST_POSTGRES_URL names a server (.ci/run starts one).
 */
export interface TestDialect {
  name: "sqlite" | "postgres";
  /** A new, empty store of this engine; `nodes` opens more handles on it (one per simulated node). */
  create(): Promise<TestStore>;
}

export interface TestStore {
  /** A URL that opens this same store (sqlite:FILE or postgres://…?schema=…). */
  url: string;
  store: Store;
  /**
   * `n` handles on the store, as `n` nodes would have. PostgreSQL: separate pools. SQLite: the same
   * handle (one process owns the file, and its one connection is what serializes writes).
   */
  nodes(n: number): Promise<Store[]>;
  destroy(): Promise<void>;
}

const sqlite: TestDialect = {
  name: "sqlite",
  async create() {
    const dir = mkdtempSync(join(tmpdir(), "latchkey-store-"));
    const url = `sqlite:${join(dir, "latchkey.db")}`;
    const store = await openStore({ databaseUrl: url });
    return {
      url,
      store,
      nodes: async (n) => Array.from({ length: n }, () => store),
      destroy: async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

const postgres = (baseUrl: string): TestDialect => ({
  name: "postgres",
  async create() {
    const schema = await freshSchema(baseUrl, "lk_store");
    const store = await openStore({ databaseUrl: schema.url }, { poolMax: 5 });
    const extra: Store[] = [];
    return {
      url: schema.url,
      store,
      async nodes(n) {
        const more = await Promise.all(
          Array.from({ length: n - 1 }, () => openStore({ databaseUrl: schema.url }, { poolMax: 10 })),
        );
        extra.push(...more);
        return [store, ...more];
      },
      destroy: async () => {
        await Promise.all([store, ...extra].map((s) => s.close()));
        await schema.drop();
      },
    };
  },
});

export const DIALECTS: TestDialect[] = [sqlite, ...(TEST_POSTGRES_URL ? [postgres(TEST_POSTGRES_URL)] : [])];

/** One Latchkey node on a store, built without listening: its deps and services are called directly. */
export async function nodeOn(
  store: Store,
  options: { masterKey: MasterKey; clock?: Clock; issuer?: string },
): Promise<Latchkey> {
  await migrate(store.db);
  return buildApp({
    db: store.db,
    masterKey: options.masterKey,
    clock: options.clock,
    issuer: options.issuer ?? "https://latchkey.test",
  });
}

/** A migrated store with its bootstrap done; returns the bootstrap token. */
export async function bootstrapped(node: Latchkey): Promise<string> {
  const secret = await bootstrap(node.deps, undefined);
  if (!secret) throw new Error("the store was not empty");
  return secret;
}

export { MasterKey };
