import { KeyObject } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate, openSqlite } from "../../../src/db/database.ts";
import { MasterKey } from "../../../src/keys/master-key.ts";
import { ManualClock } from "../../../src/lib/clock.ts";
import { buildApp } from "../../../src/server/app.ts";
import { accountWithToken, startServer, type TestServer } from "../../helpers/server.ts";
import { acceptedEverywhere, decode, tokenRequest } from "./verifiers.ts";

const T0 = "2030-01-01T00:00:00.000Z";

describe("signing keys", () => {
  const clock = new ManualClock(T0);
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ clock });
  });
  afterAll(() => server.close());

  const keys = () => server.api("GET", "/v1/signing-keys");

  it("the first start makes one active ES256 key; only organization-scoped owners list them", async () => {
    const res = await keys();
    expect(res.status).toBe(200);
    expect(res.body.items).toHaveLength(1);
    const [key] = res.body.items;
    expect(key).toMatchObject({ algorithm: "ES256", active: true, published: true, retired_at: null });
    expect(key.public_jwk).toMatchObject({ kty: "EC", crv: "P-256", kid: key.kid, alg: "ES256", use: "sig" });
    expect(key.public_jwk).not.toHaveProperty("d");

    const admin = await accountWithToken(server, { name: "org-admin", role: "admin", scope: "organization" });
    const projectOwner = await accountWithToken(server, { name: "project-owner", role: "owner" });
    for (const token of [admin.token, projectOwner.token]) {
      expect((await server.api("GET", "/v1/signing-keys", { token })).status).toBe(403);
      expect((await server.api("POST", "/v1/signing-keys/rotate", { token })).status).toBe(403);
    }
    expect((await keys()).body.items).toHaveLength(1);
  });

  it("private keys are stored encrypted under the master key: no key material in the database files", async () => {
    const rows = await server.latchkey.deps.db.selectFrom("signing_keys").selectAll().execute();
    expect(rows.length).toBeGreaterThan(0);
    const files = readdirSync(server.dataDir).map((f) => readFileSync(join(server.dataDir, f)));
    const everything = Buffer.concat(files);
    for (const row of rows) {
      expect(row.private_key).toMatch(/^v1\.[A-Za-z0-9_-]+$/);
      expect(row.private_key).not.toContain("PRIVATE KEY");
      expect(Buffer.from(row.private_key.slice(3), "base64url").toString("latin1")).not.toContain(
        "-----BEGIN",
      );
    }
    for (const key of server.latchkey.deps.keys.all()) {
      const privateKey = KeyObject.from(key.privateKey as CryptoKey);
      const der = privateKey.export({ type: "pkcs8", format: "der" });
      const pem = privateKey.export({ type: "pkcs8", format: "pem" }) as string;
      const d = privateKey.export({ format: "jwk" }).d as string;
      expect(everything.includes(der)).toBe(false);
      expect(everything.includes(pem.split("\n")[1] as string)).toBe(false);
      expect(everything.includes(d)).toBe(false);
      expect(everything.includes(Buffer.from(d, "base64url"))).toBe(false);
    }
    expect(everything.toString("latin1")).not.toContain("PRIVATE KEY");
  });

  it("rotation makes a new active key; the previous one keeps verifying the tokens it signed", async () => {
    const before = (await keys()).body.items[0];
    const old = (await tokenRequest(server, "bootstrap")).body.token;
    expect(decode(old).header.kid).toBe(before.kid);
    clock.advance(10);

    const rotated = await server.api("POST", "/v1/signing-keys/rotate");
    expect(rotated.status).toBe(201);
    expect(rotated.body).toMatchObject({
      algorithm: "ES256",
      active: true,
      published: true,
      retired_at: null,
    });
    expect(rotated.body.kid).not.toBe(before.kid);

    const listed = (await keys()).body.items;
    expect(listed.map((k: any) => k.kid)).toEqual([rotated.body.kid, before.kid]); // newest first
    expect(listed[1]).toMatchObject({
      active: false,
      published: true,
      retired_at: "2030-01-01T00:00:10.000Z",
    });

    const fresh = (await tokenRequest(server, "bootstrap")).body.token;
    expect(decode(fresh).header.kid).toBe(rotated.body.kid);
    expect(await acceptedEverywhere(server, fresh)).toBe(true);
    expect(await acceptedEverywhere(server, old)).toBe(true);

    const events = await server.api("GET", "/v1/audit-events?action=signing_key.rotate&outcome=success");
    expect(events.body.items).toHaveLength(1);
    expect(events.body.items[0]).toMatchObject({
      outcome: "success",
      target: { type: "signing_key", id: rotated.body.kid },
      details: { retired: [before.kid] },
    });
  });
});

describe("the master key", () => {
  it("a server with a different master key cannot load the signing keys; the right one can", async () => {
    const dir = mkdtempSync(join(tmpdir(), "latchkey-master-"));
    const db = openSqlite(dir);
    try {
      await migrate(db);
      const right = MasterKey.generate();
      const first = await buildApp({ db, masterKey: right, issuer: "http://127.0.0.1:1" });
      const kid = first.deps.keys.active().kid;
      await first.app.close();

      await expect(
        buildApp({ db, masterKey: MasterKey.generate(), issuer: "http://127.0.0.1:1" }),
      ).rejects.toThrow(/cannot be decrypted.*LATCHKEY_MASTER_KEY/);
      const passphrase = MasterKey.fromText("a passphrase of at least thirty-two characters");
      await expect(buildApp({ db, masterKey: passphrase, issuer: "http://127.0.0.1:1" })).rejects.toThrow(
        /cannot be decrypted/,
      );

      const again = await buildApp({
        db,
        masterKey: MasterKey.fromText(right.toText()),
        issuer: "http://127.0.0.1:1",
      });
      expect(again.deps.keys.active().kid).toBe(kid);
      await again.app.close();
    } finally {
      await db.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a wrapped key is bound to its kid: it cannot be moved to another one", () => {
    const master = MasterKey.generate();
    const wrapped = master.encrypt("-----BEGIN PRIVATE KEY-----", "kid-a");
    expect(master.decrypt(wrapped, "kid-a")).toBe("-----BEGIN PRIVATE KEY-----");
    expect(() => master.decrypt(wrapped, "kid-b")).toThrow(/cannot be decrypted/);
    expect(master.encrypt("same", "kid-a")).not.toBe(master.encrypt("same", "kid-a")); // fresh IV each time
  });
});
