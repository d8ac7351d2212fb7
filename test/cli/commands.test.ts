import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, type CliWorld, cleanEnv, startWorld } from "./helpers.ts";

/** Every command, run as the real executable against a real server, as a table and as --json. */
describe("latchkey commands, for people and for scripts", { timeout: 180_000 }, () => {
  let w: CliWorld;
  const TOKEN_SHAPE = /lk_[0-9A-Za-z]{49}/;

  beforeAll(async () => {
    w = await startWorld();
  });
  afterAll(async () => {
    await w?.close();
  });

  it("status and whoami", async () => {
    const [status, statusJson, whoami, whoamiJson] = await Promise.all([
      w.run(["status"]),
      w.run(["status", "--json"]),
      w.run(["whoami"]),
      w.run(["whoami", "--json"]),
    ]);
    expect(status.code).toBe(0);
    expect(status.stdout).toBe(`${w.server.url}: ready\n`);
    expect(statusJson.json()).toEqual({ addr: w.server.url, live: true, ready: true });
    expect(whoami.code).toBe(0);
    expect(whoami.stdout).toMatch(/^service account\s+bootstrap@default\.serviceaccounts\.latchkey$/m);
    expect(whoami.stdout).toMatch(/^role\s+owner \(organization scope\)$/m);
    expect(whoami.stdout).toMatch(new RegExp(`^server\\s+${w.server.url}$`, "m"));
    expect(whoamiJson.json()).toMatchObject({
      service_account: { name: "bootstrap", project: "default", role: "owner", scope: "organization" },
      access: "read-write",
      effective_role: "owner",
    });
    // Nothing on stderr, no colour codes off a terminal.
    for (const r of [status, whoami, whoamiJson]) {
      expect(r.stderr).toBe("");
      expect(r.stdout).not.toContain("\u001b[");
    }
  });

  it("project create, list, get, update, delete", async () => {
    const created = await w.run(["project", "create", "payments", "--description", "Payment services"]);
    expect(created.code).toBe(0);
    expect(created.stdout).toBe("Created project payments.\n");
    const createdJson = await w.run(["project", "create", "billing", "--label", "team=pay", "--json"]);
    expect(createdJson.json()).toMatchObject({ name: "billing", labels: { team: "pay" } });

    const [list, listJson, quiet, get, getJson] = await Promise.all([
      w.run(["project", "list"]),
      w.run(["project", "list", "--json"]),
      w.run(["project", "list", "--quiet"]),
      w.run(["project", "get", "payments"]),
      w.run(["project", "get", "payments", "--json"]),
    ]);
    const lines = list.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^NAME\s+DESCRIPTION\s+LABELS\s+CREATED$/);
    expect(lines.map((l) => l.split(/\s+/)[0])).toEqual(["NAME", "billing", "default", "payments"]);
    // Aligned: every row's second column starts where the header's does.
    const column = lines[0]!.indexOf("DESCRIPTION");
    expect(lines[3]!.indexOf("Payment services")).toBe(column);
    expect(list.stdout).toMatch(/payments\s+Payment services\s+(just now|\d+ seconds? ago)/);
    expect(listJson.json().items.map((p: { name: string }) => p.name)).toEqual([
      "billing",
      "default",
      "payments",
    ]);
    expect(listJson.json().next_cursor).toBeNull();
    expect(quiet.stdout).toBe("billing\ndefault\npayments\n");
    expect(get.stdout).toMatch(/^name\s+payments$/m);
    expect(get.stdout).toMatch(/^description\s+Payment services$/m);
    expect(get.stdout).toMatch(/^created\s+.* by bootstrap@default\.serviceaccounts\.latchkey$/m);
    expect(getJson.json()).toMatchObject({ name: "payments", description: "Payment services" });

    const update = await w.run([
      "project",
      "update",
      "billing",
      "--label",
      "tier=1",
      "--remove-label",
      "team",
    ]);
    expect(update.stdout).toBe("Updated project billing.\n");
    const updateJson = await w.run(["project", "update", "billing", "--description", "Invoices", "--json"]);
    expect(updateJson.json()).toMatchObject({ description: "Invoices", labels: { tier: "1" } });

    const del = await w.run(["project", "delete", "billing", "--yes"]);
    expect(del.code).toBe(0);
    expect(del.stdout).toBe("Deleted project billing.\n");
    await w.run(["project", "create", "scratch"]);
    const delJson = await w.run(["project", "delete", "scratch", "--yes", "--json"]);
    expect(delJson.json()).toEqual({ project: "scratch", deleted: true });
    const gone = await w.run(["project", "get", "billing"]);
    expect(gone.code).toBe(4);
  });

  it("sa create, list, get, update, delete", async () => {
    const created = await w.run([
      "sa",
      "create",
      "deployer",
      "--project",
      "payments",
      "--role",
      "contributor",
      "--owner",
      "platform-team",
    ]);
    expect(created.code).toBe(0);
    expect(created.stdout).toBe(
      "Created service account deployer@payments.serviceaccounts.latchkey (contributor, project scope).\n",
    );
    const createdJson = await w.run(["sa", "create", "auditor", "-p", "payments", "--json"]);
    expect(createdJson.json()).toMatchObject({
      email: "auditor@payments.serviceaccounts.latchkey",
      role: "viewer",
      scope: "project",
    });

    const [list, listJson, quiet, get, byEmail] = await Promise.all([
      w.run(["sa", "list", "--project", "payments"]),
      w.run(["sa", "list", "--project", "payments", "--json"]),
      w.run(["sa", "list", "--project", "payments", "-q"]),
      w.run(["sa", "get", "deployer", "--project", "payments"]),
      w.run(["sa", "get", "deployer@payments.serviceaccounts.latchkey", "--json"]),
    ]);
    expect(list.stdout.split("\n")[0]).toMatch(/^NAME\s+ROLE\s+SCOPE\s+STATUS\s+OWNER\s+CREATED$/);
    expect(list.stdout).toMatch(/^deployer\s+contributor\s+project\s+enabled\s+platform-team\s+/m);
    expect(listJson.json().items.map((a: { name: string }) => a.name)).toEqual(["auditor", "deployer"]);
    expect(quiet.stdout).toBe("auditor\ndeployer\n");
    expect(get.stdout).toMatch(/^email\s+deployer@payments\.serviceaccounts\.latchkey$/m);
    expect(get.stdout).toMatch(/^role\s+contributor \(project scope\)$/m);
    expect(byEmail.json()).toMatchObject({ name: "deployer", project: "payments", owner: "platform-team" });

    const update = await w.run(["sa", "update", "auditor", "-p", "payments", "--disable", "--owner", "sec"]);
    expect(update.stdout).toBe("Updated service account auditor@payments.serviceaccounts.latchkey.\n");
    const updateJson = await w.run(["sa", "update", "auditor", "-p", "payments", "--enable", "--json"]);
    expect(updateJson.json()).toMatchObject({ disabled: false, owner: "sec" });

    const del = await w.run(["sa", "delete", "auditor", "-p", "payments", "--yes"]);
    expect(del.stdout).toBe(
      "Deleted service account auditor@payments.serviceaccounts.latchkey; its tokens are revoked.\n",
    );
    await w.run(["sa", "create", "temp", "-p", "payments"]);
    const delJson = await w.run([
      "sa",
      "delete",
      "temp@payments.serviceaccounts.latchkey",
      "--yes",
      "--json",
    ]);
    expect(delJson.json()).toEqual({ project: "payments", name: "temp", deleted: true });
  });

  it("token create shows the secret once with a warning; --quiet and --output-file", async () => {
    const created = await w.run([
      "token",
      "create",
      "-p",
      "payments",
      "--sa",
      "deployer",
      "--name",
      "ci",
      "--ttl",
      "7d",
    ]);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^Created token ci for deployer@payments\.serviceaccounts\.latchkey\.$/m);
    expect(created.stdout).toMatch(/^expires\s+in 7 days \(\d{4}-.*Z\)$/m);
    expect(created.stdout).toMatch(TOKEN_SHAPE);
    expect(created.stderr).toContain("shown only this once");

    const json = await w.run([
      "token",
      "create",
      "-p",
      "payments",
      "--sa",
      "deployer",
      "-n",
      "ro",
      "--access",
      "read-only",
      "--json",
    ]);
    const issued = json.json();
    expect(issued).toMatchObject({ name: "ro", access: "read-only", state: "active" });
    expect(issued.token).toMatch(TOKEN_SHAPE);
    expect(json.stderr).toBe("");

    const quiet = await w.run([
      "token",
      "create",
      "-p",
      "payments",
      "--sa",
      "deployer",
      "--name",
      "q",
      "--quiet",
    ]);
    expect(quiet.stdout).toMatch(/^lk_[0-9A-Za-z]{49}\n$/);
    expect(quiet.stderr).toBe("");

    const file = join(w.home, "ci.token");
    const toFile = await w.run([
      "token",
      "create",
      "-p",
      "payments",
      "--sa",
      "deployer",
      "--name",
      "f",
      "--output-file",
      file,
    ]);
    expect(toFile.code).toBe(0);
    expect(toFile.stdout).not.toMatch(TOKEN_SHAPE);
    expect(toFile.stdout).toContain(`The secret is in ${file} (mode 0600)`);
    expect(readFileSync(file, "utf8")).toMatch(/^lk_[0-9A-Za-z]{49}\n$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);

    const fileJson = join(w.home, "ci2.token");
    const toFileJson = await w.run([
      "token",
      "create",
      "-p",
      "payments",
      "--sa",
      "deployer",
      "--name",
      "f2",
      "-o",
      fileJson,
      "--json",
    ]);
    expect(toFileJson.json().token).toBeUndefined();
    expect(toFileJson.json().token_file).toBe(fileJson);
    expect(readFileSync(fileJson, "utf8")).toMatch(TOKEN_SHAPE);
  });

  it("token list, get, update", async () => {
    const [list, listJson, quiet, filtered] = await Promise.all([
      w.run(["token", "list", "--project", "payments", "--sa", "deployer"]),
      w.run(["token", "list", "--project", "payments", "--sa", "deployer", "--json"]),
      w.run(["token", "list", "--sa", "deployer@payments.serviceaccounts.latchkey", "--quiet"]),
      w.run(["token", "list", "--sa", "deployer", "-p", "payments", "--name", "ro", "--json"]),
    ]);
    expect(list.stdout.split("\n")[0]).toMatch(/^ID\s+NAME\s+ACCESS\s+STATE\s+EXPIRES\s+LAST USED$/);
    expect(list.stdout).toMatch(/^[0-9a-f-]{36}\s+ci\s+read-write\s+active\s+in 7 days\s+never$/m);
    expect(list.stdout).toMatch(/^[0-9a-f-]{36}\s+ro\s+read-only\s+active\s+in 90 days\s+never$/m);
    const items = listJson.json().items;
    expect(items.map((t: { name: string }) => t.name)).toEqual(["ci", "ro", "q", "f", "f2"]);
    expect(items.every((t: Record<string, unknown>) => !("token" in t))).toBe(true);
    expect(quiet.stdout.trim().split("\n")).toEqual(items.map((t: { id: string }) => t.id));
    expect(filtered.json().items).toHaveLength(1);

    const id = items[0].id;
    const [get, getJson] = await Promise.all([
      w.run(["token", "get", id]),
      w.run(["token", "get", id, "--json"]),
    ]);
    expect(get.stdout).toMatch(new RegExp(`^id\\s+${id}$`, "m"));
    expect(get.stdout).toMatch(/^state\s+active$/m);
    expect(get.stdout).toMatch(/^last used\s+never$/m);
    expect(getJson.json()).toMatchObject({ id, name: "ci", state: "active", rotated_to: null });

    const update = await w.run(["token", "update", id, "--description", "deploys", "--label", "env=prod"]);
    expect(update.stdout).toBe(`Updated token ci (${id}).\n`);
    const updateJson = await w.run(["token", "update", id, "--owner", "platform", "--json"]);
    expect(updateJson.json()).toMatchObject({
      description: "deploys",
      owner: "platform",
      labels: { env: "prod" },
    });
  });

  it("token rotate with a grace period, and verify of both secrets", async () => {
    const first = await w.run([
      "token",
      "create",
      "-p",
      "payments",
      "--sa",
      "deployer",
      "--name",
      "rot",
      "--json",
    ]);
    const { id, token: secret } = first.json();
    const rotated = await w.run(["token", "rotate", id, "--grace", "24h"]);
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toMatch(/^Rotated token rot of deployer@payments\.serviceaccounts\.latchkey\.$/m);
    expect(rotated.stdout).toMatch(/^previous\s+stops working in 24 hours \(.*\)$/m);
    const newSecret = rotated.stdout.match(TOKEN_SHAPE)![0];

    const [oldOk, newOk, newJson] = await Promise.all([
      w.run(["verify", secret]),
      w.run(["verify", "-"], { input: `${newSecret}\n` }),
      w.run(["verify", newSecret, "--json"]),
    ]);
    expect(oldOk.code).toBe(0);
    expect(oldOk.stdout).toMatch(/^valid: opaque token rot$/m);
    expect(oldOk.stdout).toMatch(/^expires\s+in 24 hours/m);
    expect(newOk.stdout).toMatch(/^service account\s+deployer@payments\.serviceaccounts\.latchkey$/m);
    expect(newOk.stdout).toMatch(/^expires\s+in 90 days/m);
    expect(newJson.json()).toMatchObject({
      active: true,
      reason: null,
      format: "opaque",
      checked: { checksum: true, server: "introspection" },
      name: "rot",
      service_account: { name: "deployer", project: "payments" },
      access: "read-write",
      effective_role: null,
    });
    // The secret itself is never printed back.
    expect(newOk.stdout + newJson.stdout).not.toContain(newSecret);

    const again = await w.run([
      "token",
      "rotate",
      newJson.json().token_id,
      "--previous-expires-at",
      "2099-01-01T00:00:00Z",
      "--json",
    ]);
    expect(again.code).toBe(0);
    const r = again.json();
    expect(r.rotated_from).toBe(newJson.json().token_id);
    expect(r.previous.id).toBe(newJson.json().token_id);
    expect(r.token).toMatch(TOKEN_SHAPE);

    const quiet = await w.run(["token", "rotate", r.id, "--retire-on-first-use", "--quiet"]);
    expect(quiet.stdout).toMatch(/^lk_[0-9A-Za-z]{49}\n$/);
  });

  it("verify: bad checksums never reach the server; revoked tokens say so", async () => {
    const good = (
      await w.run(["token", "create", "-p", "payments", "--sa", "deployer", "--name", "v", "--json"])
    ).json();
    const flipped = good.token.slice(0, -1) + (good.token.endsWith("A") ? "B" : "A");
    const [bad, badJson, junk] = await Promise.all([
      w.run(["verify", flipped]),
      w.run(["verify", flipped, "--json"]),
      w.run(["verify", "not-a-token", "--json"]),
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^not valid: its checksum does not match .*\(checksum_mismatch\)$/m);
    expect(badJson.json()).toMatchObject({
      active: false,
      reason: "checksum_mismatch",
      checked: { checksum: true, server: null },
    });
    expect(junk.json()).toMatchObject({ active: false, reason: "malformed", format: "unknown" });

    // A JWT-format token has no checksum: it goes straight to the server.
    const jwt = await w.run([
      "token",
      "create",
      "-p",
      "payments",
      "--sa",
      "deployer",
      "-n",
      "j",
      "--format",
      "jwt",
      "--json",
    ]);
    expect(jwt.json().format).toBe("jwt");
    const jwtVerdict = await w.run(["verify", "-", "--json"], { input: jwt.json().token });
    expect(jwtVerdict.json()).toMatchObject({
      active: true,
      format: "jwt",
      checked: { checksum: false, server: "introspection" },
      token_id: jwt.json().id,
    });

    await w.run(["token", "revoke", good.id, "--yes"]);
    const revoked = await w.run(["verify", good.token, "--json"]);
    expect(revoked.code).toBe(1);
    expect(revoked.json()).toMatchObject({
      active: false,
      reason: "inactive",
      checked: { server: "introspection" },
    });
  });

  it("token revoke, one and all of an account", async () => {
    const a = (
      await w.run(["token", "create", "-p", "payments", "--sa", "deployer", "--name", "gone", "--json"])
    ).json();
    const revoke = await w.run(["token", "revoke", a.id, "--yes"]);
    expect(revoke.code).toBe(0);
    expect(revoke.stdout).toBe(`Revoked token gone (${a.id}).\n`);
    const again = await w.run(["token", "revoke", a.id, "--yes", "--json"]);
    expect(again.json()).toEqual({ revoked: [a.id] });

    await w.run(["sa", "create", "bulk", "-p", "payments", "--role", "viewer"]);
    const ids: string[] = [];
    for (const name of ["one", "two", "three"]) {
      ids.push(
        (await w.run(["token", "create", "-p", "payments", "--sa", "bulk", "--name", name, "--json"])).json()
          .id,
      );
    }
    const all = await w.run(["token", "revoke", "--sa", "bulk", "-p", "payments", "--all", "--yes"]);
    expect(all.code).toBe(0);
    expect(all.stdout).toBe("Revoked 3 token(s) of bulk@payments.serviceaccounts.latchkey.\n");
    const none = await w.run([
      "token",
      "revoke",
      "--sa",
      "bulk",
      "-p",
      "payments",
      "--all",
      "--yes",
      "--json",
    ]);
    expect(none.json()).toEqual({ revoked: [] });
    const states = (await w.run(["token", "list", "--sa", "bulk", "-p", "payments", "--json"])).json();
    expect(states.items.map((t: { state: string }) => t.state)).toEqual(["revoked", "revoked", "revoked"]);

    ids.length = 0;
    for (const name of ["four", "five"]) {
      ids.push(
        (await w.run(["token", "create", "-p", "payments", "--sa", "bulk", "--name", name, "--json"])).json()
          .id,
      );
    }
    const allJson = await w.run([
      "token",
      "revoke",
      "--sa",
      "bulk@payments.serviceaccounts.latchkey",
      "--all",
      "--yes",
      "--json",
    ]);
    expect(allJson.json()).toEqual({ revoked: ids });
  });

  it("audit list, tail, verify", async () => {
    const [list, listJson, quiet, all, tail, tailJson, verify, verifyJson] = await Promise.all([
      w.run(["audit", "list", "--limit", "3"]),
      w.run(["audit", "list", "--limit", "3", "--json"]),
      w.run(["audit", "list", "--limit", "3", "-q"]),
      w.run(["audit", "list", "--all", "--json", "--action", "token.revoke"]),
      w.run(["audit", "tail", "-n", "2"]),
      w.run(["audit", "tail", "-n", "2", "--json"]),
      w.run(["audit", "verify"]),
      w.run(["audit", "verify", "--json"]),
    ]);
    const lines = list.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^TIME\s+ACTION\s+OUTCOME\s+ACTOR\s+TARGET\s+PROJECT$/);
    expect(lines).toHaveLength(4);
    expect(lines[1]).toMatch(
      /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+token\.\S+\s+success\s+bootstrap\s+token:\S+\s+payments$/,
    );
    expect(list.stderr).toMatch(/^More events: --cursor \S+, or --all\.$/m);
    const page = listJson.json();
    expect(page.items).toHaveLength(3);
    expect(typeof page.next_cursor).toBe("string");
    expect(quiet.stdout.trim().split("\n")).toEqual(page.items.map((e: { id: string }) => e.id));
    const revokes = all.json();
    expect(revokes.next_cursor).toBeNull();
    // "gone" (twice: the second is a no-op and writes nothing), "v", three of bulk, two more of bulk.
    expect(revokes.items.length).toBeGreaterThanOrEqual(7);
    expect(revokes.items.every((e: { action: string }) => e.action === "token.revoke")).toBe(true);

    const tailLines = tail.stdout.trimEnd().split("\n");
    expect(tailLines[0]).toMatch(/^TIME\s+ACTION/);
    expect(tailLines).toHaveLength(3);
    const events = tailJson.stdout
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(events).toHaveLength(2);
    // Oldest first: the reverse of the list's order.
    expect(events[0].time <= events[1].time).toBe(true);

    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/^intact: \d+ events checked, last hash [0-9a-f]{64}\n$/);
    expect(verifyJson.json()).toMatchObject({ valid: true, first_invalid_event_id: null });
  });

  it("audit tail -f prints new events as they happen", async () => {
    const child = spawn(
      process.execPath,
      [CLI, "audit", "tail", "-f", "-n", "1", "--interval", "1s", "--json"],
      { env: cleanEnv(w.env), stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
    const lines = () =>
      out
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l));
    const until = async (done: () => boolean) => {
      const deadline = Date.now() + 60_000;
      while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    };
    try {
      // The latest event first; once it is there, the command is polling for new ones.
      await until(() => lines().length >= 1);
      expect(lines()).toHaveLength(1);
      await w.run(["project", "create", "followed"]);
      await until(() => lines().length >= 2);
      expect(
        lines().map((e: { action: string; target: { name: string } }) => [e.action, e.target.name])[1],
      ).toEqual(["project.create", "followed"]);
    } finally {
      child.kill("SIGINT");
    }
  });

  it("login saves a 0600 profile; profile list, use; logout", async () => {
    const env = { LATCHKEY_ADDR: undefined, LATCHKEY_TOKEN: undefined };
    const tokenFile = join(w.server.dataDir, "bootstrap-token");
    const login = await w.run(
      ["login", "--addr", w.server.url, "--token-file", tokenFile, "--profile", "local"],
      { env },
    );
    expect(login.code).toBe(0);
    expect(login.stdout).toContain(
      `Logged in to ${w.server.url} as bootstrap@default.serviceaccounts.latchkey (owner, organization scope).`,
    );
    const path = join(w.configDir, "latchkey", "config.json");
    expect(login.stdout).toContain(`Saved as profile "local" in ${path}`);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(path, "utf8"))).toMatchObject({
      current_profile: "local",
      profiles: { local: { addr: w.server.url, token: w.bootstrapToken } },
    });

    const second = await w.run(
      ["login", "--addr", w.server.url, "--token-file", "-", "--profile", "second", "--json"],
      {
        env,
        input: `${w.bootstrapToken}\n`,
      },
    );
    expect(second.json()).toMatchObject({
      profile: "second",
      addr: w.server.url,
      whoami: { effective_role: "owner" },
    });

    const [list, listJson] = await Promise.all([
      w.run(["profile", "list"], { env }),
      w.run(["profile", "list", "--json"], { env }),
    ]);
    expect(list.stdout).toMatch(/^\s+NAME\s+ADDRESS\s+SERVICE ACCOUNT\s+SAVED$/m);
    expect(list.stdout).toMatch(/^\s+local\s+http:\/\/127\.0\.0\.1:\d+\s+bootstrap@default/m);
    expect(list.stdout).toMatch(/^\*\s+second\s+/m);
    expect(list.stdout + listJson.stdout).not.toContain(w.bootstrapToken);
    expect(listJson.json()).toMatchObject({ current_profile: "second", config_path: path });

    const use = await w.run(["profile", "use", "local"], { env });
    expect(use.stdout).toBe(`Now using profile "local" (${w.server.url}).\n`);
    const useJson = await w.run(["profile", "use", "second", "--json"], { env });
    expect(useJson.json()).toEqual({ current_profile: "second" });

    // The profile is enough to work with, with nothing in the environment.
    const whoami = await w.run(["whoami", "--profile", "local"], { env });
    expect(whoami.stdout).toMatch(/\(profile local\)$/m);

    const logout = await w.run(["logout", "--profile", "local"], { env });
    expect(logout.stdout).toContain('Forgot profile "local".');
    const logoutJson = await w.run(["logout", "--json"], { env });
    expect(logoutJson.json()).toEqual({ profile: "second", removed: true });
    const nobody = await w.run(["whoami"], { env });
    expect(nobody.code).toBe(3);
    expect(nobody.stderr).toContain("not logged in");
  });

  it("token rotate self puts the new secret in the profile; token revoke self", async () => {
    const env = { LATCHKEY_ADDR: undefined, LATCHKEY_TOKEN: undefined };
    await w.run(["sa", "create", "selfie", "-p", "payments", "--role", "contributor"]);
    const secret = (
      await w.run(["token", "create", "-p", "payments", "--sa", "selfie", "--name", "me", "--quiet"])
    ).stdout.trim();
    const login = await w.run(["login", "--addr", w.server.url, "--token-file", "-", "--profile", "me"], {
      env,
      input: secret,
    });
    expect(login.code).toBe(0);

    const rotated = await w.run(["token", "rotate", "self", "--json"], { env });
    expect(rotated.code).toBe(0);
    const fresh = rotated.json();
    expect(fresh.previous.state).not.toBe("active");
    const config = JSON.parse(readFileSync(join(w.configDir, "latchkey", "config.json"), "utf8"));
    expect(config.profiles.me.token).toBe(fresh.token);
    const whoami = await w.run(["whoami", "--json"], { env });
    expect(whoami.json().token_id).toBe(fresh.id);
    expect((await w.run(["verify", secret, "--json"])).json().reason).toBe("inactive");

    const revoked = await w.run(["token", "revoke", "self", "--yes"], { env });
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toBe(`Revoked token me (${fresh.id}).\n`);
    expect(revoked.stderr).toContain('Profile "me" holds the revoked token now');
    expect((await w.run(["whoami"], { env })).code).toBe(3);
    await w.run(["logout", "--profile", "me"], { env });
  });

  it("migrate, as text and as JSON", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "latchkey-migrate-"));
    try {
      const [text, json] = [
        await w.run(["migrate", "--data-dir", dataDir]),
        await w.run(["migrate", "--data-dir", dataDir, "--json"]),
      ];
      expect(text.stdout).toMatch(/^store is at migration (\S+) \((\d+) applied\)\n$/);
      const [, migration, applied] = /migration (\S+) \((\d+)/.exec(text.stdout)!;
      expect(json.json()).toEqual({ migration, applied: Number(applied) });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("completion prints a script for each shell, also as JSON", async () => {
    const [bash, json] = await Promise.all([
      w.run(["completion", "bash"]),
      w.run(["completion", "fish", "--json"]),
    ]);
    expect(bash.stdout).toContain("complete -F _latchkey latchkey");
    expect(json.json().shell).toBe("fish");
    expect(json.json().script).toContain("complete -c latchkey");
  });
});
