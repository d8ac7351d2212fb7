/**
 * Fuzzing the API with Schemathesis (PyPI) against the server's own /openapi.json, over real HTTP, on
 * a real store. Four runs, each with a check of the database that makes sense for it:
 *
 *  1. negative data only, as the owner: every request is invalid, so the database after the run is
 *     the database before it (except `last_used_at` of the calling token, written by authentication);
 *  2. negative data only, as a viewer: the same, plus the audit events of its denials, which are the
 *     only rows a rejected request may add;
 *  3. valid and invalid data, as the owner: requests are accepted and change the database, so the check
 *     is that every change is explained by an accepted request (every change is audited in the same
 *     transaction, so: no audit event of outcome "success" carries the request id of a rejected one);
 *  4. the self-service operations (`/v1/tokens/self…`), which retire the calling token, with a token
 *     of their own, negative data only.
 *
 * In every run: 0 responses ≥ 500 (`not_a_server_error`) and negative data always rejected
 * (`negative_data_rejection`). Short form: a few cases per operation; LATCHKEY_HARDENING=long: at least
 * 200 per operation that has anything to generate (parameters or a body).
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../helpers/process.ts";
import { accountWithToken, startServer, type TestServer } from "../../helpers/server.ts";
import { allRows } from "../../helpers/store.ts";

const LONG = process.env.LATCHKEY_HARDENING === "long";
/** Cases per operation and phase (Schemathesis --max-examples). */
const EXAMPLES = LONG ? 200 : 5;
/**
 * The long form adds Schemathesis's coverage phase (boundary values, every missing or wrong-typed
 * parameter and field): thorough, and a few minutes long whatever --max-examples says.
 */
const PHASES = LONG ? "examples,coverage,fuzzing" : "examples,fuzzing";
const SELF = "^/v1/tokens/self";
const STREAM = "/v1/revocations/stream";
const HERE = fileURLToPath(new URL(".", import.meta.url));
/**
 * A crash inside Schemathesis itself (its regex-to-strategy code on CPython), not an answer of the
 * server: reported in the summary, not counted as a failure of Latchkey.
 */
const TOOL_CRASH = /SystemError: AST constructor recursion depth mismatch/;

interface RunSummary {
  label: string;
  generated: number;
  perOperation: Map<string, number>;
  statuses: Map<number, number>;
  failures: string[];
  errors: string[];
  toolCrashes: string[];
  /** x-request-id of every response ≥ 400. */
  rejectedRequestIds: Set<string>;
  seconds: number;
  /** Every request and its status, for the message of a failed database check. */
  log: string;
}

let cli: string;
let server: TestServer;
const reports: string[] = [];
const summaries: RunSummary[] = [];

