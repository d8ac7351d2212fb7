import { readdirSync, readFileSync } from "node:fs";
import { Agent } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { http, type ServerProcess } from "../../helpers/process.ts";
import { type Deployment, startDeployment } from "../faults/backends.ts";
import { LONG, report, scaled, SKIP_WITHOUT_POSTGRES } from "../faults/mode.ts";
import {
  histogramBuckets,
  machineCpu,
  metric,
  openLoop,
  percentileOfSorted,
  send,
  startFloorServer,
} from "./load.ts";

/**
 * The soak: two server processes on one PostgreSQL under the mixed workload (90% verify, 9% issue,
 * 1% revoke), first as fast as they go (to measure capacity), then at 80% of it for a long while,
 * beside a floor (bare HTTP servers at the same rate) and capacity measured again at the end.
 * Nothing may fail, and neither the heap left after garbage collection nor the open file
 * descriptors may grow. Short form in `npm test` (about 55 s; only errors and unbounded descriptor
 * growth fail it), long form about 11 minutes (`npm run hardening:long`). docs/reliability.md
 * explains the figures.
 */
const CAPACITY_SECONDS = scaled(5, 20);
const SOAK_SECONDS = scaled(30, 600);
const SAMPLE_MS = scaled(2_000, 10_000);
/** How long the floor (bare HTTP servers) is driven at the soak's rate. */
const FLOOR_SECONDS = scaled(5, 30);
const LOAD_FRACTION = 0.8;
/** Clients at once while measuring capacity. */
const WORKERS = 32;
const VERIFY_TOKENS = scaled(100, 200);
/** Tokens issued up front for the revocations to take (the soak adds the ones it issues). */
const SPARE_TOKENS = scaled(40, 100);

type Op = "verify" | "issue" | "revoke";
const pick = (): Op => {
  const r = Math.random();
  return r < 0.9 ? "verify" : r < 0.99 ? "issue" : "revoke";
};

interface Sample {
  at: number;
  node: number;
  fds: number;
  metricFds: number | undefined;
  heapUsed: number | undefined;
  rss: number | undefined;
}

