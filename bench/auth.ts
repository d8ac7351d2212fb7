/**
 * Authentication throughput, as ratios to a floor measured in the same run on the same server:
 *   floor        GET /healthz              (HTTP only: no authentication, no store)
 *   malformed    GET /v1/whoami, bad checksum  (rejected before any query; rate limit off)
 *   valid        GET /v1/whoami, good token    (SHA-256 + one indexed lookup)
 *   jwt          GET /v1/whoami, JWT-format token (ES256 signature check + one lookup by id)
 * Goal: valid ≥ 0.5 × floor, i.e. authentication costs less than the HTTP round trip it rides on.
 * Usage: npm run bench [-- --seconds 5 --connections 16]
 */
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { migrate, openSqlite } from "../src/db/database.ts";
import { MasterKey } from "../src/keys/master-key.ts";
import { buildApp } from "../src/server/app.ts";
import { bootstrap } from "../src/server/bootstrap.ts";

const { values } = parseArgs({
  options: { seconds: { type: "string", default: "5" }, connections: { type: "string", default: "16" } },
});
const duration = Number(values.seconds);
const connections = Number(values.connections);

const dir = mkdtempSync(join(tmpdir(), "latchkey-bench-"));
const db = openSqlite(dir);
await migrate(db);
const { app, deps } = await buildApp({
  masterKey: MasterKey.generate(),
  db,
  failedAuthLimit: { maxFailures: Number.MAX_SAFE_INTEGER, windowSeconds: 1 },
});
const token = await bootstrap(deps, dir);
if (!token) throw new Error("bootstrap did not issue a token");
// More rows, so the lookup is an index seek among many, not a scan of one.
for (let i = 0; i < 2_000; i++) {
  await deps.db
    .insertInto("tokens")
    .values({
      id: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
      service_account_id: (
        await deps.db.selectFrom("service_accounts").select("id").executeTakeFirstOrThrow()
      ).id,
      name: `filler-${i}`,
      description: "",
      owner: "",
      access: "read-only",
      format: "opaque",
      audiences: "[]",
      labels: "{}",
      digest: `${i}`.padStart(64, "f"),
      ttl_seconds: 600,
      created_at: new Date().toISOString(),
      expires_at: new Date(Date.now() + 600_000).toISOString(),
      last_used_at: null,
      revoked_at: null,
      rotated_from: null,
      rotated_to: null,
      retire_previous_on_first_use: 0,
      created_by: "bench",
    })
    .execute();
}
await app.listen({ host: "127.0.0.1", port: 0 });
const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

async function rps(path: string, headers: Record<string, string> = {}, expect = 200): Promise<number> {
  const result = await autocannon({ url: url + path, headers, connections, duration });
  const wrong = result.non2xx > 0 && expect === 200;
  if (wrong || result.errors > 0)
    throw new Error(`${path}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return result.requests.average;
}

const bad = `${token.slice(0, -1)}${token.endsWith("0") ? "1" : "0"}`;
const jwtToken = await (async () => {
  const res = await fetch(`${url}/v1/projects/default/service-accounts/bootstrap/tokens`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "bench-jwt", format: "jwt" }),
  });
  return ((await res.json()) as { token: string }).token;
})();
await rps("/healthz"); // warm-up
const floor = await rps("/healthz");
const malformed = await rps("/v1/whoami", { authorization: `Bearer ${bad}` }, 401);
const valid = await rps("/v1/whoami", { authorization: `Bearer ${token}` });
const jwt = await rps("/v1/whoami", { authorization: `Bearer ${jwtToken}` });

const row = (name: string, value: number) =>
  console.log(
    `${name.padEnd(10)} ${value.toFixed(0).padStart(8)} req/s   ${(value / floor).toFixed(2)} × floor`,
  );
console.log(`latchkey auth bench: ${connections} connections, ${duration} s each, SQLite, 2,001 tokens`);
row("floor", floor);
row("malformed", malformed);
row("valid", valid);
row("jwt", jwt);
const ratio = valid / floor;
console.log(`valid/floor = ${ratio.toFixed(2)} (goal ≥ 0.50): ${ratio >= 0.5 ? "met" : "NOT met"}`);

await app.close();
await db.destroy();
rmSync(dir, { recursive: true, force: true });
