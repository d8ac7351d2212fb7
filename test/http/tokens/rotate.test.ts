import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/lib/clock.ts";
import { accountWithToken, startServer, type TestServer } from "../../helpers/server.ts";

const T0 = "2030-01-01T00:00:00.000Z";

describe("rotation", () => {
  const clock = new ManualClock(T0);
  let server: TestServer;
  let n = 0;
  beforeAll(async () => {
    server = await startServer({ clock });
  });
  afterAll(() => server.close());

  /** A fresh account with one token, at T0 unless the clock was set otherwise. */
  const fresh = (opts: { ttl_seconds?: number; role?: string; access?: string } = {}) =>
    accountWithToken(server, { name: `rot-${++n}`, ...opts });
  const works = async (token: string) => (await server.api("GET", "/v1/whoami", { token })).status === 200;
  const rotate = (id: string, body: Record<string, unknown> = {}) =>
    server.api("POST", `/v1/tokens/${id}/rotate`, { body });

  it("by default retires the previous token at once and keeps every attribute", async () => {
    clock.set(T0);
    const sa = await server.api("POST", "/v1/projects/default/service-accounts", { body: { name: "keep" } });
    expect(sa.status).toBe(201);
    const created = await server.api("POST", "/v1/projects/default/service-accounts/keep/tokens", {
      body: {
        name: "deploy",
        description: "CI deploys",
        owner: "team-a",
        access: "read-only",
        ttl_seconds: 7200,
        labels: { env: "prod" },
        audiences: ["api"],
      },
    });
    clock.advance(10);
    const res = await rotate(created.body.id);
    expect(res.status).toBe(201);
    expect(res.body.token).not.toBe(created.body.token);
    expect(res.body.id).not.toBe(created.body.id);
    expect(res.body).toMatchObject({
      name: "deploy",
      description: "CI deploys",
      owner: "team-a",
      access: "read-only",
      labels: { env: "prod" },
      audiences: ["api"],
      rotated_from: created.body.id,
      rotated_to: null,
      expires_at: "2030-01-01T02:00:10.000Z", // same TTL, counted from the rotation
    });
    expect(res.body.previous).toMatchObject({
      id: created.body.id,
      rotated_to: res.body.id,
      state: "expired",
    });
    expect(await works(created.body.token)).toBe(false);
    expect(await works(res.body.token)).toBe(true);
    const old = await server.api("GET", `/v1/tokens/${created.body.id}`);
    expect(old.body).toMatchObject({ rotated_to: res.body.id, state: "expired", active: false });
  });

  it("takes a new ttl_seconds when given", async () => {
    clock.set(T0);
    const { tokenId } = await fresh();
    const res = await rotate(tokenId, { ttl_seconds: 600 });
    expect(res.body.expires_at).toBe("2030-01-01T00:10:00.000Z");
  });

  it("previous token keeps working until its grace deadline and not one second longer", async () => {
    clock.set(T0);
    const { token, tokenId } = await fresh();
    const res = await rotate(tokenId, { previous_expires_in_seconds: 3600 });
    expect(res.body.previous.expires_at).toBe("2030-01-01T01:00:00.000Z");
    clock.advance(3599);
    expect(await works(token)).toBe(true);
    expect(await works(res.body.token)).toBe(true);
    clock.advance(1);
    expect(await works(token)).toBe(false);
    expect(await works(res.body.token)).toBe(true);
  });

  it("previous_expires_at sets the deadline to the second", async () => {
    clock.set(T0);
    const { token, tokenId } = await fresh();
    const res = await rotate(tokenId, { previous_expires_at: "2030-01-02T12:00:00Z" });
    expect(res.status).toBe(201);
    clock.set("2030-01-02T11:59:59.000Z");
    expect(await works(token)).toBe(true);
    clock.set("2030-01-02T12:00:00.000Z");
    expect(await works(token)).toBe(false);
  });

  it("never extends the previous token beyond its own expiry", async () => {
    clock.set(T0);
    const { token, tokenId } = await fresh({ ttl_seconds: 3600 });
    clock.advance(1800);
    const res = await rotate(tokenId, { previous_expires_in_seconds: 86400 });
    expect(res.body.previous.expires_at).toBe("2030-01-01T01:00:00.000Z");
    clock.set("2030-01-01T01:00:00.000Z");
    expect(await works(token)).toBe(false);
    const at = await rotate((await fresh({ ttl_seconds: 3600 })).tokenId, {
      previous_expires_at: "2031-01-01T00:00:00Z",
    });
    expect(at.body.previous.expires_at).toBe("2030-01-01T02:00:00.000Z");
  });

  it("with retire_previous_on_first_use, the previous token stops when the new one is first used", async () => {
    clock.set(T0);
    const { token, tokenId } = await fresh();
    const res = await rotate(tokenId, { retire_previous_on_first_use: true });
    // No deadline given: the previous token keeps its own expiry until the successor is used.
    expect(res.body.previous.expires_at).toBe("2030-04-01T00:00:00.000Z");
    clock.advance(86400);
    expect(await works(token)).toBe(true);
    clock.advance(1);
    expect(await works(res.body.token)).toBe(true);
    expect(await works(token)).toBe(false);
    const old = await server.api("GET", `/v1/tokens/${tokenId}`);
    expect(old.body.expires_at).toBe("2030-01-02T00:00:01.000Z");
    const events = await server.api("GET", `/v1/audit-events?action=token.retire_previous&target=${tokenId}`);
    expect(events.body.items).toHaveLength(1);
  });

  it("with retire_previous_on_first_use and a deadline, whichever comes first", async () => {
    clock.set(T0);
    const { token, tokenId } = await fresh();
    const res = await rotate(tokenId, {
      retire_previous_on_first_use: true,
      previous_expires_in_seconds: 600,
    });
    clock.advance(600);
    expect(await works(token)).toBe(false); // the deadline came first; the successor was never used
    expect(await works(res.body.token)).toBe(true);
  });

  it("refuses contradictory or past deadlines without changing anything", async () => {
    clock.set(T0);
    const { token, tokenId } = await fresh();
    const both = await rotate(tokenId, {
      previous_expires_in_seconds: 60,
      previous_expires_at: "2030-01-02T00:00:00Z",
    });
    expect(both.status).toBe(400);
    expect(both.body.errors[0].field).toBe("previous_expires_at");
    const past = await rotate(tokenId, { previous_expires_at: "2029-12-31T23:59:59Z" });
    expect(past.status).toBe(400);
    expect(past.body.detail).toContain("past");
    expect(await works(token)).toBe(true);
    expect((await server.api("GET", `/v1/tokens/${tokenId}`)).body.rotated_to).toBeNull();
  });

  it("a token is rotated once; a revoked or expired token not at all", async () => {
    clock.set(T0);
    const { tokenId } = await fresh();
    expect((await rotate(tokenId, { previous_expires_in_seconds: 600 })).status).toBe(201);
    const again = await rotate(tokenId);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe("token_already_rotated");
    const revoked = await fresh();
    await server.api("DELETE", `/v1/tokens/${revoked.tokenId}`);
    const r = await rotate(revoked.tokenId);
    expect(r.status).toBe(409);
    expect(r.body.code).toBe("token_not_active");
  });

  it("20 parallel rotations of one token: exactly one succeeds, 19 get 409, one successor exists", async () => {
    clock.set(T0);
    const { tokenId } = await fresh();
    const results = await Promise.all(
      Array.from({ length: 20 }, () => rotate(tokenId, { previous_expires_in_seconds: 60 })),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    const successors = await server.latchkey.deps.db
      .selectFrom("tokens")
      .select("id")
      .where("rotated_from", "=", tokenId)
      .execute();
    expect(successors).toHaveLength(1);
    const winner = results.find((r) => r.status === 201);
    expect(successors[0]?.id).toBe(winner?.body.id);
  });
});

describe("self-service", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.close());

  it("a read-write token rotates itself whatever its role", async () => {
    const { token, tokenId } = await accountWithToken(server, { name: "self-rw", role: "viewer" });
    const res = await server.api("POST", "/v1/tokens/self/rotate", {
      token,
      body: { previous_expires_in_seconds: 600 },
    });
    expect(res.status).toBe(201);
    expect(res.body.rotated_from).toBe(tokenId);
    expect((await server.api("GET", "/v1/whoami", { token: res.body.token })).body.token_id).toBe(
      res.body.id,
    );
  });

  it("works with no body at all", async () => {
    const { token } = await accountWithToken(server, { name: "self-nobody" });
    const res = await server.api("POST", "/v1/tokens/self/rotate", { token });
    expect(res.status).toBe(201);
    expect((await server.api("GET", "/v1/whoami", { token })).status).toBe(401);
  });

  it("a read-write token revokes itself", async () => {
    const { token, tokenId } = await accountWithToken(server, { name: "self-del" });
    expect((await server.api("DELETE", "/v1/tokens/self", { token })).status).toBe(204);
    const after = await server.api("GET", "/v1/whoami", { token });
    expect(after.status).toBe(401);
    expect(after.body.code).toBe("token_revoked");
    expect((await server.api("GET", `/v1/tokens/${tokenId}`)).body.state).toBe("revoked");
  });

  it("a read-only token can do neither", async () => {
    const { token } = await accountWithToken(server, { name: "self-ro", access: "read-only" });
    for (const [method, path] of [
      ["POST", "/v1/tokens/self/rotate"],
      ["DELETE", "/v1/tokens/self"],
    ] as const) {
      const res = await server.api(method, path, { token, body: method === "POST" ? {} : undefined });
      expect(res.status).toBe(403);
      expect(res.body.code).toBe("read_write_token_required");
    }
    expect((await server.api("GET", "/v1/whoami", { token })).status).toBe(200);
  });
});

