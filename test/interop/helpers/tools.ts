import { execFile } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export const INTEROP_DIR = join(import.meta.dirname, "..");

/**
 * Installs (first run) or finds (later runs) a verifier through test/interop/setup.sh, the script
 * .ci/run also runs; its path. Fails, never skips, when something is missing: a skipped interop
 * suite would pass as green.
 */
export async function installed(tool: "pyjwt" | "go-oidc"): Promise<string> {
  try {
    const { stdout } = await run("bash", [join(INTEROP_DIR, "setup.sh"), tool], {
      timeout: 280_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    const path = stdout.trim().split("\n").pop() ?? "";
    accessSync(path, constants.X_OK);
    return path;
  } catch (error: any) {
    throw new Error(
      `the ${tool} interop tests cannot run: test/interop/setup.sh ${tool} failed ` +
        `(.ci/run installs what it needs)\n${error?.stderr ?? ""}${error?.message ?? error}`,
    );
  }
}

/** A program on PATH or in the sbin directories (where Debian puts nginx), or a clear failure. */
export function requireProgram(name: string, install: string): string {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/usr/local/sbin", "/sbin"];
  for (const dir of dirs.filter(Boolean)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new Error(`the interop tests need ${name}, which is not installed: ${install} (.ci/run does this)`);
}

/** Runs a program to completion and returns its stdout; a non-zero exit is an error with stderr. */
export async function output(file: string, args: string[], timeoutMs = 30_000): Promise<string> {
  try {
    const { stdout } = await run(file, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (error: any) {
    throw new Error(`${file} ${args[0] ?? ""} failed: ${error?.stderr ?? ""}${error?.message ?? error}`);
  }
}
