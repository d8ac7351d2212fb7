import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CLUSTER_TESTS,
  type Cluster,
  percentile,
  startCluster,
  subscribeRevocations,
} from "../helpers/cluster.ts";
import { http } from "../helpers/process.ts";

/** The figures the issue asks for, printed and kept for the CI log. */
const report = (name: string, figures: Record<string, number | string>) =>
  console.log(`[cluster] ${name}: ${JSON.stringify(figures)}`);

const round = (ms: number) => Math.round(ms * 10) / 10;
const kidOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split(".")[0] as string, "base64url").toString()).kid;

describe.skipIf(!CLUSTER_TESTS)("three server processes on one PostgreSQL", () => {
  let cluster: Cluster;
  let n1: string;
  let n2: string;
  let n3: string;
  beforeAll(async () => {
    cluster = await startCluster(3);
    [n1, n2, n3] = cluster.nodes.map((n) => n.url) as [string, string, string];
  }, 120_000);
  afterAll(() => cluster?.stop());

  const api = (url: string, method: string, path: string, body?: unknown, token = cluster.admin) =>
    http(url, method, path, { token, ...(body === undefined ? {} : { body }) });
  const whoami = (url: string, token: string) => api(url, "GET", "/v1/whoami", undefined, token);

  it("a token revoked on node 1 is rejected by nodes 2 and 3 (200 trials)", async () => {
    const TRIALS = 200;
    expect((await api(n3, "POST", "/v1/projects/default/service-accounts", { name: "revokee" })).status).toBe(
      201,
    );
    const tokens: { id: string; token: string }[] = [];
    for (let i = 0; i < TRIALS; i += 20) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(20, TRIALS - i) }, (_, j) =>
          api(n3, "POST", "/v1/projects/default/service-accounts/revokee/tokens", { name: `t-${i + j}` }),
        ),
      );
      for (const res of batch) tokens.push({ id: res.body.id, token: res.body.token });
    }
    const feeds = await Promise.all([n2, n3].map((url) => subscribeRevocations(url, cluster.admin)));
    await Promise.all(feeds.map((f) => f.ready));

    const rejectDelays: number[] = [];
    const feedDelays: number[] = [];
    let acceptedAfterRevoke = 0;
    for (const { id, token } of tokens) {
      for (const url of [n2, n3]) expect((await whoami(url, token)).status).toBe(200);
      const sent = performance.now();
      expect((await api(n1, "DELETE", `/v1/tokens/${id}`)).status).toBe(204);
      const revoked = performance.now();
      const delays = await Promise.all(
        [n2, n3].map(async (url) => {
          for (;;) {
            const res = await whoami(url, token);
            if (res.status === 401) {
              expect(res.body.code).toBe("token_revoked");
              return performance.now() - revoked;
            }
            acceptedAfterRevoke += 1;
            if (performance.now() - revoked > 5000) throw new Error(`node ${url} still accepts ${id}`);
          }
        }),
      );
      rejectDelays.push(...delays);
      // The feed on nodes 2 and 3 hears of it through NOTIFY (nodes share nothing else).
      for (const feed of feeds) {
        const started = performance.now();
        while (!feed.events.some((e) => e.type === "token.revoked" && e.data.token_id === id)) {
          if (performance.now() - started > 5000) throw new Error(`the feed never announced ${id}`);
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
        const event = feed.events.find((e) => e.type === "token.revoked" && e.data.token_id === id);
        feedDelays.push((event?.at ?? Number.NaN) - sent);
      }
    }
    for (const feed of feeds) feed.close();
    const figures = {
      trials: TRIALS,
      rejections_measured: rejectDelays.length,
      accepted_after_revoke: acceptedAfterRevoke,
      reject_p50_ms: round(percentile(rejectDelays, 50)),
      reject_p99_ms: round(percentile(rejectDelays, 99)),
      reject_max_ms: round(Math.max(...rejectDelays)),
      feed_p50_ms: round(percentile(feedDelays, 50)),
      feed_p99_ms: round(percentile(feedDelays, 99)),
      feed_max_ms: round(Math.max(...feedDelays)),
    };
    report("revocation", figures);
    expect(acceptedAfterRevoke).toBe(0);
    expect(figures.reject_p99_ms).toBeLessThanOrEqual(100);
    expect(figures.reject_max_ms).toBeLessThan(1000);
    expect(figures.feed_p99_ms).toBeLessThanOrEqual(1000);
  }, 300_000);

  it("2 nodes × 25 concurrent rotations of one token: one 201, 49 × 409, one successor (50 repetitions)", async () => {
    const REPS = 50;
    expect((await api(n3, "POST", "/v1/projects/default/service-accounts", { name: "rotatee" })).status).toBe(
      201,
    );
    const durations: number[] = [];
    for (let rep = 0; rep < REPS; rep++) {
      const created = await api(n3, "POST", "/v1/projects/default/service-accounts/rotatee/tokens", {
        name: `r-${rep}`,
      });
      const id = created.body.id;
      const started = performance.now();
      const results = await Promise.all(
        [n1, n2].flatMap((url) =>
          Array.from({ length: 25 }, () =>
            api(url, "POST", `/v1/tokens/${id}/rotate`, { previous_expires_in_seconds: 60 }),
          ),
        ),
      );
      durations.push(performance.now() - started);
      const won = results.filter((r) => r.status === 201);
      const lost = results.filter((r) => r.status === 409);
      expect(won, `repetition ${rep}`).toHaveLength(1);
      expect(lost, `repetition ${rep}: ${results.map((r) => r.status).join(",")}`).toHaveLength(49);
      for (const r of lost) expect(r.body.code).toBe("token_already_rotated");
      const successors = await cluster.db
        .selectFrom("tokens")
        .select("id")
        .where("rotated_from", "=", id)
        .execute();
      expect(successors.map((s) => s.id)).toEqual([won[0]?.body.id]);
    }
    report("rotation race", {
      repetitions: REPS,
      requests_per_repetition: 50,
      p50_ms: round(percentile(durations, 50)),
      max_ms: round(Math.max(...durations)),
    });
    const chain = await api(n2, "GET", "/v1/audit-events?verify=true");
    expect(chain.body.valid).toBe(true);
  }, 300_000);

  it("a key rotated on one node: every node's JWKS agrees within 1 s; tokens signed by the old key keep verifying", async () => {
    const jwks = async (url: string) =>
      ((await api(url, "GET", "/.well-known/jwks.json")).body.keys as { kid: string }[])
        .map((k) => k.kid)
        .sort();
    const oldKid = (await jwks(n1))[0];
    const jwtFormat = await api(n1, "POST", "/v1/projects/default/service-accounts/bootstrap/tokens", {
      name: "jwt-before-rotation",
      format: "jwt",
    });
    const shortLived = await api(
      n2,
      "POST",
      "/v1/projects/default/service-accounts/bootstrap/token-requests",
      {},
    );
    expect([jwtFormat.status, shortLived.status]).toEqual([201, 201]);
    expect(kidOf(jwtFormat.body.token)).toBe(oldKid);

    const started = performance.now();
    const rotated = await api(n3, "POST", "/v1/signing-keys/rotate");
    expect(rotated.status).toBe(201);
    const newKid = rotated.body.kid;
    let agreedAfter = Number.NaN;
    for (;;) {
      const sets = await Promise.all([n1, n2, n3].map(jwks));
      if (sets.every((s) => s.includes(newKid) && JSON.stringify(s) === JSON.stringify(sets[0]))) {
        agreedAfter = performance.now() - started;
        expect(sets[0]).toContain(oldKid); // still published: tokens it signed are still valid
        break;
      }
      if (performance.now() - started > 5000) throw new Error(`JWKS never agreed: ${JSON.stringify(sets)}`);
    }
    report("key rotation", { jwks_agree_after_ms: round(agreedAfter) });
    expect(agreedAfter).toBeLessThan(1000);

    for (const url of [n1, n2, n3]) {
      expect((await whoami(url, jwtFormat.body.token)).status).toBe(200);
      expect((await whoami(url, shortLived.body.token)).status).toBe(200);
    }
    // Every node now signs with the new key, and every node verifies what the others sign.
    for (const signer of [n1, n2]) {
      const fresh = await api(
        signer,
        "POST",
        "/v1/projects/default/service-accounts/bootstrap/token-requests",
        {},
      );
      expect(kidOf(fresh.body.token)).toBe(newKid);
      for (const url of [n1, n2, n3]) expect((await whoami(url, fresh.body.token)).status).toBe(200);
    }
  }, 120_000);
});