describe("deleting a service account", () => {
  it("revokes all its tokens at once, and a non-empty project cannot be deleted", async () => {
    const server = await startServer();
    try {
      expect((await server.api("POST", "/v1/projects", { body: { name: "team" } })).status).toBe(201);
      const a = await accountWithToken(server, { project: "team", name: "gone" });
      const b = await server.api("POST", "/v1/projects/team/service-accounts/gone/tokens", {
        body: { name: "second" },
      });
      const busy = await server.api("DELETE", "/v1/projects/team");
      expect(busy.status).toBe(409);
      expect(busy.body.code).toBe("project_not_empty");
      expect((await server.api("DELETE", "/v1/projects/team/service-accounts/gone")).status).toBe(204);
      for (const token of [a.token, b.body.token]) {
        const res = await server.api("GET", "/v1/whoami", { token });
        expect(res.status).toBe(401);
        expect(res.body.code).toBe("token_revoked");
      }
      expect((await server.api("GET", `/v1/tokens/${a.tokenId}`)).body.state).toBe("revoked");
      expect((await server.api("GET", "/v1/projects/team/service-accounts/gone")).status).toBe(404);
      // The name is free again, and the project can go once it is empty.
      expect((await server.api("DELETE", "/v1/projects/team")).status).toBe(204);
      expect((await server.api("GET", "/v1/projects/team")).status).toBe(404);
      const protectedDefault = await server.api("DELETE", "/v1/projects/default");
      expect(protectedDefault.status).toBe(409);
    } finally {
      await server.close();
    }
  });
});
