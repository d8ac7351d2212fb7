import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createWriteStream } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authenticateToken } from "../../src/auth/authenticate.ts";
import { migrate } from "../../src/db/database.ts";
import type { Latchkey } from "../../src/server/app.ts";
import { systemContext } from "../../src/server/context.ts";
import { AuditChainError } from "../../src/store-transfer/digest.ts";
import { exportStore, importStore } from "../../src/store-transfer/file.ts";
import { checkSigningKeys } from "../../src/store-transfer/keys.ts";
import { countRows } from "../../src/store-transfer/rows.ts";
import { TABLES } from "../../src/store-transfer/tables.ts";
import { copyStore, digestStore, StoreTransferError } from "../../src/store-transfer/transfer.ts";
import { bootstrapped, DIALECTS, MasterKey, nodeOn, type TestDialect, type TestStore } from "./dialects.ts";

const ISSUER = "https://latchkey.test";

/** What a deployment that has lived a little holds: every table has rows. */
interface Deployment {
  store: TestStore;
  node: Latchkey;
  masterKey: MasterKey;
  tokens: {
    admin: string;
    opaque: string;
    jwt: string;
    shortLived: string;
    revoked: string;
    rotatedOld: string;
  };
}

async function call(node: Latchkey, token: string, method: string, url: string, body?: unknown) {
  const form = typeof body === "string";
  const res = await node.app.inject({
    method: method as "POST",
    url,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined
        ? {}
        : { "content-type": form ? "application/x-www-form-urlencoded" : "application/json" }),
    },
    ...(body === undefined ? {} : { payload: form ? body : JSON.stringify(body) }),
  });
  if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
  return res.body ? res.json() : undefined;
}

async function liveDeployment(dialect: TestDialect): Promise<Deployment> {
  const store = await dialect.create();
  const masterKey = MasterKey.generate();
  const node = await nodeOn(store.store, { masterKey, issuer: ISSUER });
  const admin = await bootstrapped(node);
  const sa = "/v1/projects/default/service-accounts";
  await call(node, admin, "POST", "/v1/projects", { name: "ops", labels: { team: "platform" } });
  await call(node, admin, "POST", sa, { name: "deployer", role: "contributor", labels: { tier: "grün ß" } });
  const tokens = `${sa}/deployer/tokens`;
  const opaque = (await call(node, admin, "POST", tokens, { name: "ci", description: "naïve 🔑" })).token;
  const jwt = (await call(node, admin, "POST", tokens, { name: "jwt", format: "jwt", audiences: ["api"] }))
    .token;
  const revokedToken = await call(node, admin, "POST", tokens, { name: "gone" });
  await call(node, admin, "DELETE", `/v1/tokens/${revokedToken.id}`);
  const old = await call(node, admin, "POST", tokens, { name: "rotating" });
  await call(node, admin, "POST", `/v1/tokens/${old.id}/rotate`, { previous_expires_in_seconds: 3600 });
  await call(node, admin, "PUT", "/v1/projects/default/bound-objects/Pod/web-1", { uid: "uid-1" });
  const request = `${sa}/deployer/token-requests`;
  const shortLived = (
    await call(node, admin, "POST", request, { bound_object_ref: { kind: "Pod", name: "web-1" } })
  ).token;
  const doomed = (await call(node, admin, "POST", request, {})).token;
  await call(node, admin, "POST", "/oauth2/revoke", `token=${encodeURIComponent(doomed)}`);
  await call(node, admin, "POST", "/v1/signing-keys/rotate");
  return {
    store,
    node,
    masterKey,
    tokens: { admin, opaque, jwt, shortLived, revoked: revokedToken.token, rotatedOld: old.token },
  };
}

async function isEmpty(store: TestStore): Promise<boolean> {
  await migrate(store.store.db);
  for (const table of TABLES) if ((await countRows(store.store.db, table)) > 0) return false;
  return true;
}

const pairs = DIALECTS.flatMap((from) =>
  DIALECTS.map((to) => ({ from, to, name: `${from.name} → ${to.name}` })),
);

