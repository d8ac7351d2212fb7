import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/lib/clock.ts";
import { accountWithToken, startServer, type TestServer } from "../../helpers/server.ts";
import { check, decode, tokenRequest } from "./verifiers.ts";

const T0 = "2030-01-01T00:00:00.000Z";

describe("GET /v1/auth/check (nginx auth_request, Traefik forwardAuth)", () => {
  const clock = new ManualClock(T0);
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ clock });
    expect((await server.api("POST", "/v1/projects", { body: { name: "shop" } })).status).toBe(201);
  });
  afterAll(() => server.close());

  const identity = (headers: Headers) => ({
    subject: headers.get("x-latchkey-subject"),
    project: headers.get("x-latchkey-project"),
    serviceAccount: headers.get("x-latchkey-service-account"),
    tokenId: headers.get("x-latchkey-token-id"),
    access: headers.get("x-latchkey-access"),
  });

  it("200 with the caller's identity in X-Latchkey-* headers, and no body", async () => {
    clock.set(T0);
    const sa = await accountWithToken(server, { project: "shop", name: "checkout", access: "read-only" });
    const res = await check(server, sa.token);
    expect(res.status).toBe(200);
    expect(res.body).toBe("");
    expect(identity(res.headers)).toEqual({
      subject: sa.accountId,
      project: "shop",
      serviceAccount: "checkout",
      tokenId: sa.tokenId,
      access: "read-only",
    });
    expect(res.headers.get("x-latchkey-email")).toBe("checkout@shop.serviceaccounts.latchkey");
  });

  it("JWTs too: the token id is the jti", async () => {
    clock.set(T0);
    const jwt = (await tokenRequest(server, "bootstrap")).body.token;
    const res = await check(server, jwt);
    expect(res.status).toBe(200);
    expect(identity(res.headers)).toMatchObject({
      project: "default",
      serviceAccount: "bootstrap",
      tokenId: decode(jwt).claims.jti,
    });
    const format = await server.api("POST", "/v1/projects/default/service-accounts/bootstrap/tokens", {
      body: { name: "jwt-format", format: "jwt" },
    });
    expect(identity((await check(server, format.body.token)).headers).tokenId).toBe(format.body.id);
  });

  it("401 with WWW-Authenticate: Bearer for a missing, malformed, unknown, revoked, expired or disabled token", async () => {
    clock.set(T0);
    const revoked = await accountWithToken(server, { name: "ac-revoked" });
    await server.api("DELETE", `/v1/tokens/${revoked.tokenId}`);
    const expiring = await accountWithToken(server, { name: "ac-expiring", ttl_seconds: 600 });
    const disabled = await accountWithToken(server, { name: "ac-disabled" });
    await server.api("PATCH", "/v1/projects/default/service-accounts/ac-disabled", {
      body: { disabled: true },
    });
    const jwt = (await tokenRequest(server, "bootstrap", { expiration_seconds: 600 })).body.token;
    clock.advance(605);
    for (const token of [
      null,
      "garbage",
      `lk_${"A".repeat(49)}`,
      revoked.token,
      expiring.token,
      disabled.token,
      jwt,
    ]) {
      const res = await check(server, token);
      expect(res.status, String(token)).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe("Bearer");
      expect(res.headers.get("x-latchkey-subject")).toBeNull();
      expect(res.body).toBe("");
    }
    const basic = await fetch(`${server.url}/v1/auth/check`, {
      headers: { authorization: "Basic dXNlcjpwYXNz" },
    });
    expect(basic.status).toBe(401);
  });

  it("?audience=: the token must be for it; without it, a JWT must be for this server", async () => {
    clock.set(T0);
    const forShop = (await tokenRequest(server, "bootstrap", { audiences: ["https://shop.example"] })).body
      .token;
    expect((await check(server, forShop, "?audience=https://shop.example")).status).toBe(200);
    expect((await check(server, forShop, "?audience=https://other.example")).status).toBe(401);
    expect((await check(server, forShop)).status).toBe(401);
    const forIssuer = (await tokenRequest(server, "bootstrap")).body.token;
    expect((await check(server, forIssuer)).status).toBe(200);
    expect((await check(server, forIssuer, "?audience=https://shop.example")).status).toBe(401);

    // An opaque token without audiences passes any audience requirement; with audiences, only theirs.
    const any = await accountWithToken(server, { name: "ac-any" });
    expect((await check(server, any.token, "?audience=https://shop.example")).status).toBe(200);
    const scoped = await server.api("POST", "/v1/projects/default/service-accounts/ac-any/tokens", {
      body: { name: "scoped", audiences: ["https://shop.example"] },
    });
    expect((await check(server, scoped.body.token, "?audience=https://shop.example")).status).toBe(200);
    expect((await check(server, scoped.body.token, "?audience=https://other.example")).status).toBe(401);
  });

  it("?access=read-write refuses a read-only token with 403 (authenticated, not allowed)", async () => {
    clock.set(T0);
    const ro = await accountWithToken(server, { name: "ac-ro", access: "read-only" });
    const rw = await accountWithToken(server, { name: "ac-rw" });
    expect((await check(server, ro.token, "?access=read-write")).status).toBe(403);
    expect((await check(server, ro.token, "?access=read-only")).status).toBe(200);
    expect((await check(server, rw.token, "?access=read-write")).status).toBe(200);
    expect((await check(server, rw.token, "?access=admin")).status).toBe(400);
    expect((await check(server, rw.token, "?audience=a&unknown=1")).status).toBe(400);
  });

  it("HEAD works like GET (proxies may send either)", async () => {
    clock.set(T0);
    const sa = await accountWithToken(server, { name: "ac-head" });
    const ok = await fetch(`${server.url}/v1/auth/check`, {
      method: "HEAD",
      headers: { authorization: `Bearer ${sa.token}` },
    });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("x-latchkey-token-id")).toBe(sa.tokenId);
    const no = await fetch(`${server.url}/v1/auth/check`, { method: "HEAD" });
    expect(no.status).toBe(401);
  });
});