/** Runs `schemathesis run` and reads its JSON and NDJSON reports. */
async function fuzz(
  label: string,
  caller: { token: string; protect: string[] },
  mode: "negative" | "all",
  filter: string[],
): Promise<RunSummary> {
  const dir = mkdtempSync(join(tmpdir(), "latchkey-fuzz-"));
  reports.push(dir);
  const args = [
    ...["--config-file", join(HERE, "schemathesis.toml")],
    "run",
    `${server.url}/openapi.json`,
    ...["-H", `Authorization: Bearer ${caller.token}`],
    ...["--mode", mode, "--max-examples", String(EXAMPLES)],
    ...["--phases", PHASES],
    ...["--checks", "not_a_server_error,negative_data_rejection"],
    ...["--workers", "2", "--request-timeout", "10", "--no-color"],
    ...["--report", "json,ndjson", "--report-json-path", join(dir, "run.json")],
    ...["--report-ndjson-path", join(dir, "run.ndjson")],
    ...["--seed", String(Date.now() % 1_000_000)],
    // An event stream answers 200 and never ends: every case would wait for the request timeout.
    // It is covered by test/http/verification/revocation-feed.test.ts and test/hardening/privilege.
    ...["--exclude-path", STREAM],
    ...filter,
  ];
  const started = Date.now();
  const run = spawn(cli, args, {
    cwd: dir,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      PYTHONPATH: HERE,
      // No __pycache__ in the repository.
      PYTHONDONTWRITEBYTECODE: "1",
      SCHEMATHESIS_HOOKS: "protect_caller",
      LATCHKEY_FUZZ_PROTECT: caller.protect.join(","),
    },
  });
  let output = "";
  run.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  run.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  const code = await new Promise<number | null>((resolve, reject) => {
    run.once("error", reject);
    run.once("close", resolve);
  });
  const seconds = (Date.now() - started) / 1000;
  let report: any;
  try {
    report = JSON.parse(readFileSync(join(dir, "run.json"), "utf8"));
  } catch {
    throw new Error(`schemathesis wrote no report (exit ${code}):\n${output.slice(-4000)}`);
  }
  const summary: RunSummary = {
    label,
    generated: report.test_cases.generated,
    perOperation: new Map(),
    statuses: new Map(),
    failures: [],
    errors: [],
    toolCrashes: [],
    rejectedRequestIds: new Set(),
    seconds,
    log: "",
  };
  for (const line of readFileSync(join(dir, "run.ndjson"), "utf8").split("\n")) {
    if (!line.trim()) continue;
    const event = JSON.parse(line);
    if (event.NonFatalError) {
      const { value, label: where } = event.NonFatalError;
      const error = `${where}: ${value.type}: ${value.message}`;
      (TOOL_CRASH.test(error) ? summary.toolCrashes : summary.errors).push(error);
    }
    const finished = event.ScenarioFinished;
    if (!finished?.recorder?.cases) continue;
    const recorder = finished.recorder;
    const operation: string = recorder.label;
    summary.perOperation.set(
      operation,
      (summary.perOperation.get(operation) ?? 0) + Object.keys(recorder.cases).length,
    );
    for (const interaction of Object.values<any>(recorder.interactions ?? {})) {
      const status: number = interaction.response.status_code;
      const { method, uri } = interaction.request;
      summary.log += `${method} ${uri} ${String(interaction.request.body ?? "").slice(0, 200)} → ${status}\n`;
      summary.statuses.set(status, (summary.statuses.get(status) ?? 0) + 1);
      const requestId = interaction.response.headers?.["x-request-id"]?.[0];
      if (status >= 400 && requestId) summary.rejectedRequestIds.add(requestId);
    }
    for (const [caseId, checks] of Object.entries<any[]>(recorder.checks ?? {})) {
      for (const check of checks) {
        if (check.status !== "failure") continue;
        const failure = check.failure_info.failure;
        const sent = recorder.cases[caseId]?.value;
        const response = recorder.interactions?.[caseId]?.response;
        const body = response?.content?.$base64
          ? Buffer.from(response.content.$base64, "base64").toString("utf8").slice(0, 300)
          : "";
        summary.failures.push(
          `${failure.operation} ${failure.code} ${failure.title}: ${failure.message}\n` +
            `  sent ${JSON.stringify({ path: sent?.path_parameters, query: sent?.query, body: sent?.body }).slice(0, 400)}\n` +
            `  got ${response?.status_code} ${body}`,
        );
      }
    }
  }
  // Errors and failures that the NDJSON did not carry in detail still count.
  const reported = (report.errors ?? []).reduce((n: number, e: any) => n + e.count, 0);
  if (reported > summary.errors.length + summary.toolCrashes.length) {
    summary.errors.push(`errors in the report: ${JSON.stringify(report.errors)}`);
  }
  if (summary.failures.length === 0 && report.test_cases.with_failures > 0) {
    summary.failures.push(
      `${report.test_cases.with_failures} failing cases: ${JSON.stringify(report.failures)}`,
    );
  }
  summaries.push(summary);
  return summary;
}

function expectClean(summary: RunSummary): void {
  expect(summary.errors, "schemathesis errors").toEqual([]);
  expect(summary.failures, "schemathesis failures").toEqual([]);
  const serverErrors = [...summary.statuses].filter(([status]) => status >= 500);
  expect(serverErrors, "responses >= 500").toEqual([]);
  expect(summary.generated).toBeGreaterThan(0);
}

type Rows = Record<string, Record<string, unknown>[]>;

