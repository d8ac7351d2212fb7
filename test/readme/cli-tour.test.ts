import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { freePort } from "../helpers/process.ts";

const root = join(import.meta.dirname, "..", "..");

/** The CLI tour's first block is the server (its own terminal); the rest is pasted into another. */
function tourBlocks(): { server: string; steps: string } {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const tour = readme.split("<!-- cli-tour:start -->")[1]?.split("<!-- cli-tour:end -->")[0];
  if (!tour) throw new Error("README has no cli-tour markers");
  const blocks = [...tour.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");
  expect(blocks.length).toBeGreaterThanOrEqual(6);
  return { server: blocks[0] ?? "", steps: blocks.slice(1).join("\n") };
}

/** The environment of a person's shell: no LATCHKEY_* settings, a home of its own for the profile. */
function shellEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith("LATCHKEY_") && key !== "XDG_CONFIG_HOME") env[key] = value;
  }
  return { ...env, HOME: home };
}

describe("the README tour with the CLI", () => {
  it("works when pasted into a shell, with nothing but latchkey", async () => {
    const dir = mkdtempSync(join(tmpdir(), "latchkey-cli-tour-"));
    const home = join(dir, "home");
    const port = await freePort();
    // Only the port and the data directory change; every command runs exactly as written.
    const adapt = (text: string) =>
      text
        .replaceAll("127.0.0.1:8080", `127.0.0.1:${port}`)
        .replaceAll("./tour-data", join(dir, "tour-data"));
    const { server, steps } = tourBlocks();
    expect(steps).not.toMatch(/\bcurl\b|\bjq\b/);
    const serverProcess = spawn("bash", ["-c", adapt(server)], {
      cwd: root,
      detached: true,
      stdio: "ignore",
    });
    try {
      const run = spawnSync("bash", ["-c", `set -euo pipefail\nmkdir -p "$HOME"\n${adapt(steps)}`], {
        cwd: root,
        env: shellEnv(home),
        encoding: "utf8",
        timeout: 150_000,
      });
      const out = run.stdout;
      expect(run.stderr.replace(/^npm warn .*\n/gm, "")).not.toMatch(/error|not found|latchkey:/i);
      expect(run.status, `${out}\n${run.stderr}`).toBe(0);
      expect(out).toContain(`http://127.0.0.1:${port}: ready`);
      expect(out).toContain(
        `Logged in to http://127.0.0.1:${port} as bootstrap@default.serviceaccounts.latchkey (owner, organization scope).`,
      );
      expect(out).toMatch(/^service account\s+bootstrap@default\.serviceaccounts\.latchkey$/m);
      expect(out).toContain(
        "Created service account deployer@default.serviceaccounts.latchkey (contributor, project scope).",
      );
      expect(out).toContain("Created token ci for deployer@default.serviceaccounts.latchkey.");
      expect(out).toMatch(/^[0-9a-f-]{36}\s+ci\s+read-write\s+active\s+in 30 days\s+never$/m);
      expect(out).toMatch(/^service account\s+deployer@default\.serviceaccounts\.latchkey$/m);
      expect(out).toMatch(/^role\s+contributor \(project scope\)$/m);
      expect(out).toContain("Rotated token ci of deployer@default.serviceaccounts.latchkey.");
      expect(out).toMatch(/^previous\s+stops working in 1 hour/m);
      // Both secrets verify during the grace period; the old one until the grace period ends.
      expect(out.match(/^valid: opaque token ci$/gm)).toHaveLength(2);
      expect(out).toMatch(/^expires\s+in 1 hour \(/m);
      expect(out).toMatch(/^Revoked token ci \([0-9a-f-]{36}\)\.$/m);
      expect(out).toMatch(/^not valid: .*\(inactive\)$/m);
      expect(out).toContain("verify exited with status 1");
      expect(out).toMatch(/token\.revoke\s+success\s+bootstrap\s+token:ci\s+default/);
      expect(out).toMatch(/^intact: \d+ events checked/m);
      expect(out).toContain('Forgot profile "tour".');
      // The secrets stayed in their 0600 files and never reached the terminal.
      for (const file of ["ci.token", "ci-new.token"]) {
        const path = join(dir, "tour-data", file);
        expect(statSync(path).mode & 0o777).toBe(0o600);
        expect(out + run.stderr).not.toContain(readFileSync(path, "utf8").trim());
      }
    } finally {
      // Ctrl-C in the server's terminal: SIGINT to its whole process group.
      if (serverProcess.pid) process.kill(-serverProcess.pid, "SIGINT");
      await new Promise((resolve) => serverProcess.once("exit", resolve));
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