describe.each(pairs)("moving a whole deployment, $name", ({ from, to }) => {
  let source: Deployment;
  let target: TestStore;
  let moved: Latchkey | undefined;
  beforeAll(async () => {
    source = await liveDeployment(from);
  });
  afterAll(async () => {
    await moved?.app.close();
    await source.node.app.close();
    await source.store.destroy();
    await target?.destroy();
  });

  it("copies every row, verifies counts, checksums and the audit chain, and tokens keep working", async () => {
    target = await to.create();
    const report = await copyStore(source.store.store, target.store);
    const before = await digestStore(source.store.store.db);
    expect(report.digest).toEqual(before);
    for (const table of TABLES) expect(before.tables[table.name].rows, table.name).toBeGreaterThan(0);
    expect(await digestStore(target.store.db)).toEqual(before);
    expect(await checkSigningKeys(target.store.db, { key: source.masterKey, source: "test" })).toEqual({
      total: 2,
      decrypted: 2,
      masterKey: "test",
    });

    // A server on the new store, with the same master key and issuer, takes every token issued before.
    moved = await nodeOn(target.store, { masterKey: source.masterKey, issuer: ISSUER });
    const t = source.tokens;
    for (const token of [t.admin, t.opaque, t.jwt, t.shortLived, t.rotatedOld]) {
      expect((await authenticateToken(moved.deps, token)).ok).toBe(true);
    }
    const revoked = await authenticateToken(moved.deps, t.revoked);
    expect(revoked.ok ? "ok" : revoked.error.code).toBe("token_revoked");

    // The chain goes on from where it was.
    await call(moved, t.admin, "POST", "/v1/projects/default/service-accounts", { name: "after-move" });
    const principal = (await authenticateToken(moved.deps, t.admin)) as { principal: any };
    const chain = await moved.services.audit.verify({ ...systemContext(), principal: principal.principal });
    expect(chain).toMatchObject({ valid: true, events_checked: before.audit.events + 1 });
  });

  it("export then import: the same store, through a file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "latchkey-export-"));
    const file = join(dir, "store.export");
    const other = await to.create();
    try {
      const out = createWriteStream(file, { mode: 0o600 });
      const exported = await exportStore(source.store.store, out);
      await new Promise<void>((resolve) => out.end(resolve));
      const imported = await importStore(other.store, file);
      expect(imported.digest).toEqual(exported.digest);
      expect(await digestStore(other.store.db)).toEqual(await digestStore(source.store.store.db));
    } finally {
      await other.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.each(DIALECTS)("a transfer into $name refuses, and writes nothing,", (dialect) => {
  let source: Deployment;
  let dir: string;
  let file: string;
  beforeAll(async () => {
    source = await liveDeployment(DIALECTS[0]!);
    dir = mkdtempSync(join(tmpdir(), "latchkey-export-"));
    file = join(dir, "store.export");
    const out = createWriteStream(file);
    await exportStore(source.store.store, out);
    await new Promise<void>((resolve) => out.end(resolve));
  });
  afterAll(async () => {
    await source.node.app.close();
    await source.store.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  async function refused(lines: string[] | undefined, message: RegExp, into?: TestStore): Promise<void> {
    const target = into ?? (await dialect.create());
    const damaged = join(dir, "damaged.export");
    if (lines) writeFileSync(damaged, `${lines.join("\n")}\n`);
    try {
      await expect(importStore(target.store, lines ? damaged : file)).rejects.toThrow(message);
      if (!into) expect(await isEmpty(target)).toBe(true);
    } finally {
      if (!into) await target.destroy();
    }
  }
  const lines = () => readFileSync(file, "utf8").trimEnd().split("\n");

  it("a file with an edited row", async () => {
    const edited = lines().map((l) => l.replace('"naïve 🔑"', '"edited"'));
    expect(edited).not.toEqual(lines());
    await refused(edited, /do not match their summary \(tokens: the rows differ/);
  });

  it("a file with a row missing", async () => {
    const all = lines();
    const i = all.findIndex((l) => l.startsWith('{"t":"revoked_jwts"'));
    await refused([...all.slice(0, i), ...all.slice(i + 1)], /revoked_jwts: 0 rows instead of 1/);
  });

  it("a file whose rows break a reference (an account missing under its tokens)", async () => {
    const all = lines();
    const i = all.findIndex((l) => l.startsWith('{"t":"service_accounts"'));
    await refused([...all.slice(0, i), ...all.slice(i + 1)], /refused rows of tokens/);
  });

  it("a file that ends early", async () => {
    await refused(lines().slice(0, -1), /ends early/);
  });

  it("a file whose audit chain was edited (summary recomputed to match)", async () => {
    const all = lines().map((l) =>
      l.startsWith('{"t":"audit_events"') ? l.replace('"token.create"', '"token.read"') : l,
    );
    await expect(refused(all, /audit chain does not verify/)).resolves.toBeUndefined();
  });

  it("a target that is not empty", async () => {
    const target = await dialect.create();
    try {
      const node = await nodeOn(target.store, { masterKey: MasterKey.generate() });
      await bootstrapped(node);
      await node.app.close();
      await refused(undefined, /is not empty \(projects: 1/, target);
    } finally {
      await target.destroy();
    }
  });

  it("a source whose audit chain was tampered with", async () => {
    const tampered = await dialect.create();
    const target = await dialect.create();
    try {
      const node = await nodeOn(tampered.store, { masterKey: MasterKey.generate() });
      await bootstrapped(node);
      await node.app.close();
      await tampered.store.db
        .updateTable("audit_events")
        .set({ details: '{"forged":true}' })
        .where("seq", "=", 2)
        .execute();
      await expect(copyStore(tampered.store, target.store)).rejects.toThrow(AuditChainError);
      expect(await isEmpty(target)).toBe(true);
    } finally {
      await tampered.destroy();
      await target.destroy();
    }
  });

  it("the same store as source and target", async () => {
    await expect(copyStore(source.store.store, source.store.store)).rejects.toThrow(StoreTransferError);
  });
});