/** Every row of every table, without what authentication itself writes (last_used_at). */
async function dump(): Promise<Rows> {
  const rows = (await allRows(server.latchkey.deps.db)) as Rows;
  rows.tokens = rows.tokens!.map(({ last_used_at: _ignored, ...rest }) => rest);
  return rows;
}

/** Rows of `after` that `before` lacks, and rows of `before` that `after` lacks, per table. */
function difference(before: Rows, after: Rows): Record<string, { added: unknown[]; removed: unknown[] }> {
  const out: Record<string, { added: unknown[]; removed: unknown[] }> = {};
  for (const table of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const a = new Set((before[table] ?? []).map((r) => JSON.stringify(r)));
    const b = new Set((after[table] ?? []).map((r) => JSON.stringify(r)));
    const added = [...b].filter((r) => !a.has(r)).map((r) => JSON.parse(r));
    const removed = [...a].filter((r) => !b.has(r)).map((r) => JSON.parse(r));
    if (added.length || removed.length) out[table] = { added, removed };
  }
  return out;
}

/** Operations that have something to generate: parameters or a request body. */
function generative(doc: any): Set<string> {
  const out = new Set<string>();
  for (const [path, operations] of Object.entries<any>(doc.paths)) {
    if (path === STREAM) continue;
    for (const [method, operation] of Object.entries<any>(operations)) {
      if ((operation.parameters?.length ?? 0) > 0 || operation.requestBody) {
        out.add(`${method.toUpperCase()} ${path}`);
      }
    }
  }
  return out;
}

/**
 * Every operation with something to generate got its cases, over the owner's runs (negative and
 * mixed): at least 200 in the long form (the figure), at least one in the short form.
 */
const LEAST_CASES = LONG ? 200 : 1;

/** Operations with fewer than LEAST_CASES cases over the owner's runs. */
function fewCases(all: RunSummary[], doc: any, filter: (op: string) => boolean) {
  const runs = all.filter((run) => run.label.includes("/owner"));
  return [...generative(doc)]
    .filter(filter)
    .map((op) => [op, runs.reduce((n, run) => n + (run.perOperation.get(op) ?? 0), 0)] as const)
    .filter(([, n]) => n < LEAST_CASES);
}

