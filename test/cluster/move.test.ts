import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { sql } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { KNOWN_MIGRATIONS, openStore } from "../../src/db/database.ts";
import { CLUSTER_ISSUER, CLUSTER_TESTS } from "../helpers/cluster.ts";
import { freshSchema, TEST_POSTGRES_URL, type TestSchema } from "../helpers/postgres.ts";
import { http, runCli, type ServerProcess, startServerProcess, tempDataDir } from "../helpers/process.ts";

describe.skipIf(!CLUSTER_TESTS)("outgrowing SQLite: the real executables, SQLite → PostgreSQL", () => {
  const cleanup: (() => Promise<unknown> | void)[] = [];
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step();
  });
  const schemaFor = async () => {
    const schema: TestSchema = await freshSchema(TEST_POSTGRES_URL!, "lk_move");
    cleanup.push(() => schema.drop());
    return schema;
  };
  const start = async (env: Record<string, string>, dataDir = tempDataDir()) => {
    const node: ServerProcess = await startServerProcess({
      dataDir,
      env: { LATCHKEY_ISSUER: CLUSTER_ISSUER, LATCHKEY_LOG_LEVEL: "warn", ...env },
    });
    cleanup.push(() => node.stop());
    return node;
  };

  it("latchkey copy moves everything; tokens issued before the move work on every new node", async () => {
    const dataDir = tempDataDir();
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const sqliteNode = await start({}, dataDir);
    const admin = readFileSync(join(dataDir, "bootstrap-token"), "utf8").trim();
    const api = (url: string, method: string, path: string, body?: unknown, token = admin) =>
      http(url, method, path, { token, ...(body === undefined ? {} : { body }) });
    const before = sqliteNode.url;
    expect(
      (await api(before, "POST", "/v1/projects/default/service-accounts", { name: "mover" })).status,
    ).toBe(201);
    const tokens = "/v1/projects/default/service-accounts/mover/tokens";
    const opaque = (await api(before, "POST", tokens, { name: "opaque" })).body.token;
    const jwt = (await api(before, "POST", tokens, { name: "jwt", format: "jwt" })).body.token;
    const shortLived = (
      await api(before, "POST", "/v1/projects/default/service-accounts/mover/token-requests", {})
    ).body.token;
    const revoked = (await api(before, "POST", tokens, { name: "revoked" })).body;
    expect((await api(before, "DELETE", `/v1/tokens/${revoked.id}`)).status).toBe(204);
    const chainBefore = (await api(before, "GET", "/v1/audit-events?verify=true")).body;
    expect(await sqliteNode.stop()).toBe(0);

    const schema = await schemaFor();
    const copied = await runCli(["copy", "--from", `sqlite:${dataDir}`, "--to", schema.url, "--json"]);
    expect(copied.code, copied.stderr).toBe(0);
    const report = JSON.parse(copied.stdout);
    expect(report.audit).toMatchObject({ events: chainBefore.events_checked, head: chainBefore.last_hash });
    expect(report.tables.tokens.rows).toBe(4); // bootstrap, opaque, jwt, revoked (short-lived JWTs have no row)
    expect(report.signing_keys).toMatchObject({ total: 1, decrypted: 1 });

    // Two nodes on PostgreSQL, with the master key the SQLite server generated and the same issuer.
    const env = { LATCHKEY_DATABASE_URL: schema.url, LATCHKEY_MASTER_KEY_FILE: join(dataDir, "master-key") };
    const nodes = [await start(env), await start(env)];
    for (const { url } of nodes) {
      for (const token of [admin, opaque, jwt, shortLived]) {
        expect((await api(url, "GET", "/v1/whoami", undefined, token)).status).toBe(200);
      }
      const gone = await api(url, "GET", "/v1/whoami", undefined, revoked.token);
      expect([gone.status, gone.body.code]).toEqual([401, "token_revoked"]);
    }
    const chainAfter = (await api(nodes[1]!.url, "GET", "/v1/audit-events?verify=true")).body;
    expect(chainAfter.valid).toBe(true);
    expect(chainAfter.events_checked).toBeGreaterThan(chainBefore.events_checked);

    // The same through a file: export from SQLite, import into another schema.
    const file = join(dataDir, "store.export");
    const exported = await runCli(["export", "--data-dir", dataDir, "--output", file]);
    expect(exported.code, exported.stderr).toBe(0);
    const other = await schemaFor();
    const imported = await runCli(["import", "--input", file, "--database-url", other.url, "--json"]);
    expect(imported.code, imported.stderr).toBe(0);
    expect(JSON.parse(imported.stdout).tables).toEqual(report.tables);
    // A second import into the now non-empty store is refused.
    const again = await runCli(["import", "--input", file, "--database-url", other.url]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("is not empty");
  }, 120_000);

  it("latchkey migrate applies migrations to PostgreSQL; the server refuses a newer schema", async () => {
    const schema = await schemaFor();
    const env = { LATCHKEY_DATABASE_URL: schema.url };
    const migrated = await runCli(["migrate", "--json"], { env });
    expect(migrated.code, migrated.stderr).toBe(0);
    // Every migration the code knows, up to the newest, on a fresh schema.
    expect(JSON.parse(migrated.stdout)).toMatchObject({
      migration: KNOWN_MIGRATIONS.at(-1),
      applied: KNOWN_MIGRATIONS.length,
    });
    const store = await openStore({ databaseUrl: schema.url });
    await sql`insert into kysely_migration (name, timestamp) values ('9999-from-the-future', '2031-01-01')`.execute(
      store.db,
    );
    await store.close();
    const refused = await runCli(["server", "--listen", "127.0.0.1:0", "--data-dir", tempDataDir()], {
      env: { ...env, LATCHKEY_MASTER_KEY: "a".repeat(40) },
    });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("9999-from-the-future");
  }, 60_000);
});
