import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");

/** The tour's first block is the server (its own terminal); the rest is pasted into another. */
function tourBlocks(): { server: string; steps: string } {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const tour = readme.split("<!-- tour:start -->")[1]?.split("<!-- tour:end -->")[0];
  if (!tour) throw new Error("README has no tour markers");
  const blocks = [...tour.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");
  expect(blocks.length).toBeGreaterThanOrEqual(6);
  return { server: blocks[0] ?? "", steps: blocks.slice(1).join("\n") };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("the README tour", () => {
  it("works when pasted into a shell", async () => {
    const dir = mkdtempSync(join(tmpdir(), "latchkey-tour-"));
    const port = await freePort();
    // Only the port and the data directory change; every command runs exactly as written.
    const adapt = (text: string) =>
      text
        .replaceAll("127.0.0.1:8080", `127.0.0.1:${port}`)
        .replaceAll("./tour-data", join(dir, "tour-data"));
    const { server, steps } = tourBlocks();
    const serverProcess = spawn("bash", ["-c", adapt(server)], {
      cwd: root,
      detached: true,
      stdio: "ignore",
    });
    try {
      const run = spawnSync("bash", ["-c", `set -euo pipefail\n${adapt(steps)}`], {
        cwd: root,
        encoding: "utf8",
        timeout: 90_000,
      });
      const out = run.stdout;
      expect(run.stderr).not.toMatch(/error|not found/i);
      expect(run.status, `${out}\n${run.stderr}`).toBe(0);
      expect(out).toContain('{"who":"bootstrap@default.serviceaccounts.latchkey","role":"owner"}');
      expect(out).toContain('{"email":"deployer@default.serviceaccounts.latchkey","role":"contributor"}');
      expect(out).toContain('{"who":"deployer@default.serviceaccounts.latchkey","role":"contributor"}');
      expect(out).toMatch(/"state":"active"/);
      expect(out).toContain("old token: 200");
      expect(out).toContain("new token: 200");
      expect(out).toContain("revoke: 204");
      expect(out).toContain('{"status":401,"code":"token_revoked"}');
      expect(out).toContain('{"action":"token.revoke","outcome":"success","target":"ci"}');
      expect(out).toMatch(/\{"valid":true,"events_checked":\d+\}/);
    } finally {
      // Ctrl-C in the server's terminal: SIGINT to its whole process group.
      if (serverProcess.pid) process.kill(-serverProcess.pid, "SIGINT");
      await new Promise((resolve) => serverProcess.once("exit", resolve));
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
