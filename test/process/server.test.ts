import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { http, runCli, type ServerProcess, startServerProcess, tempDataDir } from "../helpers/process.ts";

/** Every token-shaped string (SPEC §3), wherever it sits in the text. */
const TOKEN_SHAPE = /lk_[0-9A-Za-z]{49}/g;

describe("the real server process on one data directory", () => {
  const dataDir = tempDataDir();
  const tokenFile = join(dataDir, "bootstrap-token");
  let server: ServerProcess | undefined;
  let bootstrapToken = "";
  const created = { saId: "", token: "", tokenId: "" };

  beforeAll(async () => {
    server = await startServerProcess({ dataDir });
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("prints the bootstrap token exactly once on first start, and it is the one in the 0600 file", async () => {
    const s = server!;
    const printed = s.stdout().match(TOKEN_SHAPE) ?? [];
    expect(printed).toHaveLength(1);
    bootstrapToken = printed[0]!;
    expect(readFileSync(tokenFile, "utf8")).toBe(`${bootstrapToken}\n`);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    expect(s.stdout()).toContain("First start");
    expect(s.stderr().match(TOKEN_SHAPE)).toBeNull();

    const whoami = await http(s.url, "GET", "/v1/whoami", { token: bootstrapToken });
    expect(whoami.status).toBe(200);
    expect(whoami.body.service_account).toMatchObject({
      name: "bootstrap",
      project: "default",
      role: "owner",
      scope: "organization",
    });
    expect(whoami.body.effective_role).toBe("owner");
  });

  it("keeps the bootstrap token and earlier data across a restart, and prints nothing again", async () => {
    const before = server!;
    const sa = await http(before.url, "POST", "/v1/projects/default/service-accounts", {
      token: bootstrapToken,
      body: { name: "survivor", role: "contributor", description: "made before the restart" },
    });
    expect(sa.status).toBe(201);
    const tok = await http(before.url, "POST", "/v1/projects/default/service-accounts/survivor/tokens", {
      token: bootstrapToken,
      body: { name: "before-restart", ttl_seconds: 3600 },
    });
    expect(tok.status).toBe(201);
    Object.assign(created, { saId: sa.body.id, token: tok.body.token, tokenId: tok.body.id });

    expect(await before.stop()).toBe(0);
    server = undefined;
    server = await startServerProcess({ dataDir });
    const after = server;

    expect(after.stdout().match(TOKEN_SHAPE)).toBeNull();
    expect(after.stdout()).not.toContain("First start");
    expect(after.stdout()).not.toContain(bootstrapToken);
    expect(readFileSync(tokenFile, "utf8")).toBe(`${bootstrapToken}\n`);

    const boot = await http(after.url, "GET", "/v1/whoami", { token: bootstrapToken });
    expect(boot.status).toBe(200);
    expect(boot.body.service_account.name).toBe("bootstrap");

    const own = await http(after.url, "GET", "/v1/whoami", { token: created.token });
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({
      token_id: created.tokenId,
      service_account: { id: created.saId, name: "survivor", role: "contributor" },
    });

    const account = await http(after.url, "GET", "/v1/projects/default/service-accounts/survivor", {
      token: bootstrapToken,
    });
    expect(account.status).toBe(200);
    expect(account.body).toMatchObject({ id: created.saId, description: "made before the restart" });

    const token = await http(after.url, "GET", `/v1/tokens/${created.tokenId}`, { token: bootstrapToken });
    expect(token.status).toBe(200);
    expect(token.body).toMatchObject({ name: "before-restart", state: "active", active: true });
    expect(token.body.last_used_at).not.toBeNull();

    const list = await http(after.url, "GET", "/v1/projects/default/service-accounts/survivor/tokens", {
      token: bootstrapToken,
    });
    expect(list.status).toBe(200);
    expect(list.body.items.map((t: { id: string }) => t.id)).toEqual([created.tokenId]);

    const projects = await http(after.url, "GET", "/v1/projects", { token: bootstrapToken });
    expect(projects.body.items.map((p: { name: string }) => p.name)).toEqual(["default"]);
  });

  it("`latchkey migrate` on the stopped server's data directory exits 0", async () => {
    expect(await server!.stop()).toBe(0);
    server = undefined;
    const result = await runCli(["migrate", "--data-dir", dataDir]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^store is at migration \S+ \(\d+ applied\)\n$/);
    expect(result.stdout.match(TOKEN_SHAPE)).toBeNull();
  });
});

describe("the CLI outside a running server", () => {
  it("`latchkey migrate` creates a fresh store and exits 0; the server then starts on it", async () => {
    const dataDir = tempDataDir();
    try {
      const result = await runCli(["migrate", "--data-dir", dataDir]);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^store is at migration \S+ \(\d+ applied\)\n$/);
      // Migrating does not bootstrap: the token appears on the server's first start only.
      expect(existsSync(join(dataDir, "bootstrap-token"))).toBe(false);
      const again = await runCli(["migrate", "--data-dir", dataDir]);
      expect(again.code).toBe(0);
      expect(again.stdout).toBe(result.stdout);
      const server = await startServerProcess({ dataDir });
      try {
        const printed = server.stdout().match(TOKEN_SHAPE) ?? [];
        expect(printed).toHaveLength(1);
        expect(readFileSync(join(dataDir, "bootstrap-token"), "utf8")).toBe(`${printed[0]}\n`);
        expect((await http(server.url, "GET", "/v1/whoami", { token: printed[0]! })).status).toBe(200);
      } finally {
        expect(await server.stop()).toBe(0);
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("refuses `--listen nonsense` with exit code 2 and a clear message on stderr", async () => {
    const dataDir = tempDataDir();
    try {
      const result = await runCli(["server", "--listen", "nonsense", "--data-dir", dataDir]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('listen address "nonsense" is not HOST:PORT');
      expect(result.stderr.startsWith("latchkey: ")).toBe(true);
      expect(result.stdout).toBe("");
      // Refused before touching the store: nothing was bootstrapped.
      expect(existsSync(join(dataDir, "bootstrap-token"))).toBe(false);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
