/**
 * Latchkey benchmarks (issue 8): floors, a peer, and Latchkey on SQLite and PostgreSQL, in one run.
 *
 * Every server runs pinned to core 0 (`taskset -c 0`; PostgreSQL's backends for the benchmark
 * database are pinned there too), wrk runs pinned to core 1 with one thread per connection, so each
 * response is paired with its request and every answer is checked by the Lua scripts in bench/lua.
 * Each workload gets a warm-up, then all workloads run `rounds` times interleaved; the report gives
 * medians. Server CPU per request comes from /proc/<pid>/stat (utime + stime) around each run.
 *
 *   npm run bench                      full run (1,000,000 tokens per store, 3 × 8 s per workload)
 *   npm run bench -- --smoke           seconds: tiny seed, one short round, no thresholds
 *   npm run bench -- --only issue-opaque,list --tokens 200000 --duration 5
 *   npm run bench -- --profile         also writes .cpuprofile files of the Latchkey servers
 *
 * Results: bench/results/latest.json (smoke: bench/results/smoke.json); the full run also writes
 * docs/benchmarks.md and docs/images/benchmarks.svg (bench/report.ts). Exit status 1 when anything
 * errored or answered wrong (targets missed do not fail the run; the report says so).
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { CompiledQuery } from "kysely";
import { type Db, openStore } from "../src/db/database.ts";
import { compileAccountTokens } from "../src/tokens/list-query.ts";
import { encodeCursor } from "../src/lib/cursor.ts";
import { BOOTSTRAP_TOKEN_FILE } from "../src/server/bootstrap.ts";
import { SQLITE_FILE } from "../src/db/url.ts";
import { redactTokenLookalikes } from "../src/tokens/format.ts";
import { PEER_CLIENT } from "./peer-config.ts";
import { type SeedResult, seedTokens } from "./seed.ts";
import { formatFiles, writeReport } from "./report.ts";
import type { Results, RunResult, StoreInfo, WorkloadResult } from "./results.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const LUA = join(ROOT, "bench", "lua");
const PG_ADMIN_URL = process.env.LATCHKEY_BENCH_PG_URL ?? "postgres://latchkey:latchkey@127.0.0.1:5432";
const PG_DATABASE = "latchkey_bench";
const AUDIENCE = "urn:bench:api";

const { values: flags } = parseArgs({
  options: {
    smoke: { type: "boolean", default: false },
    only: { type: "string" },
    tokens: { type: "string" },
    duration: { type: "string" },
    rounds: { type: "string" },
    warmup: { type: "string" },
    connections: { type: "string" },
    stores: { type: "string" },
    profile: { type: "boolean", default: false },
    out: { type: "string" },
    "no-doc": { type: "boolean", default: false },
  },
});
const smoke = flags.smoke ?? false;
const config = {
  smoke,
  tokens: Number(flags.tokens ?? (smoke ? 4_000 : 1_000_000)),
  duration: Number(flags.duration ?? (smoke ? 1 : 8)),
  rounds: Number(flags.rounds ?? (smoke ? 1 : 3)),
  warmup: Number(flags.warmup ?? (smoke ? 0 : 3)),
  connections: Number(flags.connections ?? (smoke ? 4 : 50)),
  stores: (flags.stores ?? "sqlite,postgres").split(",") as ("sqlite" | "postgres")[],
  only: flags.only ? new Set(flags.only.split(",")) : undefined,
  profile: flags.profile ?? false,
};
const outFile = flags.out ?? join(ROOT, "bench", "results", smoke ? "smoke.json" : "latest.json");
const writeDoc = !smoke && !flags["no-doc"] && config.only === undefined;
const workDir = mkdtempSync(join(tmpdir(), "latchkey-bench-"));
/** Progress on stderr; anything token-shaped is cut out first (server output holds the bootstrap token). */
const log = (message: string) =>
  process.stderr.write(
    `[bench ${new Date().toISOString().slice(11, 19)}] ${redactTokenLookalikes(message)}\n`,
  );

/** Whether a workload of Latchkey is selected (by name or by system) — sizes the seed. */
const wanted = (name: string) =>
  !config.only || config.only.has(name) || [...config.only].some((o) => o.startsWith("latchkey"));

// ---------------------------------------------------------------------------------------------
// Processes

interface Server {
  name: string;
  child: ChildProcess;
  pid: number;
  url: string;
  output: string[];
}
const servers: Server[] = [];

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

async function startServer(
  name: string,
  nodeArgs: string[],
  env: NodeJS.ProcessEnv,
  port: number,
  readyPath: string,
): Promise<Server> {
  const child = spawn("taskset", ["-c", "0", process.execPath, ...nodeArgs], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    output.push(chunk.toString());
    if (output.length > 200) output.shift();
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited: ${output.join("")}`);
    try {
      const response = await fetch(url + readyPath);
      await response.arrayBuffer();
      if (response.status < 500) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${name} did not start: ${output.join("")}`);
    await sleep(100);
  }
  if (!child.pid) throw new Error(`${name} has no pid`);
  const server = { name, child, pid: child.pid, url, output };
  servers.push(server);
  return server;
}

