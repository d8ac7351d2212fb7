import { afterEach, describe, expect, it } from "vitest";
import { authenticateToken } from "../../src/auth/authenticate.ts";
import { ApiError } from "../../src/lib/errors.ts";
import { ManualClock } from "../../src/lib/clock.ts";
import type { Latchkey } from "../../src/server/app.ts";
import { bootstrap } from "../../src/server/bootstrap.ts";
import type { RequestContext } from "../../src/server/context.ts";
import { digestStore } from "../../src/store-transfer/transfer.ts";
import { bootstrapped, DIALECTS, MasterKey, nodeOn, type TestStore } from "./dialects.ts";

async function contextOf(node: Latchkey, token: string): Promise<RequestContext> {
  const result = await authenticateToken(node.deps, token);
  if (!result.ok) throw result.error;
  return { principal: result.principal, requestId: "test", ip: null, userAgent: null };
}

const inject = async (node: Latchkey, token: string, method: "GET" | "POST", url: string, body?: unknown) => {
  const res = await node.app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { payload: JSON.stringify(body) } : {}),
  });
  return { status: res.statusCode, body: res.json() };
};

describe.each(DIALECTS)("several nodes on one $name store", (dialect) => {
  let t: TestStore;
  let nodes: Latchkey[] = [];
  afterEach(async () => {
    await Promise.all(nodes.map((n) => n.app.close()));
    nodes = [];
    await t?.destroy();
  });

  it("starting together on a new store, they make exactly one signing key and agree on it", async () => {
    t = await dialect.create();
    const masterKey = MasterKey.generate();
    nodes = await Promise.all((await t.nodes(3)).map((store) => nodeOn(store, { masterKey })));
    const keys = await t.store.db.selectFrom("signing_keys").select("kid").execute();
    expect(keys).toHaveLength(1);
    for (const node of nodes) expect(node.deps.keys.active().kid).toBe(keys[0]?.kid);
  });

  it("first start of several nodes at once: one bootstraps, the others join (no duplicate, no failure)", async () => {
    t = await dialect.create();
    const masterKey = MasterKey.generate();
    nodes = await Promise.all((await t.nodes(3)).map((store) => nodeOn(store, { masterKey })));
    const secrets = await Promise.all(nodes.map((node) => bootstrap(node.deps, undefined)));
    expect(secrets.filter((s) => s !== undefined)).toHaveLength(1);
    const accounts = await t.store.db.selectFrom("service_accounts").select("name").execute();
    expect(accounts).toEqual([{ name: "bootstrap" }]);
    expect((await digestStore(t.store.db)).audit.events).toBe(3);
  });

  it("the same name created on two nodes at once: one succeeds, the others get already_exists", async () => {
    t = await dialect.create();
    const masterKey = MasterKey.generate();
    nodes = [];
    for (const store of await t.nodes(2)) nodes.push(await nodeOn(store, { masterKey }));
    const ctx = await contextOf(nodes[0]!, await bootstrapped(nodes[0]!));
    const results = await Promise.allSettled(
      nodes.flatMap((node) =>
        Array.from({ length: 5 }, () =>
          node.services.serviceAccounts.create(ctx, "default", { name: "twin" }),
        ),
      ),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const r of results.filter((r): r is PromiseRejectedResult => r.status === "rejected")) {
      expect((r.reason as ApiError).code).toBe("already_exists");
    }
  });

  it("a rotation race across nodes has exactly one winner, decided by the store (5 rounds of 2 × 10)", async () => {
    t = await dialect.create();
    const masterKey = MasterKey.generate();
    nodes = [];
    for (const store of await t.nodes(2)) nodes.push(await nodeOn(store, { masterKey }));
    const [a, b] = nodes as [Latchkey, Latchkey];
    const ctxA = await contextOf(a, await bootstrapped(a));
    const ctxB: RequestContext = { ...ctxA, requestId: "test-b" };
    for (let round = 0; round < 5; round++) {
      const token = await a.services.tokens.create(ctxA, "default", "bootstrap", { name: `race-${round}` });
      const attempts = [a, b].flatMap((node, i) =>
        Array.from({ length: 10 }, () =>
          node.services.tokens.rotate(i === 0 ? ctxA : ctxB, token.id, { previous_expires_in_seconds: 60 }),
        ),
      );
      const results = await Promise.allSettled(attempts);
      const won = results.filter((r) => r.status === "fulfilled");
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
      expect(won).toHaveLength(1);
      for (const r of lost) {
        expect(r.reason).toBeInstanceOf(ApiError);
        expect((r.reason as ApiError).code).toBe("token_already_rotated");
      }
      const successors = await t.store.db
        .selectFrom("tokens")
        .select("id")
        .where("rotated_from", "=", token.id)
        .execute();
      expect(successors).toHaveLength(1);
    }
    expect((await digestStore(t.store.db)).audit.events).toBeGreaterThan(10);
  });

  it("a key rotated on one node reaches another by reloading; the old key verifies until it retires", async () => {
    t = await dialect.create();
    const masterKey = MasterKey.generate();
    const clock = new ManualClock("2030-01-01T00:00:00.000Z");
    nodes = [];
    for (const store of await t.nodes(2)) nodes.push(await nodeOn(store, { masterKey, clock }));
    const [a, b] = nodes as [Latchkey, Latchkey];
    const admin = await bootstrapped(a);
    const oldKid = a.deps.keys.active().kid;
    const jwt = await inject(a, admin, "POST", "/v1/projects/default/service-accounts/bootstrap/tokens", {
      name: "jwt",
      format: "jwt",
      ttl_seconds: 3600,
    });
    expect(jwt.status).toBe(201);

    clock.advance(60);
    const rotated = await inject(a, admin, "POST", "/v1/signing-keys/rotate");
    expect(rotated.status).toBe(201);
    expect(b.deps.keys.active().kid).toBe(oldKid); // b has not heard yet
    await b.deps.keys.load(); // what a NOTIFY (or a resync after reconnecting) makes it do
    expect(b.deps.keys.active().kid).toBe(rotated.body.kid);
    const jwks = (n: Latchkey) => n.deps.keys.published().map((k) => k.kid);
    expect(jwks(b)).toEqual(jwks(a));
    expect(jwks(b)).toEqual([rotated.body.kid, oldKid]);
    for (const node of [a, b]) expect((await authenticateToken(node.deps, jwt.body.token)).ok).toBe(true);

    // Tokens b signs now use the new key, and a verifies them.
    const fresh = await inject(b, admin, "POST", "/v1/projects/default/service-accounts/bootstrap/tokens", {
      name: "jwt-2",
      format: "jwt",
    });
    expect(JSON.parse(Buffer.from(fresh.body.token.split(".")[0], "base64url").toString()).kid).toBe(
      rotated.body.kid,
    );
    expect((await authenticateToken(a.deps, fresh.body.token)).ok).toBe(true);

    // Once no token it signed can be valid (the JWT expired, short-lived ones too), the old key retires.
    clock.advance(2 * 86400);
    for (const node of [a, b]) {
      await node.deps.keys.load();
      expect(jwks(node)).toEqual([rotated.body.kid]);
    }
  });
});
