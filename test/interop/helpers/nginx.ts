import { type ChildProcess, execFile, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "../../helpers/process.ts";
import { requireProgram } from "./tools.ts";

export interface Nginx {
  url: string;
  /** nginx's error log so far (for failure messages). */
  errorLog(): string;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** nginx masters still running; told to stop if the test worker exits without stopping them. */
const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of live) child.kill("SIGTERM");
});

/** Debian's nginx, with the auth_request module, or a clear failure. */
export async function requireNginx(): Promise<string> {
  const nginx = requireProgram("nginx", "apt-get install nginx");
  const { stderr: built } = await promisify(execFile)(nginx, ["-V"]); // nginx -V prints to stderr
  if (!built.includes("--with-http_auth_request_module")) {
    throw new Error(`${nginx} is built without the auth_request module (Debian's nginx package has it)`);
  }
  return nginx;
}

/**
 * nginx as a foreground child (`daemon off`) with its own prefix directory: configuration, pid, logs
 * and temp paths all inside it. `site(port)` is what goes into the `http` block, listening on `port`.
 * It is ready when `GET readyPath` answers 200.
 */
export async function startNginx(site: (port: number) => string, readyPath: string): Promise<Nginx> {
  const binary = await requireNginx();
  for (let attempt = 1; ; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), "latchkey-nginx-"));
    // Run as root (CI), nginx's workers run as nobody: they must be able to enter the directory.
    chmodSync(dir, 0o755);
    const port = await freePort();
    const conf = [
      "worker_processes 1;",
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log info;`,
      "events { worker_connections 256; }",
      "http {",
      `    access_log ${dir}/access.log;`,
      ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map(
        (t) => `    ${t}_temp_path ${dir}/${t}_temp;`,
      ),
      site(port),
      "}",
      "",
    ].join("\n");
    writeFileSync(join(dir, "nginx.conf"), conf);
    const child = spawn(
      binary,
      ["-p", `${dir}/`, "-c", join(dir, "nginx.conf"), "-e", join(dir, "error.log"), "-g", "daemon off;"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let stderr = "";
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.stdout?.resume();
    live.add(child);
    let exited = false;
    const closed = new Promise<void>((resolve) =>
      child.once("close", () => {
        exited = true;
        live.delete(child);
        resolve();
      }),
    );
    const errorLog = () => {
      const file = join(dir, "error.log");
      return stderr + (existsSync(file) ? readFileSync(file, "utf8") : "");
    };
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 10_000;
    let ready = false;
    while (!exited && !ready && Date.now() < deadline) {
      try {
        const res = await fetch(url + readyPath, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        ready = res.status === 200;
      } catch {
        // not listening yet
      }
      if (!ready) await sleep(50);
    }
    if (ready) return { url, errorLog, stop: () => stop(child, closed, dir) };
    const log = errorLog();
    await stop(child, closed, dir);
    if (attempt < 3 && log.includes("Address already in use")) continue;
    throw new Error(`nginx did not start (${exited ? "it exited" : "timed out"}):\n${conf}\n${log}`);
  }
}

async function stop(child: ChildProcess, closed: Promise<void>, dir: string): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill("SIGTERM"); // fast shutdown; the master waits for its workers
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await closed;
    clearTimeout(timer);
  }
  rmSync(dir, { recursive: true, force: true });
}
