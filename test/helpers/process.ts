import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root and its CLI entry point, independent of the working directory. */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const CLI = join(REPO_ROOT, "bin", "latchkey.js");

const STARTUP_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;

/** Children still running; killed if the test worker exits without stopping them. */
const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

export interface ServerProcessOptions {
  /** Reuse a data directory (restarts); a fresh temporary one otherwise. */
  dataDir?: string;
  /** LATCHKEY_LOG_LEVEL for the child (e.g. "debug"); the server's default otherwise. */
  logLevel?: string;
  /** Extra environment for the child. */
  env?: Record<string, string>;
  /** Another entry point than bin/latchkey.js (e.g. the CLI compiled ahead of time, compiledCli()). */
  cli?: string;
}

export interface ServerProcess {
  url: string;
  port: number;
  dataDir: string;
  pid: number;
  /** Everything the process wrote to stdout so far. */
  stdout(): string;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  /** SIGTERM, then waits for the exit; resolves with the exit code (null when killed by a signal). */
  stop(): Promise<number | null>;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A port that was free a moment ago: listen on 0, read the port, close. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      if (address === null || typeof address === "string") {
        probe.close();
        reject(new Error("no port from the probe listener"));
        return;
      }
      probe.close((error) => (error ? reject(error) : resolve(address.port)));
    });
  });
}

export const tempDataDir = (): string => mkdtempSync(join(tmpdir(), "latchkey-proc-"));

/** The parent's environment without LATCHKEY_* (so a developer's shell cannot change a test). */
function childEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith("LATCHKEY_")) env[key] = value;
  }
  for (const [key, value] of Object.entries(extra)) {
    if (value !== undefined) env[key] = value;
  }
  return env;
}

interface Spawned {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function spawnCli(args: string[], env: NodeJS.ProcessEnv, cli = CLI): Spawned {
  const child = spawn(process.execPath, [cli, ...args], {
    cwd: REPO_ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  live.add(child);
  let out = "";
  let err = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    out += chunk;
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    err += chunk;
  });
  // "close" (not "exit") so that both pipes are drained before anyone reads them.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Runs the CLI to completion (e.g. `migrate`, or a `server` that must refuse to start). */
export async function runCli(
  args: string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliResult> {
  const run = spawnCli(args, childEnv(options.env ?? {}));
  const timer = setTimeout(() => run.child.kill("SIGKILL"), options.timeoutMs ?? STARTUP_TIMEOUT_MS);
  try {
    const { code, signal } = await run.exited;
    return { code, signal, stdout: run.stdout(), stderr: run.stderr() };
  } finally {
    clearTimeout(timer);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function answersHealthz(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

async function stopChild(run: Spawned): Promise<number | null> {
  if (run.child.exitCode !== null || run.child.signalCode !== null) return (await run.exited).code;
  run.child.kill("SIGTERM");
  const timer = setTimeout(() => run.child.kill("SIGKILL"), STOP_TIMEOUT_MS);
  try {
    return (await run.exited).code;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Spawns `node bin/latchkey.js server` on a free loopback port and waits until /healthz answers.
 * A lost race for the port (EADDRINUSE) is retried with another one.
 */
export async function startServerProcess(options: ServerProcessOptions = {}): Promise<ServerProcess> {
  const dataDir = options.dataDir ?? tempDataDir();
  const env = childEnv({ LATCHKEY_LOG_LEVEL: options.logLevel, ...options.env });
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const run = spawnCli(
      ["server", "--listen", `127.0.0.1:${port}`, "--data-dir", dataDir],
      env,
      options.cli,
    );
    let exited = false;
    void run.exited.then(
      () => {
        exited = true;
      },
      () => {
        exited = true;
      },
    );
    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    while (!exited && Date.now() < deadline && !(await answersHealthz(url))) await sleep(50);
    if (!exited && Date.now() < deadline) {
      return {
        url,
        port,
        dataDir,
        pid: run.child.pid ?? -1,
        stdout: run.stdout,
        stderr: run.stderr,
        stop: () => stopChild(run),
      };
    }
    if (!exited) await stopChild(run);
    else await run.exited.catch(() => undefined);
    if (exited && attempt < 3 && run.stderr().includes("EADDRINUSE")) continue;
    throw new Error(
      `latchkey server did not become healthy at ${url} (${exited ? `exited with ${run.child.exitCode}` : "timed out"})\n` +
        `--- stdout ---\n${run.stdout()}\n--- stderr ---\n${run.stderr()}`,
    );
  }
}

export interface HttpResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface HttpOptions {
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** Serialized as JSON with content-type application/json. */
  body?: unknown;
  /** Sent as is (with whatever content-type `headers` say). */
  rawBody?: string;
  headers?: Record<string, string>;
}

/** Plain HTTP against a spawned server; the body is parsed when it is JSON, kept as text otherwise. */
export async function http<T = any>(
  url: string,
  method: string,
  path: string,
  options: HttpOptions = {},
): Promise<HttpResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let body = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["content-type"] ??= "application/json";
  }
  const response = await fetch(url + path, { method, headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, headers: response.headers, body: parsed as T, text };
}

/**
 * The CLI compiled to JavaScript by tsc (no type check), for tests that start the server hundreds of
 * times: compiling on the fly under tsx doubles each start's CPU. The code is the same; only the
 * moment it is compiled differs. Built into .tmp/ (so node_modules resolve from there); `remove()`
 * deletes it.
 */
export function compileCli(): { entry: string; remove: () => void } {
  mkdirSync(join(REPO_ROOT, ".tmp"), { recursive: true });
  const outDir = mkdtempSync(join(REPO_ROOT, ".tmp", "compiled-cli-"));
  const tsc = join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc");
  const built = spawnSync(
    process.execPath,
    [
      tsc,
      join(REPO_ROOT, "src", "cli", "index.ts"),
      ...["--target", "es2022", "--module", "nodenext", "--moduleResolution", "nodenext"],
      ...["--noCheck", "--rewriteRelativeImportExtensions", "--skipLibCheck"],
      ...["--rootDir", REPO_ROOT, "--outDir", outDir],
    ],
    { encoding: "utf8" },
  );
  const remove = () => rmSync(outDir, { recursive: true, force: true });
  if (built.status !== 0) {
    remove();
    throw new Error(`tsc failed:\n${built.stdout}\n${built.stderr}`);
  }
  // "type": "module", and what src/cli/version.ts reads two directories up.
  copyFileSync(join(REPO_ROOT, "package.json"), join(outDir, "package.json"));
  return { entry: join(outDir, "src", "cli", "index.js"), remove };
}
