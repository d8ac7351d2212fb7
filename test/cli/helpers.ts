import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI, REPO_ROOT, type ServerProcess, startServerProcess } from "../helpers/process.ts";

export { CLI, REPO_ROOT };

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON. */
  json<T = any>(): T;
  /** stderr's one JSON line (errors with --json). */
  errorJson(): {
    error: { code: string; message: string; exit_code: number; hint?: string; status?: number };
  };
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  /** Written to stdin, which is then closed (stdin is otherwise empty, never a terminal). */
  input?: string;
  cwd?: string;
  timeoutMs?: number;
}

/** The parent's environment without LATCHKEY_*, NO_COLOR and FORCE_COLOR, so a developer's shell changes nothing. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith("LATCHKEY_") && key !== "NO_COLOR" && key !== "FORCE_COLOR") env[key] = value;
  }
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

/** Runs `node bin/latchkey.js ARGS` to completion. */
export function latchkey(args: string[], options: RunOptions = {}): Promise<Run> {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: cleanEnv(options.env),
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  child.stdin.end(options.input ?? "");
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({
        code,
        stdout,
        stderr,
        json: () => JSON.parse(stdout),
        errorJson: () => JSON.parse(stderr.trim().split("\n").at(-1) ?? ""),
      });
    });
  });
}

export interface CliWorld {
  server: ServerProcess;
  bootstrapToken: string;
  /** A private HOME and XDG_CONFIG_HOME for the profiles. */
  home: string;
  configDir: string;
  /** Environment that points the CLI at the server with the bootstrap token. */
  env: Record<string, string>;
  /** `latchkey ARGS` with `env` (plus options.env). */
  run(args: string[], options?: RunOptions): Promise<Run>;
  close(): Promise<void>;
}

/** A real server process and a CLI environment pointed at it (address and token in the environment). */
export async function startWorld(): Promise<CliWorld> {
  const server = await startServerProcess();
  const bootstrapToken = readFileSync(join(server.dataDir, "bootstrap-token"), "utf8").trim();
  const home = mkdtempSync(join(tmpdir(), "latchkey-cli-"));
  const configDir = join(home, ".config");
  const env = {
    HOME: home,
    XDG_CONFIG_HOME: configDir,
    LATCHKEY_ADDR: server.url,
    LATCHKEY_TOKEN: bootstrapToken,
  };
  return {
    server,
    bootstrapToken,
    home,
    configDir,
    env,
    run: (args, options = {}) => latchkey(args, { ...options, env: { ...env, ...options.env } }),
    close: async () => {
      await server.stop();
      rmSync(server.dataDir, { recursive: true, force: true });
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** Every audit event id, newest first (a change anywhere shows up here). */
export async function auditIds(world: CliWorld): Promise<string[]> {
  const run = await world.run(["audit", "list", "--all", "--json"]);
  if (run.code !== 0) throw new Error(`audit list failed: ${run.stderr}`);
  return run.json().items.map((e: { id: string }) => e.id);
}

export const hasCommand = (name: string): boolean =>
  spawnSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" }).status === 0;

/**
 * A terminal for the CLI: a private tmux server, one session, keys sent and the screen read
 * back. Only this test's tmux server is ever stopped.
 */
export class Tmux {
  readonly socket = `latchkey-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  #sessions = 0;

  private tmux(...args: string[]): string {
    return execFileSync("tmux", ["-L", this.socket, ...args], { encoding: "utf8" });
  }

  /** Starts `command` (a shell line) in a new window; the window stays after it ends, with `[exit N]`. */
  start(command: string, env: Record<string, string>): string {
    const name = `s${++this.#sessions}`;
    const envArgs = Object.entries(env).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
    this.tmux(
      "new-session",
      "-d",
      "-s",
      name,
      "-x",
      "160",
      "-y",
      "50",
      ...envArgs,
      `${command}; echo "[exit $?]"; sleep 600`,
    );
    return name;
  }

  keys(session: string, ...keys: string[]): void {
    this.tmux("send-keys", "-t", session, ...keys);
  }

  /** The screen's text; with `escapes`, the colour and attribute escape sequences too. */
  screen(session: string, escapes = false): string {
    return this.tmux("capture-pane", "-p", ...(escapes ? ["-e"] : []), "-t", session);
  }

  /** Waits until the screen matches, and returns it. */
  async waitFor(session: string, pattern: RegExp, timeoutMs = 45_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = this.screen(session);
      if (pattern.test(text)) return text;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern} on the screen:\n${text}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  close(): void {
    try {
      this.tmux("kill-server");
    } catch {
      // already gone
    }
    const uid = process.getuid?.() ?? 0;
    rmSync(join(process.env.TMUX_TMPDIR || "/tmp", `tmux-${uid}`, this.socket), { force: true });
  }
}

/** The shell line that runs the CLI in a terminal. */
export const cliLine = (args: string[]): string =>
  [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(" ");