describe("schemathesis against /openapi.json", () => {
  let doc: any;
  let owner: { token: string; protect: string[] };
  let viewer: { token: string; protect: string[] };

  beforeAll(async () => {
    const setup = spawnSync("bash", [join(REPO_ROOT, "test/interop/setup.sh"), "schemathesis"], {
      encoding: "utf8",
      timeout: 600_000,
    });
    if (setup.status !== 0) throw new Error(`test/interop/setup.sh schemathesis failed:\n${setup.stderr}`);
    cli = setup.stdout.trim().split("\n").pop()!;
    server = await startServer();
    doc = (await server.api("GET", "/openapi.json")).body;
    // Something for path parameters to find, besides the `default` project and `bootstrap`.
    await server.api("POST", "/v1/projects", { body: { name: "fuzz" } });
    // The callers: an organization-scoped owner (anything it sends is allowed, so validation is what
    // answers) and a viewer (mostly denied), each kept from rotating or deleting itself.
    const o = await accountWithToken(server, {
      project: "fuzz",
      name: "fuzz-owner",
      role: "owner",
      scope: "organization",
    });
    owner = { token: o.token, protect: ["fuzz-owner", o.tokenId, o.accountId] };
    const v = await accountWithToken(server, { project: "fuzz", name: "fuzz-viewer", role: "viewer" });
    viewer = { token: v.token, protect: ["fuzz-viewer", v.tokenId, v.accountId] };
  }, 900_000);

  afterAll(async () => {
    for (const summary of summaries) {
      const counts = [...summary.perOperation.values()].sort((a, b) => a - b);
      const statuses = [...summary.statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`);
      console.log(
        `fuzz ${summary.label}: ${summary.generated} cases in ${summary.seconds.toFixed(0)} s over ` +
          `${summary.perOperation.size} operations (per operation min ${counts[0]}, median ` +
          `${counts[Math.floor(counts.length / 2)]}); statuses ${statuses.join(" ")}; ` +
          `${summary.failures.length} failures, ${summary.errors.length} errors` +
          (summary.toolCrashes.length ? `; Schemathesis crashed on: ${summary.toolCrashes.join("; ")}` : ""),
      );
    }
    await server?.close();
    for (const dir of reports) rmSync(dir, { recursive: true, force: true });
  });

  it(
    "negative data as the owner: all rejected, no 5xx, the database unchanged",
    async () => {
      const before = await dump();
      const summary = await fuzz("negative/owner", owner, "negative", ["--exclude-path-regex", SELF]);
      expectClean(summary);
      expect(difference(before, await dump())).toEqual({});
    },
    LONG ? 3_600_000 : 300_000,
  );

  it(
    "negative data as a viewer: all rejected, no 5xx, only denials audited",
    async () => {
      const before = await dump();
      const summary = await fuzz("negative/viewer", viewer, "negative", ["--exclude-path-regex", SELF]);
      expectClean(summary);
      const diff = difference(before, await dump());
      const { audit_events: audit, ...others } = diff;
      expect(others).toEqual({});
      expect(audit?.removed ?? []).toEqual([]);
      const notDenials = (audit?.added ?? []).filter((e: any) => e.outcome !== "denied");
      expect(notDenials).toEqual([]);
    },
    LONG ? 3_600_000 : 300_000,
  );

  it(
    "valid and invalid data as the owner: no 5xx, negative data rejected, no change by a rejected request",
    async () => {
      const before = await dump();
      const summary = await fuzz("all/owner", owner, "all", ["--exclude-path-regex", SELF]);
      expectClean(summary);
      // In a run over every operation Schemathesis sometimes stops one early (it did at 38 cases for
      // DELETE /v1/projects/{project}): such an operation gets a run of its own.
      const notSelf = (op: string) => !/ \/v1\/tokens\/self/.test(op);
      const runs = [summary];
      for (const [op] of fewCases(summaries, doc, notSelf)) {
        // --include-name matches "METHOD /path" exactly (method and path filters would be OR'ed).
        const extra = await fuzz(`all/owner ${op}`, owner, "all", ["--include-name", op]);
        expectClean(extra);
        runs.push(extra);
      }
      expect(fewCases(summaries, doc, notSelf), `operations with fewer than ${LEAST_CASES} cases`).toEqual(
        [],
      );
      // The caller kept working to the end (else most of the run fuzzed nothing but a 401).
      expect((await server.api("GET", "/v1/whoami", { token: owner.token })).status).toBe(200);
      const added = difference(before, await dump()).audit_events?.added ?? [];
      // Accepted requests changed the database (the run means something) ...
      expect(added.filter((e: any) => e.outcome === "success").length).toBeGreaterThan(0);
      // ... and no change is recorded under the request id of a rejected request.
      const fromRejected = added.filter(
        (e: any) => e.outcome === "success" && runs.some((run) => run.rejectedRequestIds.has(e.request_id)),
      );
      expect(fromRejected).toEqual([]);
    },
    LONG ? 3_600_000 : 300_000,
  );

  it(
    "the self-service operations, with a token of their own: negative data rejected, no change by a rejected request",
    async () => {
      // Created by the fuzzing owner: the run before may have rotated the bootstrap token.
      const own = await accountWithToken(server, {
        project: "fuzz",
        name: "fuzz-self",
        role: "contributor",
        asToken: owner.token,
      });
      const before = await dump();
      const summary = await fuzz("negative/self", { token: own.token, protect: [] }, "negative", [
        "--include-path-regex",
        SELF,
      ]);
      expectClean(summary);
      // A body-less rotate is valid (every field is optional), and Schemathesis sends it even in
      // negative mode: then the token is rotated, legitimately. Rejected requests change nothing.
      const diff = difference(before, await dump());
      expect(diff.audit_events?.removed ?? []).toEqual([]);
      const fromRejected = (diff.audit_events?.added ?? []).filter(
        (e: any) => e.outcome === "success" && summary.rejectedRequestIds.has(e.request_id),
      );
      expect(fromRejected, summary.log).toEqual([]);
      const accepted = (diff.audit_events?.added ?? []).filter((e: any) => e.outcome === "success");
      if (accepted.length === 0) expect(diff, summary.log).toEqual({});
    },
    LONG ? 3_600_000 : 300_000,
  );
});