describe.skipIf(SKIP_WITHOUT_POSTGRES)("soak: mixed workload on two nodes and PostgreSQL", () => {
  let d: Deployment;
  let nodes: ServerProcess[];
  let operator: string;
  const pool: string[] = [];
  const revocable: string[] = [];
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });

  beforeAll(async () => {
    d = await startDeployment("postgres", { logLevel: "warn" });
    nodes = [d.server, await d.start()];
    const url = nodes[0]!.url;
    for (const [name, role] of [
      ["operator", "contributor"],
      ["load", "viewer"],
    ] as const) {
      const sa = await http(url, "POST", "/v1/projects/default/service-accounts", {
        token: d.admin,
        body: { name, role },
      });
      expect(sa.status, sa.text).toBe(201);
    }
    const op = await http(url, "POST", "/v1/projects/default/service-accounts/operator/tokens", {
      token: d.admin,
      body: { name: "operator" },
    });
    operator = op.body.token;
    for (let i = 0; i < VERIFY_TOKENS + SPARE_TOKENS; i++) {
      const res = await http(url, "POST", "/v1/projects/default/service-accounts/load/tokens", {
        token: operator,
        body: { name: `pool-${i}`, access: "read-only" },
      });
      expect(res.status, res.text).toBe(201);
      if (i < VERIFY_TOKENS) pool.push(res.body.token);
      else revocable.push(res.body.id);
    }
  }, 120_000);
  afterAll(async () => {
    agent.destroy();
    await d?.stop();
  });

  let sequence = 0;
  const errors: string[] = [];
  /** One operation of the mix against node `i % 2`; returns its latency in ms, or undefined on error. */
  async function operate(op: Op, scheduledAt = performance.now()): Promise<number | undefined> {
    const n = sequence++;
    const url = nodes[n % nodes.length]!.url;
    try {
      let res: { status: number; text: string };
      let expected: number;
      if (op === "verify") {
        res = await send(agent, url, "GET", "/v1/whoami", pool[n % pool.length]!);
        expected = 200;
      } else if (op === "issue") {
        res = await send(agent, url, "POST", "/v1/projects/default/service-accounts/load/tokens", operator, {
          name: `soak-${n}`,
          ttl_seconds: 3600,
        });
        expected = 201;
        if (res.status === 201) revocable.push((JSON.parse(res.text) as { id: string }).id);
      } else {
        const id = revocable.shift();
        if (id === undefined) throw new Error("nothing left to revoke");
        res = await send(agent, url, "DELETE", `/v1/tokens/${id}`, operator);
        expected = 204;
      }
      if (res.status !== expected) {
        errors.push(`${op} on node ${n % nodes.length}: ${res.status} ${res.text.slice(0, 200)}`);
        return undefined;
      }
      return performance.now() - scheduledAt;
    } catch (error) {
      errors.push(`${op}: ${(error as Error).message}`);
      return undefined;
    }
  }

  async function sampleNodes(started: number, into: Sample[]): Promise<void> {
    await Promise.all(
      nodes.map(async (node, i) => {
        const res = await send(agent, node.url, "GET", "/metrics", "");
        into.push({
          at: (performance.now() - started) / 1000,
          node: i,
          fds: readdirSync(`/proc/${node.pid}/fd`).length,
          metricFds: metric(res.text, "latchkey_process_open_fds"),
          heapUsed: metric(res.text, "latchkey_nodejs_heap_size_used_bytes"),
          rss: metric(res.text, "latchkey_process_resident_memory_bytes"),
        });
      }),
    );
  }

  /** Requests a second that WORKERS clients complete, each sending the next as the last answered. */
  async function measureCapacity(): Promise<number> {
    let completed = 0;
    const end = performance.now() + CAPACITY_SECONDS * 1000;
    await Promise.all(
      Array.from({ length: WORKERS }, async () => {
        while (performance.now() < end) {
          if ((await operate(pick())) !== undefined) completed += 1;
        }
      }),
    );
    return completed / CAPACITY_SECONDS;
  }

  /** Both nodes' request-duration histogram of `GET /v1/whoami`, summed: `le` (s) → count. */
  async function serverVerifyBuckets(): Promise<Map<number, number>> {
    const sum = new Map<number, number>();
    for (const node of nodes) {
      const res = await send(agent, node.url, "GET", "/metrics", "");
      const buckets = histogramBuckets(
        res.text,
        "latchkey_http_request_duration_seconds",
        'method="GET",route="/v1/whoami"',
      );
      for (const [le, n] of buckets) sum.set(le, (sum.get(le) ?? 0) + n);
    }
    return sum;
  }

  it(
    `${SOAK_SECONDS} s at ${LOAD_FRACTION * 100}% of measured capacity: no errors, heap and descriptors flat`,
    async () => {
      // 1. Capacity: WORKERS clients, each sending the next request as soon as the last one answered.
      const capacity = await measureCapacity();
      expect(errors.slice(0, 5)).toEqual([]);
      const rate = capacity * LOAD_FRACTION;

      // 2. The floor: two bare HTTP servers, driven by the same generator at the same rate, show
      //    what latency this machine and the generator add by themselves, in this same run.
      const whoami = await send(agent, nodes[0]!.url, "GET", "/v1/whoami", pool[0]!);
      const floors = await Promise.all([0, 1].map(() => startFloorServer(Buffer.byteLength(whoami.text))));
      const floorLatencies: number[] = [];
      let floorErrors = 0;
      try {
        let i = 0;
        await openLoop(rate, FLOOR_SECONDS, async (scheduledAt) => {
          const res = await send(agent, floors[i++ % floors.length]!.url, "GET", "/v1/whoami", pool[0]!);
          if (res.status === 200) floorLatencies.push(performance.now() - scheduledAt);
          else floorErrors += 1;
        });
      } finally {
        for (const floor of floors) floor.stop();
      }

      // 3. The soak, on the same schedule, with the nodes sampled as it runs. The nodes' own request
      //    durations (their /metrics histogram, from parsed request to response) are read before
      //    and after: latency inside the server, apart from the generator and the network.
      const serverBefore = await serverVerifyBuckets();
      const cpuBefore = machineCpu();
      const latencies: Record<Op, number[]> = { verify: [], issue: [], revoke: [] };
      /** Every latency with the second it was due at: whether latency tracks run time or machine load. */
      const timeline: [number, number][] = [];
      /** The machine's 1-minute load average at each sample (it is shared with other work). */
      const load: number[] = [];
      const samples: Sample[] = [];
      let nextSample = 0;
      let started = 0;
      const pending: Promise<void>[] = [];
      const { sent, maxInFlight } = await openLoop(
        rate,
        SOAK_SECONDS,
        async (scheduledAt) => {
          const op = pick();
          const ms = await operate(op, scheduledAt);
          if (ms === undefined) return;
          latencies[op].push(ms);
          timeline.push([(scheduledAt - started) / 1000, ms]);
        },
        (now, start) => {
          started = start;
          if (now < start + nextSample) return;
          nextSample += SAMPLE_MS;
          load.push(Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]));
          pending.push(
            sampleNodes(start, samples).catch((e: Error) => void errors.push(`metrics: ${e.message}`)),
          );
        },
      );
      await Promise.all(pending);
      await sampleNodes(started, samples);
      const serverAfter = await serverVerifyBuckets();
      const cpuAfter = machineCpu();
      // Capacity again, on the data the soak left (tokens, audit events, revocations): whether
      // 80% of the first measurement was still 80% at the end.
      const capacityEnd = await measureCapacity();

      // 4. Figures.
      const figures: Record<string, unknown> = {
        capacity_rps: Math.round(capacity),
        capacity_at_end_rps: Math.round(capacityEnd),
        target_rps: Math.round(rate),
        achieved_rps: Math.round(sent / SOAK_SECONDS),
        seconds: SOAK_SECONDS,
        requests: sent,
        errors: errors.length,
        error_kinds: errors.reduce<Record<string, number>>((kinds, e) => {
          const kind = e.split(" {")[0]!.slice(0, 80);
          kinds[kind] = (kinds[kind] ?? 0) + 1;
          return kinds;
        }, {}),
        max_in_flight: maxInFlight,
        // Of both cores, over the soak: the nodes, PostgreSQL and this generator share them.
        machine_cpu_busy_pct: Number(
          ((100 * (cpuAfter.busy - cpuBefore.busy)) / (cpuAfter.total - cpuBefore.total)).toFixed(1),
        ),
      };
      const floorSorted = floorLatencies.sort((a, b) => a - b);
      figures.floor_ms = {
        n: floorSorted.length,
        errors: floorErrors,
        p50: Number(percentileOfSorted(floorSorted, 50).toFixed(1)),
        p99: Number(percentileOfSorted(floorSorted, 99).toFixed(1)),
        max: Number(percentileOfSorted(floorSorted, 100).toFixed(1)),
      };
      // Inside the nodes: the share of verifications answered within 5 ms, and the histogram bucket
      // that holds their p99 (its upper bound).
      const served = [...serverAfter].map(([le, n]) => [le, n - (serverBefore.get(le) ?? 0)] as const);
      const total = served.at(-1)?.[1] ?? 0;
      figures.server_verify = {
        n: total,
        within_5ms_pct: Number(((100 * (served.find(([le]) => le === 0.005)?.[1] ?? 0)) / total).toFixed(2)),
        p99_at_most_ms: (served.find(([, n]) => n >= 0.99 * total)?.[0] ?? Number.NaN) * 1000,
      };
      for (const op of ["verify", "issue", "revoke"] as const) {
        const sorted = latencies[op].sort((a, b) => a - b);
        figures[`${op}_ms`] = {
          n: sorted.length,
          p50: Number(percentileOfSorted(sorted, 50).toFixed(1)),
          p99: Number(percentileOfSorted(sorted, 99).toFixed(1)),
          max: Number(percentileOfSorted(sorted, 100).toFixed(1)),
        };
      }
      const verifyP99 = (figures.verify_ms as { p99: number }).p99;
      figures.verify_p99_over_floor = Number(
        (verifyP99 / (figures.floor_ms as { p99: number }).p99).toFixed(1),
      );
      const all = Object.values(latencies)
        .flat()
        .sort((a, b) => a - b);
      figures.all_p99_ms = Number(percentileOfSorted(all, 99).toFixed(1));
      figures.p99_ms_by_quarter = [0, 1, 2, 3].map((q) => {
        const inQuarter = timeline
          .filter(([t]) => t >= (SOAK_SECONDS * q) / 4 && t < (SOAK_SECONDS * (q + 1)) / 4)
          .map(([, ms]) => ms)
          .sort((a, b) => a - b);
        return Number(percentileOfSorted(inQuarter, 99).toFixed(1));
      });
      figures.load_average_1m = {
        min: Math.min(...load),
        median: [...load].sort((a, b) => a - b)[Math.floor(load.length / 2)],
        max: Math.max(...load),
      };
      // "Heap after GC", measured from outside: the lowest heap in use in a stretch of samples is
      // what a collection left. Compared between the second quarter (after warm-up) and the last.
      const flat: string[] = [];
      for (let i = 0; i < nodes.length; i++) {
        const mine = samples.filter((s) => s.node === i);
        const quarter = (q: number) =>
          mine.filter((s) => s.at >= (SOAK_SECONDS * q) / 4 && s.at < (SOAK_SECONDS * (q + 1)) / 4 + 1);
        const low = (xs: Sample[], key: "heapUsed" | "fds" | "rss") =>
          Math.min(...xs.map((s) => s[key] ?? Number.POSITIVE_INFINITY));
        const high = (xs: Sample[], key: "fds") => Math.max(...xs.map((s) => s[key]));
        const heapEarly = low(quarter(1), "heapUsed");
        const heapLate = low(quarter(3), "heapUsed");
        const fdsEarly = high(quarter(1), "fds");
        const fdsLate = high(quarter(3), "fds");
        figures[`node${i + 1}`] = {
          heap_after_gc_mb: [heapEarly, heapLate].map((b) => Number((b / 2 ** 20).toFixed(1))),
          rss_mb: [low(quarter(1), "rss"), low(quarter(3), "rss")].map((b) => Math.round(b / 2 ** 20)),
          open_fds: [fdsEarly, fdsLate],
          samples: mine.length,
        };
        // Descriptors: a leak grows with requests; a bounded pool does not.
        if (fdsLate > fdsEarly + (LONG ? 16 : 64)) flat.push(`node ${i + 1}: fds ${fdsEarly} -> ${fdsLate}`);
        if (LONG && heapLate > heapEarly * 1.25 + 8 * 2 ** 20) {
          flat.push(`node ${i + 1}: heap after GC ${heapEarly} -> ${heapLate} bytes`);
        }
      }
      report("soak (two nodes + PostgreSQL)", figures);
      expect(errors.slice(0, 10)).toEqual([]);
      expect(flat).toEqual([]);
    },
    (SOAK_SECONDS + 2 * CAPACITY_SECONDS + FLOOR_SECONDS + 120) * 1000,
  );
});
