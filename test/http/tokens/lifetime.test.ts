import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/lib/clock.ts";
import { type ApiResponse, accountWithToken, startServer, type TestServer } from "../../helpers/server.ts";

const DAY = 86400;

describe("token lifetimes (injected clock)", () => {
  const clock = new ManualClock("2030-01-01T00:00:00.000Z");
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ clock });
    await server.api("POST", "/v1/projects/default/service-accounts", {
      body: { name: "svc", role: "viewer" },
    });
  });
  afterAll(() => server.close());

  const create = (body: Record<string, unknown>) =>
    server.api("POST", "/v1/projects/default/service-accounts/svc/tokens", { body: { name: "t", ...body } });

  it("defaults to 90 days and reports expires_at, state and active", async () => {
    const res = await create({});
    expect(res.status).toBe(201);
    expect(res.body.created_at).toBe("2030-01-01T00:00:00.000Z");
    expect(res.body.expires_at).toBe("2030-04-01T00:00:00.000Z");
    expect(res.body).toMatchObject({ state: "active", active: true, access: "read-write", format: "opaque" });
  });

  it("accepts exactly 600 s and the policy maximum of 366 days, and refuses one second outside", async () => {
    expect((await create({ ttl_seconds: 600 })).status).toBe(201);
    expect((await create({ ttl_seconds: 366 * DAY })).status).toBe(201);
    for (const ttl of [599, 366 * DAY + 1]) {
      const res = await create({ ttl_seconds: ttl });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe("ttl_out_of_range");
      expect(res.body.detail).toContain("600");
      expect(res.body.detail).toContain(String(366 * DAY));
      expect(res.body.errors[0].field).toBe("ttl_seconds");
    }
  });

  it("a token works until its expiry and not one second longer", async () => {
    clock.set("2030-01-01T00:00:00.000Z");
    const { token, tokenId } = await accountWithToken(server, { name: "short", ttl_seconds: 3600 });
    clock.advance(3599);
    expect((await server.api("GET", "/v1/whoami", { token })).status).toBe(200);
    clock.advance(1);
    const res = await server.api("GET", "/v1/whoami", { token });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe("token_expired");
    const view = await server.api("GET", `/v1/tokens/${tokenId}`);
    expect(view.body).toMatchObject({ state: "expired", active: false });
  });

  it("filters a service account's tokens by state and name", async () => {
    clock.set("2030-02-01T00:00:00.000Z");
    await server.api("POST", "/v1/projects/default/service-accounts", { body: { name: "filtered" } });
    const path = "/v1/projects/default/service-accounts/filtered/tokens";
    const a = await server.api("POST", path, { body: { name: "a", ttl_seconds: 600 } });
    clock.advance(1);
    const b = await server.api("POST", path, { body: { name: "b" } });
    clock.advance(1);
    const c = await server.api("POST", path, { body: { name: "c" } });
    await server.api("DELETE", `/v1/tokens/${c.body.id}`);
    clock.advance(598);
    const ids = async (query: string) =>
      (await server.api("GET", `${path}?${query}`)).body.items.map((t: { id: string }) => t.id);
    expect(await ids("state=expired")).toEqual([a.body.id]);
    expect(await ids("state=active")).toEqual([b.body.id]);
    expect(await ids("state=revoked")).toEqual([c.body.id]);
    expect(await ids("name=b")).toEqual([b.body.id]);
    expect(await ids("")).toEqual([a.body.id, b.body.id, c.body.id]); // oldest first
  });

  it("pages through tokens in a stable order without repeats or gaps", async () => {
    await server.api("POST", "/v1/projects/default/service-accounts", { body: { name: "paged" } });
    const path = "/v1/projects/default/service-accounts/paged/tokens";
    const created: string[] = [];
    for (let i = 0; i < 7; i++) {
      created.push((await server.api("POST", path, { body: { name: `p${i}` } })).body.id);
      if (i % 2 === 0) clock.advance(1); // some share a created_at, some do not
    }
    const seen: string[] = [];
    let cursor: string | null = "";
    while (cursor !== null) {
      const res: ApiResponse = await server.api("GET", `${path}?limit=3${cursor ? `&cursor=${cursor}` : ""}`);
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(3);
      seen.push(...res.body.items.map((t: { id: string }) => t.id));
      cursor = res.body.next_cursor;
    }
    expect(new Set(seen).size).toBe(7);
    expect([...seen].sort()).toEqual([...created].sort());
    const bad = await server.api("GET", `${path}?cursor=not-a-cursor`);
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe("invalid_cursor");
  });

  it("records last_used_at on use, at most about once a minute", async () => {
    clock.set("2030-03-01T00:00:00.000Z");
    const { token, tokenId } = await accountWithToken(server, { name: "used" });
    const lastUsed = async () => (await server.api("GET", `/v1/tokens/${tokenId}`)).body.last_used_at;
    expect(await lastUsed()).toBeNull();
    await server.api("GET", "/v1/whoami", { token });
    expect(await lastUsed()).toBe("2030-03-01T00:00:00.000Z");
    clock.advance(59);
    await server.api("GET", "/v1/whoami", { token });
    expect(await lastUsed()).toBe("2030-03-01T00:00:00.000Z");
    clock.advance(1);
    await server.api("GET", "/v1/whoami", { token });
    expect(await lastUsed()).toBe("2030-03-01T00:01:00.000Z");
  });
});

describe("server policy", () => {
  it("a lower maximum TTL is enforced and named", async () => {
    const server = await startServer({ policy: { maxTokenTtlSeconds: 7 * DAY } });
    try {
      await server.api("POST", "/v1/projects/default/service-accounts", { body: { name: "svc" } });
      const res = await server.api("POST", "/v1/projects/default/service-accounts/svc/tokens", {
        body: { name: "t" }, // the 90-day default is above this server's maximum
      });
      expect(res.status).toBe(400);
      expect(res.body.detail).toContain(String(7 * DAY));
    } finally {
      await server.close();
    }
  });
});
