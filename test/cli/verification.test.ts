import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditIds, type CliWorld, startWorld } from "./helpers.ts";

const JWT_SHAPE = /eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/;
const EMAIL = "deployer@default.serviceaccounts.latchkey";

/** `token request`, `keys list|rotate` and `verify` through introspection, against a real server. */
describe("latchkey token request, keys and verify", { timeout: 180_000 }, () => {
  let w: CliWorld;
  let dir: string;

  beforeAll(async () => {
    w = await startWorld();
    dir = mkdtempSync(join(tmpdir(), "latchkey-verification-"));
    const sa = await w.run(["sa", "create", "deployer", "--role", "contributor"]);
    if (sa.code !== 0) throw new Error(sa.stderr);
  });
  afterAll(async () => {
    await w?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("token request prints the JWT once; --json, --quiet, --output-file, --bound-object", async () => {
    const [table, json, quiet] = await Promise.all([
      w.run(["token", "request", "--sa", "deployer", "--expiration", "30m"]),
      w.run(["token", "request", "--sa", EMAIL, "--audience", "https://a.example", "--json"]),
      w.run(["token", "request", "--sa", "deployer", "--quiet"]),
    ]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(
      new RegExp(`^Requested a token for ${EMAIL.replace(/\./g, "\\.")}\\.$`, "m"),
    );
    expect(table.stdout).toMatch(/^expires\s+in 30 minutes \(\d{4}-.*Z\)$/m);
    expect(table.stdout).toMatch(/^audiences\s+http:\/\//m);
    expect(table.stdout).toMatch(JWT_SHAPE);
    expect(table.stderr).toContain("shown only this once");

    expect(json.code).toBe(0);
    const issued = json.json();
    expect(issued).toMatchObject({ audiences: ["https://a.example"] });
    expect(issued.token).toMatch(JWT_SHAPE);
    expect(Date.parse(issued.expiration_timestamp) - Date.now()).toBeGreaterThan(50 * 60_000);
    expect(json.stderr).toBe("");

    expect(quiet.code).toBe(0);
    expect(quiet.stdout).toMatch(/^eyJ[A-Za-z0-9_.-]+\n$/);
    expect(quiet.stderr).toBe("");

    const file = join(dir, "jwt");
    const toFile = await w.run(["token", "request", "--sa", "deployer", "--output-file", file, "--json"]);
    expect(toFile.code).toBe(0);
    expect(toFile.json()).toMatchObject({ token_file: file });
    expect(toFile.json().token).toBeUndefined();
    expect(readFileSync(file, "utf8").trim()).toMatch(JWT_SHAPE);
    expect(statSync(file).mode & 0o777).toBe(0o600);

    const put = await fetch(`${w.server.url}/v1/projects/default/bound-objects/Pod/web-0`, {
      method: "PUT",
      headers: { authorization: `Bearer ${w.bootstrapToken}`, "content-type": "application/json" },
      body: JSON.stringify({ uid: "uid-1" }),
    });
    expect(put.status).toBe(200);
    const [bound, wrongUid, badRef] = await Promise.all([
      w.run(["token", "request", "--sa", "deployer", "--bound-object", "Pod/web-0:uid-1", "--json"]),
      w.run(["token", "request", "--sa", "deployer", "--bound-object", "Pod/web-0:uid-2", "--json"]),
      w.run(["token", "request", "--sa", "deployer", "--bound-object", "web-0"]),
    ]);
    expect(bound.json().bound_object_ref).toEqual({ kind: "Pod", name: "web-0", uid: "uid-1" });
    expect(wrongUid.code).toBe(2);
    expect(wrongUid.errorJson().error.code).toBe("validation_failed");
    expect(badRef.code).toBe(2);
    expect(badRef.stderr).toContain("is not KIND/NAME[:UID]");
  });

  it("keys rotate is refused without --yes off a terminal: exit 2, nothing changed", async () => {
    const before = (await w.run(["keys", "list", "--json"])).json();
    const events = await auditIds(w);
    const [refused, refusedJson] = await Promise.all([
      w.run(["keys", "rotate"]),
      w.run(["keys", "rotate", "--json"]),
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe("");
    expect(refused.stderr).toContain("refusing to rotate the signing key without confirmation");
    expect(refusedJson.code).toBe(2);
    expect(refusedJson.errorJson().error.code).toBe("confirmation_required");
    expect((await w.run(["keys", "list", "--json"])).json()).toEqual(before);
    expect(await auditIds(w)).toEqual(events);
  });

  it("keys list and keys rotate, as a table and as JSON", async () => {
    const [list, listJson] = await Promise.all([w.run(["keys", "list"]), w.run(["keys", "list", "--json"])]);
    expect(list.code).toBe(0);
    const lines = list.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^KID\s+ALGORITHM\s+STATE\s+CREATED\s+RETIRED$/);
    const items = listJson.json().items;
    expect(items.length).toBeGreaterThan(0);
    const active = items.find((k: { active: boolean }) => k.active);
    expect(active).toMatchObject({ published: true, retired_at: null });
    expect(list.stdout).toMatch(new RegExp(`^${active.kid}\\s+${active.algorithm}\\s+active\\s`, "m"));

    const rotated = await w.run(["keys", "rotate", "--yes"]);
    expect(rotated.code).toBe(0);
    const kid = /^Rotated the signing key: (\S+) signs new tokens now\.$/m.exec(rotated.stdout)?.[1];
    expect(kid).toBeDefined();
    expect(kid).not.toBe(active.kid);
    const rotatedJson = await w.run(["keys", "rotate", "--yes", "--json"]);
    expect(rotatedJson.code).toBe(0);
    expect(rotatedJson.json()).toMatchObject({ active: true, published: true, retired_at: null });

    const after = (await w.run(["keys", "list", "--json"])).json().items;
    expect(after.map((k: { kid: string }) => k.kid)).toEqual(
      expect.arrayContaining([active.kid, kid, rotatedJson.json().kid]),
    );
    expect(after.filter((k: { active: boolean }) => k.active).map((k: { kid: string }) => k.kid)).toEqual([
      rotatedJson.json().kid,
    ]);
    const previous = after.find((k: { kid: string }) => k.kid === active.kid);
    expect(previous).toMatchObject({ active: false, published: true });
    expect((await w.run(["keys", "list"])).stdout).toMatch(
      new RegExp(`^${active.kid}\\s+\\S+\\s+published\\s`, "m"),
    );
  });

  it("verify of an active token through introspection, without using it", async () => {
    const created = (
      await w.run(["token", "create", "--sa", "deployer", "--name", "ci", "--audience", "api", "--json"])
    ).json();
    const [table, json] = await Promise.all([
      w.run(["verify", created.token]),
      w.run(["verify", "-", "--json"], { input: `${created.token}\n` }),
    ]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^valid: opaque token ci$/m);
    expect(table.stdout).toMatch(new RegExp(`^service account\\s+${EMAIL.replace(/\./g, "\\.")}$`, "m"));
    expect(table.stdout).toMatch(/^expires\s+in 90 days/m);
    expect(table.stdout).not.toContain(created.token);
    expect(json.code).toBe(0);
    expect(json.json()).toEqual({
      active: true,
      reason: null,
      format: "opaque",
      checked: { checksum: true, server: "introspection" },
      token_id: created.id,
      name: "ci",
      service_account: { id: created.service_account.id, project: "default", name: "deployer", email: EMAIL },
      access: "read-write",
      effective_role: null,
      audiences: ["api"],
      expires_at: created.expires_at,
    });
    // Introspection does not use the token: it has still never been used.
    expect((await w.run(["token", "get", created.id, "--json"])).json().last_used_at).toBeNull();

    // A short-lived JWT: no checksum, no stored record, still who and until when.
    const jwt = (await w.run(["token", "request", "--sa", "deployer", "--json"])).json();
    const jwtVerdict = await w.run(["verify", jwt.token, "--json"]);
    expect(jwtVerdict.code).toBe(0);
    expect(jwtVerdict.json()).toMatchObject({
      active: true,
      format: "jwt",
      checked: { checksum: false, server: "introspection" },
      name: null,
      service_account: { name: "deployer", project: "default" },
    });
    expect(
      Math.abs(Date.parse(jwtVerdict.json().expires_at) - Date.parse(jwt.expiration_timestamp)),
    ).toBeLessThan(1000);

    // With no credentials configured, the token asks about itself (and is used).
    const self = await w.run(["verify", created.token, "--json"], { env: { LATCHKEY_TOKEN: undefined } });
    expect(self.code).toBe(0);
    expect(self.json()).toMatchObject({
      active: true,
      checked: { server: "whoami" },
      name: "ci",
      effective_role: "contributor",
    });
    expect((await w.run(["token", "get", created.id, "--json"])).json().last_used_at).not.toBeNull();
  });

  it("verify of a revoked and of a malformed token: exit 1, and why", async () => {
    const created = (await w.run(["token", "create", "--sa", "deployer", "--name", "gone", "--json"])).json();
    await w.run(["token", "revoke", created.id, "--yes"]);
    const flipped = created.token.slice(0, -1) + (created.token.endsWith("A") ? "B" : "A");
    const [revoked, revokedJson, bad, badJson, junk] = await Promise.all([
      w.run(["verify", created.token]),
      w.run(["verify", created.token, "--json"]),
      w.run(["verify", flipped]),
      w.run(["verify", flipped, "--json"]),
      w.run(["verify", "not-a-token", "--json"]),
    ]);
    expect(revoked.code).toBe(1);
    expect(revoked.stdout).toMatch(/^not valid: the server reports it inactive: .*\(inactive\)$/m);
    expect(revokedJson.code).toBe(1);
    expect(revokedJson.json()).toMatchObject({
      active: false,
      reason: "inactive",
      format: "opaque",
      checked: { checksum: true, server: "introspection" },
      token_id: null,
      service_account: null,
      expires_at: null,
    });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^not valid: its checksum does not match .*\(checksum_mismatch\)$/m);
    expect(badJson.json()).toMatchObject({
      active: false,
      reason: "checksum_mismatch",
      checked: { checksum: true, server: null },
    });
    expect(junk.code).toBe(1);
    expect(junk.json()).toMatchObject({ active: false, reason: "malformed", format: "unknown" });

    // Without credentials, the server's own reason.
    const self = await w.run(["verify", created.token, "--json"], { env: { LATCHKEY_TOKEN: undefined } });
    expect(self.json()).toMatchObject({ reason: "token_revoked", checked: { server: "whoami" } });

    // A caller whose own credentials are refused is a failure to verify, not a verdict: exit 3.
    const caller = await w.run(["verify", w.bootstrapToken, "--json"], {
      env: { LATCHKEY_TOKEN: created.token },
    });
    expect(caller.code).toBe(3);
    expect(caller.errorJson().error.code).toBe("invalid_client");
  });
});
