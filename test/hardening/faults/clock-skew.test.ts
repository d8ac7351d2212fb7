import { existsSync } from "node:fs";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { http, type ServerProcess } from "../../helpers/process.ts";
import { type Deployment, startDeployment } from "./backends.ts";
import { report, SKIP_WITHOUT_POSTGRES } from "./mode.ts";

/**
 * Two nodes on one PostgreSQL, one of them with its system clock 120 s ahead or behind (libfaketime,
 * the clock every time call of the process reads). Every deadline must come from one clock, the
 * database's: creation and expiry times, rotation grace deadlines, immediate retirement, audit times.
 */
const LIBFAKETIME = [
  "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
  "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
  "/usr/lib/faketime/libfaketime.so.1",
].find((path) => existsSync(path));
/** How far apart two clocks may read and still count as one: a request's round trip, generously. */
const TOLERANCE_MS = 5_000;

const ms = (iso: string) => new Date(iso).getTime();

describe.skipIf(SKIP_WITHOUT_POSTGRES).each([120, -120])("clock skew of %i s on one node", (skew) => {
  let d: Deployment;
  let steady: ServerProcess;
  let skewed: ServerProcess;
  const dbNow = async () =>
    (await sql<{ now: Date }>`select clock_timestamp() as now`.execute(d.db)).rows[0]!.now.getTime();

  beforeAll(async () => {
    if (!LIBFAKETIME) throw new Error("libfaketime is missing: apt-get install faketime (.ci/run does)");
    d = await startDeployment("postgres");
    steady = d.server;
    skewed = await d.start({
      env: {
        LD_PRELOAD: LIBFAKETIME,
        FAKETIME: `${skew >= 0 ? "+" : ""}${skew}s`,
        // Timers and the event loop keep real time; only the wall clock is off.
        DONT_FAKE_MONOTONIC: "1",
        FAKETIME_DONT_RESET: "1",
      },
    });
    const sa = await http(steady.url, "POST", "/v1/projects/default/service-accounts", {
      token: d.admin,
      body: { name: "skew", role: "contributor" },
    });
    expect(sa.status, sa.text).toBe(201);
  }, 60_000);
  afterAll(async () => d?.stop());

  const issue = async (node: ServerProcess, name: string, ttl = 3600) => {
    const res = await http(node.url, "POST", "/v1/projects/default/service-accounts/skew/tokens", {
      token: d.admin,
      body: { name, ttl_seconds: ttl },
    });
    expect(res.status, res.text).toBe(201);
    return res.body as { id: string; token: string; created_at: string; expires_at: string };
  };
  const whoami = async (node: ServerProcess, token: string) =>
    (await http(node.url, "GET", "/v1/whoami", { token })).status;

  it("the skewed node's own clock really is off", async () => {
    const a = await http(steady.url, "GET", "/healthz");
    const b = await http(skewed.url, "GET", "/healthz");
    const apart = ms(b.headers.get("date")!) - ms(a.headers.get("date")!);
    expect(Math.abs(apart - skew * 1000)).toBeLessThan(TOLERANCE_MS);
  });

  it("creation and expiry times come from the database's clock on both nodes", async () => {
    for (const node of [steady, skewed]) {
      const before = await dbNow();
      const token = await issue(node, `made-${node.port}`, 600);
      const after = await dbNow();
      expect(ms(token.created_at)).toBeGreaterThanOrEqual(before - TOLERANCE_MS);
      expect(ms(token.created_at)).toBeLessThanOrEqual(after + TOLERANCE_MS);
      expect(ms(token.expires_at) - ms(token.created_at)).toBe(600_000);
    }
  });

  it("a rotation grace deadline set on either node is the same instant, and holds on both", async () => {
    for (const [by, other] of [
      [skewed, steady],
      [steady, skewed],
    ] as const) {
      const previous = await issue(steady, `grace-${by.port}`);
      const before = await dbNow();
      const rotated = await http(by.url, "POST", `/v1/tokens/${previous.id}/rotate`, {
        token: d.admin,
        body: { previous_expires_in_seconds: 60 },
      });
      expect(rotated.status, rotated.text).toBe(201);
      const deadline = ms(rotated.body.previous.expires_at);
      expect(Math.abs(deadline - (before + 60_000))).toBeLessThan(TOLERANCE_MS);
      // Inside its grace period the previous token works everywhere.
      expect(await whoami(by, previous.token)).toBe(200);
      expect(await whoami(other, previous.token)).toBe(200);
    }
  });

  it("a token retired immediately on either node is refused at once by both", async () => {
    for (const [by, other] of [
      [skewed, steady],
      [steady, skewed],
    ] as const) {
      const previous = await issue(steady, `retire-${by.port}`);
      const rotated = await http(by.url, "POST", `/v1/tokens/${previous.id}/rotate`, { token: d.admin });
      expect(rotated.status, rotated.text).toBe(201);
      expect(await whoami(by, previous.token)).toBe(401);
      expect(await whoami(other, previous.token)).toBe(401);
      expect(await whoami(other, rotated.body.token)).toBe(200);
    }
  });

  it("audit events from both nodes are stamped by one clock", async () => {
    const before = await dbNow();
    await issue(skewed, "audited-skewed");
    await issue(steady, "audited-steady");
    const after = await dbNow();
    const events = await http(steady.url, "GET", "/v1/audit-events?action=token.create&limit=500", {
      token: d.admin,
    });
    expect(events.status, events.text).toBe(200);
    const times = (events.body.items as { time: string; target: { name: string } }[])
      .filter((e) => e.target.name.startsWith("audited-"))
      .map((e) => ms(e.time));
    expect(times).toHaveLength(2);
    for (const t of times) {
      expect(t).toBeGreaterThanOrEqual(before - TOLERANCE_MS);
      expect(t).toBeLessThanOrEqual(after + TOLERANCE_MS);
    }
    report(`clock skew ${skew > 0 ? "+" : ""}${skew} s`, {
      deadlines_from: "the database clock",
      tolerance_ms: TOLERANCE_MS,
    });
  });
});
