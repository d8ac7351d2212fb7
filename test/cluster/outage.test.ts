import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLUSTER_TESTS, type Cluster, sleep, startCluster } from "../helpers/cluster.ts";
import { http } from "../helpers/process.ts";

/** "15 main": the Debian cluster the tests may stop and start (pg_ctlcluster, as root). */
const PG_CLUSTER = process.env.LATCHKEY_TEST_PG_CLUSTER?.split(/\s+/).filter(Boolean);

function pgctl(action: "start" | "stop"): void {
  const [version, name] = PG_CLUSTER as [string, string];
  const args = [
    "--skip-systemctl-redirect",
    version,
    name,
    action,
    ...(action === "stop" ? ["-m", "fast"] : []),
  ];
  execFileSync("pg_ctlcluster", args, { stdio: "ignore" });
}

const isRunning = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe.skipIf(!CLUSTER_TESTS || !PG_CLUSTER)("PostgreSQL stopped under two running nodes", () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster(2);
  }, 60_000);
  afterAll(async () => {
    try {
      pgctl("start");
    } catch {
      // already running
    }
    await cluster?.stop();
  });

  it("fails closed with 503 at once, stays up, and recovers within 10 s of PostgreSQL returning", async () => {
    const [n1, n2] = cluster.nodes.map((n) => n.url) as [string, string];
    const api = (url: string, method: string, path: string, token = cluster.admin, body?: unknown) =>
      http(url, method, path, { token, ...(body === undefined ? {} : { body }) });
    expect(
      (await api(n1, "POST", "/v1/projects/default/service-accounts", cluster.admin, { name: "o" })).status,
    ).toBe(201);
    const tokens = "/v1/projects/default/service-accounts/o/tokens";
    const live = (await api(n1, "POST", tokens, cluster.admin, { name: "live" })).body;
    const revoked = (await api(n2, "POST", tokens, cluster.admin, { name: "revoked" })).body;
    expect((await api(n1, "DELETE", `/v1/tokens/${revoked.id}`)).status).toBe(204);

    pgctl("stop");
    const outage: { status: number; ms: number; what: string }[] = [];
    const until = performance.now() + 4000;
    while (performance.now() < until) {
      for (const url of [n1, n2]) {
        for (const [what, run] of [
          ["live token", () => api(url, "GET", "/v1/whoami", live.token)],
          ["revoked token", () => api(url, "GET", "/v1/whoami", revoked.token)],
          ["create", () => api(url, "POST", tokens, cluster.admin, { name: "during-outage" })],
          ["readyz", () => api(url, "GET", "/readyz")],
        ] as const) {
          const started = performance.now();
          const res = await run();
          outage.push({ status: res.status, ms: performance.now() - started, what });
          expect(res.status, `${what} on ${url}: ${res.text}`).toBe(503);
          if (what !== "readyz") expect(res.body.code).toBe("unavailable");
        }
        expect((await api(url, "GET", "/healthz")).status).toBe(200); // alive, just not ready
        // Public keys need no store (none can be rotated while it is down): offline verifiers go on.
        expect((await api(url, "GET", "/.well-known/jwks.json")).status).toBe(200);
      }
    }
    for (const node of cluster.nodes) expect(isRunning(node.pid)).toBe(true);
    const slowest = Math.max(...outage.map((o) => o.ms));

    pgctl("start");
    const back = performance.now();
    const recovered = await Promise.all(
      [n1, n2].map(async (url) => {
        for (;;) {
          const res = await api(url, "GET", "/v1/whoami", live.token);
          if (res.status === 200) return performance.now() - back;
          expect(res.status).toBe(503);
          if (performance.now() - back > 15_000) throw new Error(`${url} did not recover`);
          await sleep(50);
        }
      }),
    );
    console.log(
      `[cluster] outage: ${JSON.stringify({
        requests_during_outage: outage.length,
        all_503: outage.every((o) => o.status === 503),
        slowest_503_ms: Math.round(slowest),
        recovered_after_ms: recovered.map(Math.round),
      })}`,
    );
    expect(slowest).toBeLessThan(1000);
    for (const ms of recovered) expect(ms).toBeLessThan(10_000);
    for (const node of cluster.nodes) expect(isRunning(node.pid)).toBe(true);

    // Fail closed then, correct now: the revoked token is still refused, and nothing was half-written.
    for (const url of [n1, n2]) expect((await api(url, "GET", "/v1/whoami", revoked.token)).status).toBe(401);
    expect((await api(n2, "GET", "/v1/audit-events?verify=true")).body.valid).toBe(true);

    // Each node listens again (it resynced after reconnecting): a key rotated on one reaches the other.
    const rotated = await api(n1, "POST", "/v1/signing-keys/rotate");
    expect(rotated.status).toBe(201);
    const started = performance.now();
    for (;;) {
      const keys = (await api(n2, "GET", "/.well-known/jwks.json")).body.keys as { kid: string }[];
      if (keys.some((k) => k.kid === rotated.body.kid)) break;
      if (performance.now() - started > 1000)
        throw new Error("node 2 did not hear of the rotation after the outage");
      await sleep(10);
    }
  }, 120_000);
});