async function stopServer(server: Server): Promise<void> {
  if (server.child.exitCode !== null) return;
  const exited = new Promise((resolve) => server.child.once("exit", resolve));
  server.child.kill("SIGTERM");
  await Promise.race([exited, sleep(15_000)]);
  if (server.child.exitCode === null) server.child.kill("SIGKILL");
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** utime + stime of a process, in seconds. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // After the command: state is field 3, utime 14 and stime 15 (1-based, whole line).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

// ---------------------------------------------------------------------------------------------
// HTTP helpers for setting things up

async function call(
  base: string,
  method: string,
  path: string,
  auth: string,
  body?: unknown,
): Promise<Record<string, unknown>> {
  const response = await fetch(base + path, {
    method,
    headers: { authorization: auth, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status >= 300)
    throw new Error(`${method} ${path}: ${response.status} ${redactTokenLookalikes(text)}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

function jwtClaims(jwt: string): { jti: string; sub: string } {
  return JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString()) as {
    jti: string;
    sub: string;
  };
}

// ---------------------------------------------------------------------------------------------
// Latchkey under test

interface Target {
  store: "sqlite" | "postgres";
  server: Server;
  auth: string;
  clientId: string;
  poolFile: string;
  jwtPoolFile: string;
  jwtPool: { jwt: string; jti: string; sub: string }[];
  revocable: string[];
  mixRevocable: string[];
  revocableUsed: number;
  mixUsed: number;
  sdkRevocable: string[];
  listTotal: number;
  info: StoreInfo;
  pgBackendPids: () => number[];
}

function recreatePgDatabase(): void {
  const psql = (sql: string) =>
    execFileSync("runuser", ["-u", "postgres", "--", "psql", "-qtAc", sql], {
      stdio: ["ignore", "pipe", "pipe"],
    });
  psql(`DROP DATABASE IF EXISTS ${PG_DATABASE} WITH (FORCE)`);
  psql(`CREATE DATABASE ${PG_DATABASE} OWNER latchkey`);
}

async function startLatchkey(store: "sqlite" | "postgres"): Promise<Target> {
  const dataDir = join(workDir, `latchkey-${store}`);
  mkdirSync(dataDir);
  let databaseUrl: string | undefined;
  if (store === "postgres") {
    recreatePgDatabase();
    databaseUrl = `${PG_ADMIN_URL}/${PG_DATABASE}`;
  }
  const port = await freePort();
  const profileArgs = config.profile
    ? ["--cpu-prof", `--cpu-prof-dir=${join(ROOT, "bench", "results", "profiles", store)}`]
    : [];
  // Set up over the API, stop, seed the store directly, start again: the measured server starts on a
  // store that already holds every row, as a server restarted in production would.
  const start = (args: string[]) =>
    startServer(
      `latchkey-${store}`,
      [...args, "bin/latchkey.js", "server"],
      {
        LATCHKEY_LISTEN: `127.0.0.1:${port}`,
        LATCHKEY_DATA_DIR: dataDir,
        LATCHKEY_DATABASE_URL: databaseUrl ?? "",
        LATCHKEY_LOG_LEVEL: "warn",
        // All load comes from one address; real failures come from many. 5% of the pool is refused.
        LATCHKEY_FAILED_AUTH_LIMIT: "999999999/60s",
      },
      port,
      "/healthz",
    );
  const setupServer = await start([]);
  const base = setupServer.url;
  const bootstrap = `Bearer ${readFileSync(join(dataDir, BOOTSTRAP_TOKEN_FILE), "utf8").trim()}`;
  await call(base, "POST", "/v1/projects", bootstrap, { name: "bench", description: "benchmarks" });
  const sa = (name: string, role: string) =>
    call(base, "POST", "/v1/projects/bench/service-accounts", bootstrap, {
      name,
      role,
      description: "bench",
    });
  const client = await sa("client", "admin");
  const list = await sa("list", "viewer");
  await sa("issue", "viewer");
  const fillers: string[] = [];
  for (let i = 0; i < 100; i++)
    fillers.push((await sa(`filler-${String(i).padStart(3, "0")}`, "viewer")).id as string);
  const issued = await call(base, "POST", "/v1/projects/bench/service-accounts/client/tokens", bootstrap, {
    name: "bench-caller",
    access: "read-write",
  });
  const auth = `Bearer ${issued.token as string}`;
  await stopServer(setupServer);
  servers.splice(servers.indexOf(setupServer), 1);

  // The store, opened beside the server as a second client, for the seed and for EXPLAIN.
  const opened = await openStore({ databaseUrl, dataDir });
  if (store === "sqlite") {
    // The seed's own connection: a big page cache, or a million random digest-index inserts thrash.
    await opened.db.executeQuery(rawQuery("PRAGMA cache_size = -524288"));
  }
  const plan = {
    total: config.tokens,
    listTokens: Math.min(10_000, Math.floor(config.tokens / 10)),
    pool: Math.min(10_000, Math.floor(config.tokens / 10)),
    revocable: wanted("revoke-then-verify")
      ? config.connections * Math.ceil(config.duration * 40) * (config.rounds + 1)
      : 0,
    mixRevocable: wanted("mixed")
      ? config.connections * Math.ceil(config.duration * 3) * (config.rounds + 1)
      : 0,
  };
  log(`${store}: seeding ${config.tokens.toLocaleString("en")} tokens`);
  const seed: SeedResult = await seedTokens(
    opened.db,
    store,
    { client: client.id as string, list: list.id as string, fillers },
    plan,
  );
  log(`${store}: seeded ${seed.rows.toLocaleString("en")} rows in ${seed.seconds.toFixed(1)} s`);
  await opened.db.executeQuery(rawQuery("ANALYZE"));
  if (store === "sqlite") await opened.db.executeQuery(rawQuery("PRAGMA wal_checkpoint(TRUNCATE)"));

  const poolFile = join(workDir, `${store}-pool.txt`);
  writeFileSync(poolFile, seed.pool.map((p) => `${p.secret} ${p.id ?? "-"}`).join("\n") + "\n");

  const info: StoreInfo = {
    store,
    tokens: seed.rows,
    seed_seconds: seed.seconds,
    list_tokens: plan.listTokens,
    pool: { size: seed.pool.length, ...countKinds(seed) },
    explain: await explainList(opened.db, store, list.id as string, plan.listTokens),
    durability: await durability(opened.db, store),
  };
  log(`${store}: list plan ${info.explain.verdict}: ${info.explain.plan.split("\n")[0]}`);

  await opened.close();
  const server = await start(profileArgs);
  // JWTs: JWT-format tokens (a row each) and token requests (no row), all for the bench audience.
  const jwtPool: Target["jwtPool"] = [];
  const jwtCount = smoke ? 10 : 100;
  for (let i = 0; i < jwtCount; i++) {
    const t = await call(base, "POST", "/v1/projects/bench/service-accounts/client/tokens", auth, {
      name: `jwt-${i}`,
      format: "jwt",
      audiences: [AUDIENCE],
    });
    const r = await call(base, "POST", "/v1/projects/bench/service-accounts/client/token-requests", auth, {
      audiences: [AUDIENCE],
    });
    for (const jwt of [t.token as string, r.token as string]) jwtPool.push({ jwt, ...jwtClaims(jwt) });
  }
  const jwtPoolFile = join(workDir, `${store}-jwt-pool.txt`);
  writeFileSync(jwtPoolFile, jwtPool.map((p) => `${p.jwt} ${p.jti}`).join("\n") + "\n");
  const sdkRevocable: string[] = [];
  for (let i = 0; i < (smoke ? 2 : 10) * (config.rounds + 1); i++) {
    const t = await call(base, "POST", "/v1/projects/bench/service-accounts/client/tokens", auth, {
      name: `sdk-revocable-${i}`,
      format: "jwt",
      audiences: [AUDIENCE],
    });
    sdkRevocable.push(t.token as string);
  }

  const pgBackendPids = () => {
    if (store !== "postgres") return [];
    const out = execFileSync(
      "runuser",
      [
        "-u",
        "postgres",
        "--",
        "psql",
        "-qtAc",
        `SELECT pid FROM pg_stat_activity WHERE datname = '${PG_DATABASE}' AND application_name = 'latchkey'`,
      ],
      { encoding: "utf8" },
    );
    return out.split("\n").filter(Boolean).map(Number);
  };
  return {
    store,
    server,
    auth,
    clientId: client.id as string,
    poolFile,
    jwtPoolFile,
    jwtPool,
    revocable: seed.revocable,
    mixRevocable: seed.mixRevocable,
    revocableUsed: 0,
    mixUsed: 0,
    sdkRevocable,
    listTotal: plan.listTokens,
    info,
    pgBackendPids,
  };
}

function countKinds(seed: SeedResult): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const p of seed.pool) counts[p.kind] = (counts[p.kind] ?? 0) + 1;
  return counts;
}

function rawQuery(text: string, parameters: readonly unknown[] = []) {
  return CompiledQuery.raw(text, [...parameters]);
}

/** The plan of a mid-walk page of the list query, built as TokenService.list builds it. */
async function explainList(
  db: Db,
  store: "sqlite" | "postgres",
  saId: string,
  listTokens: number,
): Promise<StoreInfo["explain"]> {
  const first = await db
    .selectFrom("tokens")
    .select(["created_at", "id"])
    .where("service_account_id", "=", saId)
    .orderBy("created_at")
    .orderBy("id")
    .offset(Math.floor(listTokens / 2))
    .limit(1)
    .executeTakeFirst();
  if (!first) throw new Error("the list account has no tokens to explain a page of");
  const c = { c: first.created_at, i: first.id };
  // The query TokenService.list runs for a page of 50 after a cursor.
  const compiled = compileAccountTokens(db, {
    serviceAccountId: saId,
    now: new Date().toISOString(),
    after: { createdAt: c.c, id: c.i },
    rows: 51,
  });
  const prefix = store === "sqlite" ? "EXPLAIN QUERY PLAN " : "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ";
  const { rows } = await db.executeQuery(rawQuery(prefix + compiled.sql, compiled.parameters));
  const plan =
    store === "sqlite"
      ? (rows as { detail: string }[]).map((r) => r.detail).join("\n")
      : (rows as Record<string, string>[]).map((r) => r["QUERY PLAN"]).join("\n");
  const tokensLine = store === "sqlite" ? (plan.split("\n").find((l) => /\btokens\b/.test(l)) ?? "") : plan;
  const byIndex =
    store === "sqlite"
      ? /USING (COVERING )?INDEX tokens_by_service_account/.test(tokensLine)
      : /Index (Only )?Scan using tokens_by_service_account/.test(plan);
  // The cursor must be part of the index condition (a seek), not a filter on a walk from the start.
  const seeks =
    store === "sqlite"
      ? /service_account_id=\? AND \(created_at,id\)>\(\?,\?\)/.test(tokensLine)
      : /Index Cond: .*ROW\(created_at, id\) >/.test(plan);
  const sorts = store === "sqlite" ? /TEMP B-TREE/.test(plan) : /\bSort\b/.test(plan);
  const seqScan = store === "sqlite" ? /SCAN tokens\b(?! USING)/.test(plan) : /Seq Scan on tokens/.test(plan);
  const indexOnly = store === "sqlite" ? /COVERING INDEX tokens_by/.test(plan) : /Index Only Scan/.test(plan);
  const driven = byIndex && seeks && !sorts && !seqScan;
  return {
    sql: compiled.sql,
    cursor: encodeCursor(c),
    plan,
    index_driven: driven,
    index_only: indexOnly,
    verdict: driven
      ? indexOnly
        ? "index-only seek"
        : "index seek on (service_account_id, created_at, id), no sort; rows fetched from the table"
      : "NOT an index seek on the cursor",
  };
}

async function durability(db: Db, store: "sqlite" | "postgres"): Promise<string> {
  if (store === "sqlite") {
    const mode = await db.executeQuery(rawQuery("PRAGMA journal_mode"));
    return `journal_mode=${JSON.stringify(mode.rows[0])}, synchronous as set by src/db/sqlite.ts`;
  }
  const sync = await db.executeQuery(rawQuery("SHOW synchronous_commit"));
  const fsync = await db.executeQuery(rawQuery("SHOW fsync"));
  return `synchronous_commit=${Object.values(sync.rows[0] as object)[0]}, fsync=${Object.values(fsync.rows[0] as object)[0]}`;
}

// ---------------------------------------------------------------------------------------------
// Workloads

interface Workload {
  name: string;
  /** What it is compared with, and the target where the issue sets one. */
  system: "floor" | "peer" | "latchkey-sqlite" | "latchkey-postgres" | "in-process";
  description: string;
  run: (round: number, seconds: number) => Promise<RunResult>;
}

function wrk(
  server: Server,
  script: string,
  env: Record<string, string>,
  seconds: number,
  extraPids: () => number[] = () => [],
  connections = config.connections,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const c = connections;
    const pids = [server.pid, ...extraPids()];
    for (const pid of pids.slice(1)) {
      try {
        execFileSync("taskset", ["-pc", "0", String(pid)], { stdio: "ignore" });
      } catch {
        // a backend that just went away
      }
    }
    const cpuBefore = pids.map(cpuSeconds);
    const load = loadavg()[0] ?? 0;
    const child = spawn(
      "taskset",
      [
        "-c",
        "1",
        "wrk",
        "-t",
        String(c),
        "-c",
        String(c),
        "-d",
        `${seconds}s`,
        "--timeout",
        "10s",
        "-s",
        join(LUA, script),
        server.url,
      ],
      {
        env: { ...process.env, ...env, BENCH_LUA_DIR: LUA, BENCH_THREADS: String(c) },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("exit", (code) => {
      const line = out.split("\n").find((l) => l.startsWith("BENCH_JSON "));
      if (code !== 0 || !line) {
        reject(new Error(`wrk ${script} failed (${code}): ${redactTokenLookalikes(err + out)}`));
        return;
      }
      const w = JSON.parse(line.slice("BENCH_JSON ".length)) as {
        requests: number;
        duration_us: number;
        p50_us: number;
        p99_us: number;
        max_us: number;
        errors: Record<string, number>;
        wrong: number;
        checked: number;
        stale: number;
        exhausted: number;
        first_wrong: string;
      };
      const cpu = pids.map((pid, i) => cpuSeconds(pid) - (cpuBefore[i] ?? 0));
      const seconds = w.duration_us / 1e6;
      // Status errors are judged by the scripts (a 401 can be the right answer); these are transport.
      const errors =
        (w.errors.connect ?? 0) + (w.errors.read ?? 0) + (w.errors.write ?? 0) + (w.errors.timeout ?? 0);
      resolve({
        rps: w.requests / seconds,
        requests: w.requests,
        seconds,
        p50_ms: w.p50_us / 1000,
        p99_ms: w.p99_us / 1000,
        max_ms: w.max_us / 1000,
        cpu_us_per_request: ((cpu[0] ?? 0) * 1e6) / Math.max(1, w.requests),
        db_cpu_us_per_request:
          pids.length > 1 ? (cpu.slice(1).reduce((a, b) => a + b, 0) * 1e6) / Math.max(1, w.requests) : null,
        rss_mib: rssMiB(server.pid),
        errors,
        unanswered: w.requests - w.checked - w.wrong,
        wrong: w.wrong,
        stale: w.stale,
        exhausted: w.exhausted,
        first_wrong: w.first_wrong || null,
        loadavg: load,
      });
    });
  });
}

function inproc(mode: string, seconds: number, options: unknown = {}): RunResult {
  // Options (secrets among them) go through a file, never the command line.
  const optionsFile = join(workDir, `inproc-${mode}.json`);
  writeFileSync(optionsFile, JSON.stringify(options), { mode: 0o600 });
  let out: string;
  try {
    out = execFileSync(
      "taskset",
      [
        "-c",
        "1",
        process.execPath,
        "--import",
        "tsx",
        join(ROOT, "bench", "inproc.ts"),
        mode,
        String(seconds),
        optionsFile,
      ],
      { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 * 1024 * 1024 },
    );
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? "");
    throw new Error(`inproc ${mode} failed: ${redactTokenLookalikes(stderr).slice(-2000)}`);
  }
  const line = out.split("\n").find((l) => l.startsWith("BENCH_JSON "));
  if (!line) throw new Error(`inproc ${mode}: no result`);
  const r = JSON.parse(line.slice("BENCH_JSON ".length)) as {
    ops: number;
    seconds: number;
    wrong: number;
    revocation_lag_ms?: RunResult["revocation_lag_ms"];
  };
  return {
    rps: r.ops / r.seconds,
    requests: r.ops,
    seconds: r.seconds,
    p50_ms: null,
    p99_ms: null,
    max_ms: null,
    cpu_us_per_request: 1e6 / (r.ops / r.seconds),
    db_cpu_us_per_request: null,
    rss_mib: null,
    errors: 0,
    unanswered: 0,
    wrong: r.wrong,
    stale: r.revocation_lag_ms?.still_accepted_after_2s ?? 0,
    exhausted: 0,
    first_wrong: null,
    loadavg: loadavg()[0] ?? 0,
    ...(r.revocation_lag_ms ? { revocation_lag_ms: r.revocation_lag_ms } : {}),
  };
}

/** A file holding the next `count` unused secrets of a list (revocations use each token once). */
function take(target: Target, which: "revocable" | "mixRevocable", perThread: number, run: string): string {
  const list = target[which];
  const usedKey = which === "revocable" ? "revocableUsed" : "mixUsed";
  const count = Math.min(perThread * config.connections, list.length - target[usedKey]);
  const slice = list.slice(target[usedKey], target[usedKey] + count);
  target[usedKey] += count;
  const file = join(workDir, `${target.store}-${which}-${run}.txt`);
  writeFileSync(file, slice.join("\n") + "\n");
  return file;
}

function latchkeyWorkloads(t: Target): Workload[] {
  const system = `latchkey-${t.store}` as const;
  const w = (script: string, env: Record<string, string>, seconds: number, connections?: number) =>
    wrk(t.server, script, env, seconds, t.pgBackendPids, connections);
  let runs = 0;
  return [
    {
      name: "issue-opaque",
      system,
      description:
        "POST /v1/projects/bench/service-accounts/issue/tokens: a new opaque token, its audit event, committed",
      run: (_r, s) =>
        w(
          "issue.lua",
          {
            BENCH_KIND: "opaque",
            BENCH_PATH: "/v1/projects/bench/service-accounts/issue/tokens",
            BENCH_AUTH: t.auth,
            BENCH_RUN: String(++runs),
          },
          s,
        ),
    },
    {
      name: "issue-jwt",
      system,
      description: "POST .../service-accounts/client/token-requests: a short-lived ES256 JWT, audited",
      run: (_r, s) =>
        w(
          "issue.lua",
          {
            BENCH_KIND: "jwt",
            BENCH_PATH: "/v1/projects/bench/service-accounts/client/token-requests",
            BENCH_AUTH: t.auth,
            BENCH_RUN: String(++runs),
          },
          s,
        ),
    },
    {
      name: "verify-opaque-introspect",
      system,
      description:
        "POST /oauth2/introspect over the pool (90% valid, 5% unknown, 5% revoked/expired), every answer checked",
      run: (_r, s) =>
        w(
          "introspect.lua",
          { BENCH_POOL: t.poolFile, BENCH_PATH: "/oauth2/introspect", BENCH_AUTH: t.auth },
          s,
        ),
    },
    {
      name: "verify-opaque-check",
      system,
      description:
        "GET /v1/auth/check with each pool token as the bearer (200 with the right token id, or 401)",
      run: (_r, s) => w("auth-check.lua", { BENCH_POOL: t.poolFile }, s),
    },
    {
      name: "verify-jwt",
      system,
      description: "POST /oauth2/introspect of JWTs (JWT-format tokens and token requests), online",
      run: (_r, s) =>
        w(
          "introspect.lua",
          { BENCH_POOL: t.jwtPoolFile, BENCH_PATH: "/oauth2/introspect", BENCH_AUTH: t.auth },
          s,
        ),
    },
    {
      name: "revoke-then-verify",
      system,
      description:
        "introspect (active) → revoke (RFC 7009) → introspect at once (must be inactive); requests/s of all three",
      run: (_r, s) => {
        const run = String(++runs);
        return w(
          "revoke-verify.lua",
          { BENCH_POOL: take(t, "revocable", Math.ceil(s * 40), run), BENCH_AUTH: t.auth },
          s,
        );
      },
    },
    {
      name: "list",
      system,
      description: `GET .../service-accounts/list/tokens?limit=50 (the default page) walked by cursor over its ${t.listTotal.toLocaleString("en")} tokens`,
      run: (_r, s) =>
        w(
          "list.lua",
          {
            BENCH_PATH: "/v1/projects/bench/service-accounts/list/tokens",
            BENCH_AUTH: t.auth,
            BENCH_LIMIT: "50",
            BENCH_TOTAL: String(t.listTotal),
          },
          s,
        ),
    },
    {
      name: "list-1conn",
      system,
      description:
        "the same walk over one connection: the latency of a page without queueing behind 49 others",
      run: (_r, s) =>
        w(
          "list.lua",
          {
            BENCH_PATH: "/v1/projects/bench/service-accounts/list/tokens",
            BENCH_AUTH: t.auth,
            BENCH_LIMIT: "50",
            BENCH_TOTAL: String(t.listTotal),
          },
          s,
          1,
        ),
    },
    {
      name: "mixed",
      system,
      description: "90% introspect (pool, checked) / 9% issue opaque / 1% revoke",
      run: (_r, s) => {
        const run = String(++runs);
        return w(
          "mixed.lua",
          {
            BENCH_POOL: t.poolFile,
            BENCH_REVOCABLE: take(t, "mixRevocable", Math.ceil(s * 3), run),
            BENCH_AUTH: t.auth,
            BENCH_ISSUE_PATH: "/v1/projects/bench/service-accounts/issue/tokens",
            BENCH_RUN: run,
          },
          s,
        );
      },
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<number> {
  if (cpus().length < 2) log("fewer than 2 cores: servers and load generator will share one");
  const started = new Date();
  const loadBefore = loadavg();
  log(`work dir ${workDir}; ${JSON.stringify(config)}`);
  // Latchkey runs as users run it: from the bundle in dist/, rebuilt from the sources of this checkout.
  execFileSync(process.execPath, [join(ROOT, "bin", "build.js")], { stdio: "inherit" });

  const floorPort = await freePort();
  const floor = await startServer(
    "floor",
    ["--import", "tsx", "bench/floor-server.ts"],
    {},
    floorPort,
    "/floor",
  );
  const peerPort = await freePort();
  const peer = await startServer(
    "peer",
    ["--import", "tsx", "bench/peer-server.ts"],
    {},
    peerPort,
    "/.well-known/openid-configuration",
  );
  const basic = `Basic ${Buffer.from(`${PEER_CLIENT.id}:${PEER_CLIENT.secret}`).toString("base64")}`;

  const targets: Target[] = [];
  for (const store of config.stores) targets.push(await startLatchkey(store));

  const peerPoolFile = join(workDir, "peer-pool.txt");
  const workloads: Workload[] = [
    {
      name: "floor-get",
      system: "floor",
      description: "bare Fastify GET returning a small JSON object",
      run: (_r, s) => wrk(floor, "floor.lua", { BENCH_METHOD: "GET" }, s),
    },
    {
      name: "floor-post",
      system: "floor",
      description: "bare Fastify POST of a small JSON body, echoed back",
      run: (_r, s) => wrk(floor, "floor.lua", { BENCH_METHOD: "POST" }, s),
    },
    {
      name: "es256-sign",
      system: "in-process",
      description: "jose CompactSign ES256 of a JWT payload, one core",
      run: (_r, s) => Promise.resolve(inproc("es256-sign", s)),
    },
    {
      name: "es256-verify",
      system: "in-process",
      description: "node:crypto one-shot ES256 verify of a JWS signature (key imported once), one core",
      run: (_r, s) => Promise.resolve(inproc("es256-verify", s)),
    },
    {
      name: "es256-verify-jose",
      system: "in-process",
      description: "jose compactVerify ES256 (WebCrypto), one core",
      run: (_r, s) => Promise.resolve(inproc("es256-verify-jose", s)),
    },
    {
      name: "peer-cc-opaque",
      system: "peer",
      description: "oidc-provider client_credentials, opaque access token (in-memory store)",
      run: (_r, s) =>
        wrk(
          peer,
          "issue.lua",
          { BENCH_KIND: "peer-opaque", BENCH_PATH: "/token", BENCH_AUTH: basic, BENCH_RUN: "0" },
          s,
        ),
    },
    {
      name: "peer-cc-jwt",
      system: "peer",
      description: "oidc-provider client_credentials, ES256 JWT access token",
      run: (_r, s) =>
        wrk(
          peer,
          "issue.lua",
          { BENCH_KIND: "peer-jwt", BENCH_PATH: "/token", BENCH_AUTH: basic, BENCH_RUN: "0" },
          s,
        ),
    },
    {
      name: "peer-introspect",
      system: "peer",
      description: "oidc-provider introspection of its opaque tokens (all valid), every answer checked",
      run: async (_r, s) => {
        // Its in-memory store keeps 1,000 entries: issue the pool just before, within that.
        const lines: string[] = [];
        for (let i = 0; i < 500; i++) {
          const response = await fetch(`${peer.url}/token`, {
            method: "POST",
            headers: { authorization: basic, "content-type": "application/x-www-form-urlencoded" },
            body: "grant_type=client_credentials&scope=api",
          });
          lines.push(`${((await response.json()) as { access_token: string }).access_token} +`);
        }
        writeFileSync(peerPoolFile, lines.join("\n") + "\n");
        return wrk(
          peer,
          "introspect.lua",
          { BENCH_POOL: peerPoolFile, BENCH_PATH: "/token/introspection", BENCH_AUTH: basic },
          s,
        );
      },
    },
  ];
  for (const t of targets) workloads.push(...latchkeyWorkloads(t));
  // The ceiling of introspection on this store: bare Fastify plus the two digest lookups every
  // answer needs, on the seeded SQLite file (read-only beside Latchkey's own connection).
  const sqliteTarget = targets.find((t) => t.store === "sqlite");
  if (sqliteTarget) {
    const lookupPort = await freePort();
    const floorLookup = await startServer(
      "floor",
      ["--import", "tsx", "bench/floor-server.ts"],
      { BENCH_FLOOR_DB: join(workDir, "latchkey-sqlite", SQLITE_FILE) },
      lookupPort,
      "/floor",
    );
    workloads.splice(2, 0, {
      name: "floor-introspect",
      system: "floor",
      description:
        "bare Fastify POST doing the two SHA-256 digest lookups of an introspection on the seeded SQLite file (token rows only), the same pool, every answer checked",
      run: (_r, s) =>
        wrk(
          floorLookup,
          "introspect.lua",
          { BENCH_POOL: sqliteTarget.poolFile, BENCH_PATH: "/introspect", BENCH_AUTH: sqliteTarget.auth },
          s,
        ),
    });
  }
  const sdkTarget = targets[0];
  if (sdkTarget) {
    workloads.push({
      name: "sdk-verify",
      system: "in-process",
      description: `@latchkey/sdk createVerifier (JWKS + live revocation feed from Latchkey on ${sdkTarget.store}), offline verify, checked`,
      run: (round, s) =>
        Promise.resolve(
          inproc("sdk-verify", s, {
            issuer: sdkTarget.server.url,
            audience: AUDIENCE,
            auth: sdkTarget.auth,
            feedToken: sdkTarget.auth.slice("Bearer ".length),
            pool: sdkTarget.jwtPool,
            revocable: sdkTarget.sdkRevocable.slice(round * (smoke ? 2 : 10), (round + 1) * (smoke ? 2 : 10)),
          }),
        ),
    });
  }
  const selected = workloads.filter(
    (w) =>
      !config.only ||
      config.only.has(w.name) ||
      config.only.has(`${w.system}:${w.name}`) ||
      config.only.has(w.system),
  );
  if (selected.length === 0)
    throw new Error(`--only matched nothing; workloads: ${workloads.map((w) => w.name).join(", ")}`);

  const results = new Map<Workload, RunResult[]>(selected.map((w) => [w, []]));
  const warmups = new Map<Workload, RunResult>();
  const rssByRound: Record<string, number[]> = {};
  if (config.warmup > 0) {
    for (const w of selected) {
      log(`warm-up ${w.system} ${w.name}`);
      warmups.set(w, await w.run(0, config.warmup));
    }
  }
  for (let round = 1; round <= config.rounds; round++) {
    for (const w of selected) {
      const r = await w.run(round, config.duration);
      results.get(w)?.push(r);
      log(
        `round ${round} ${w.system.padEnd(17)} ${w.name.padEnd(25)} ${r.rps.toFixed(0).padStart(7)}/s` +
          (r.p99_ms === null ? "" : ` p50 ${r.p50_ms?.toFixed(2)} p99 ${r.p99_ms.toFixed(2)} ms`) +
          ` cpu ${r.cpu_us_per_request.toFixed(0)} µs/req errors ${r.errors} wrong ${r.wrong} load ${r.loadavg.toFixed(2)}` +
          (r.first_wrong ? ` (${r.first_wrong})` : ""),
      );
    }
    for (const t of targets) (rssByRound[t.store] ??= []).push(rssMiB(t.server.pid));
  }

  const out: Results = {
    started: started.toISOString(),
    finished: new Date().toISOString(),
    config: { ...config, only: config.only ? [...config.only] : null },
    machine: {
      cpus: cpus().map((c) => c.model)[0] ?? "",
      cores: cpus().length,
      node: process.version,
      loadavg_before: loadBefore,
      loadavg_after: loadavg(),
      // `wrk -v` prints its version, then exits 1.
      wrk: spawnSync("wrk", ["-v"], { encoding: "utf8" }).stdout.split("\n")[0]?.trim() ?? "",
    },
    stores: targets.map((t) => t.info),
    rss_by_round: rssByRound,
    workloads: selected.map((w): WorkloadResult => ({
      name: w.name,
      system: w.system,
      description: w.description,
      warmup: warmups.get(w) ?? null,
      runs: results.get(w) ?? [],
    })),
  };
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, JSON.stringify(out, null, 2) + "\n");
  formatFiles(ROOT, [outFile]);
  log(`results in ${outFile}`);
  if (writeDoc) writeReport(out, ROOT);

  const bad = out.workloads.flatMap((w) =>
    [...w.runs, ...(w.warmup ? [w.warmup] : [])]
      .filter((r) => r.errors > 0 || r.wrong > 0 || r.stale > 0)
      .map(
        (r) =>
          `${w.system} ${w.name}: ${r.errors} errors, ${r.wrong} wrong, ${r.stale} stale${r.first_wrong ? ` (${r.first_wrong})` : ""}`,
      ),
  );
  for (const line of bad) log(`FAILED ${line}`);
  return bad.length > 0 ? 1 : 0;
}

/**
 * One run at a time on a machine: every run pins its servers to core 0, so two at once measure
 * each other. A run waits for the lock (a directory holding the owner's pid; a dead owner's is taken over).
 */
const LOCK = join(tmpdir(), "latchkey-bench.lock");
async function acquireLock(): Promise<void> {
  let pidless = 0;
  for (let waited = 0; ; waited++) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, "pid"), String(process.pid));
      return;
    } catch {
      let owner = 0;
      try {
        owner = Number(readFileSync(join(LOCK, "pid"), "utf8"));
        process.kill(owner, 0);
      } catch {
        // A dead owner's lock is taken over; one without a pid is being created (or was left by a crash).
        if (owner > 0 || ++pidless > 50) rmSync(LOCK, { recursive: true, force: true });
        else await sleep(100);
        continue;
      }
      if (waited % 30 === 0) log(`waiting for another benchmark run to finish (pid ${owner})`);
      await sleep(1000);
    }
  }
}

let status = 1;
let locked = false;
try {
  await acquireLock();
  locked = true;
  status = await main();
} catch (error) {
  log(`error: ${(error as Error).stack ?? String(error)}`);
  for (const s of servers) if (s.output.length) log(`${s.name} output: ${s.output.join("").slice(-2000)}`);
} finally {
  for (const s of servers.reverse()) await stopServer(s);
  rmSync(workDir, { recursive: true, force: true });
  if (locked) rmSync(LOCK, { recursive: true, force: true });
}
process.exit(status);
