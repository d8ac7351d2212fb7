import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/lib/clock.ts";
import { accountWithToken, rowCounts, startServer, type TestServer } from "../../helpers/server.ts";
import { acceptedEverywhere, decode, introspect, review, tokenRequest } from "./verifiers.ts";

const T0 = "2030-01-01T00:00:00.000Z";
const T0_SECONDS = Date.parse(T0) / 1000;
/** The policy's longest short-lived JWT in these tests: 2 hours. */
const MAX = 7200;

describe("token requests (Kubernetes TokenRequest semantics)", () => {
  const clock = new ManualClock(T0);
  let server: TestServer;
  let n = 0;
  beforeAll(async () => {
    server = await startServer({ clock, policy: { maxTokenRequestSeconds: MAX } });
  });
  afterAll(() => server.close());

  const account = (opts: { role?: string; access?: string; project?: string } = {}) =>
    accountWithToken(server, { name: `tr-${++n}`, ...opts }).then((a) => ({ ...a, name: `tr-${n}` }));

  it("by default: one hour, for the issuer, no row stored, audited", async () => {
    clock.set(T0);
    const sa = await account();
    const before = await rowCounts(server);
    const res = await tokenRequest(server, sa.name);
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      token: expect.any(String),
      expiration_timestamp: "2030-01-01T01:00:00.000Z",
      audiences: [server.url],
    });
    const { header, claims } = decode(res.body.token);
    expect(header.typ).toBe("at+jwt");
    expect(claims).toMatchObject({
      iss: server.url,
      sub: sa.accountId,
      aud: [server.url],
      iat: T0_SECONDS,
      nbf: T0_SECONDS,
      exp: T0_SECONDS + 3600,
      project: "default",
      service_account: sa.name,
      access: "read-write",
      scope: "read write",
    });
    expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/);
    const after = await rowCounts(server);
    expect(after.tokens).toBe(before.tokens);
    expect(after.audit_events).toBe((before.audit_events ?? 0) + 1);
    const events = await server.api("GET", `/v1/audit-events?action=token.request&target=${claims.jti}`);
    expect(events.body.items[0]).toMatchObject({
      details: { audiences: [server.url], expires_at: "2030-01-01T01:00:00.000Z", bound_object: null },
    });
    expect(JSON.stringify(events.body)).not.toContain(res.body.token);
    expect(await acceptedEverywhere(server, res.body.token)).toBe(true);
  });

  it("expiration_seconds: at least 600; above the policy maximum it is shortened, and the response says so", async () => {
    clock.set(T0);
    const sa = await account();
    const min = await tokenRequest(server, sa.name, { expiration_seconds: 600 });
    expect(min.body.expiration_timestamp).toBe("2030-01-01T00:10:00.000Z");
    for (const bad of [599, 0, -1, 600.5, "3600", null]) {
      const res = await tokenRequest(server, sa.name, { expiration_seconds: bad });
      expect(res.status).toBe(400);
      expect(res.body.errors[0].field).toBe("expiration_seconds");
    }
    const long = await tokenRequest(server, sa.name, { expiration_seconds: 86400 * 365 });
    expect(long.status).toBe(201);
    expect(long.body.expiration_timestamp).toBe("2030-01-01T02:00:00.000Z");
    expect(decode(long.body.token).claims.exp).toBe(T0_SECONDS + MAX);
  });

  it("works until its expiry (plus the 5 s clock-skew allowance) and not after", async () => {
    clock.set(T0);
    const sa = await account();
    const { token } = (await tokenRequest(server, sa.name, { expiration_seconds: 600 })).body;
    clock.set("2030-01-01T00:10:04.000Z");
    expect(await acceptedEverywhere(server, token)).toBe(true);
    clock.set("2030-01-01T00:10:05.000Z");
    expect(await acceptedEverywhere(server, token)).toBe(false);
  });

  it("audiences: the token is for them only", async () => {
    clock.set(T0);
    const sa = await account();
    const res = await tokenRequest(server, sa.name, { audiences: ["vault", "https://ci.example"] });
    expect(res.body.audiences).toEqual(["vault", "https://ci.example"]);
    expect(decode(res.body.token).claims.aud).toEqual(["vault", "https://ci.example"]);
    expect((await review(server, res.body.token, ["vault"])).authenticated).toBe(true);
    expect((await review(server, res.body.token)).authenticated).toBe(false); // not for the issuer
    expect((await server.api("GET", "/v1/whoami", { token: res.body.token })).status).toBe(401);
    for (const audiences of [
      ["a", "a"],
      [""],
      ["has space"],
      "vault",
      Array.from({ length: 21 }, (_, i) => `a${i}`),
    ]) {
      const bad = await tokenRequest(server, sa.name, { audiences });
      expect(bad.status).toBe(400);
      expect(bad.body.errors[0].field).toMatch(/^audiences/);
    }
  });

  it("an account may request tokens for itself, never with more access than the token it asks with", async () => {
    clock.set(T0);
    const viewer = await account({ role: "viewer", access: "read-only" });
    const res = await tokenRequest(server, viewer.name, {}, { token: viewer.token });
    expect(res.status).toBe(201);
    expect(decode(res.body.token).claims).toMatchObject({
      access: "read-only",
      scope: "read",
      sub: viewer.accountId,
    });
    const who = await server.api("GET", "/v1/whoami", { token: res.body.token });
    expect(who.body).toMatchObject({ access: "read-only", effective_role: "viewer" });
  });

  it("for itself, an account gets no token that outlives the one it asked with, so it cannot renew itself", async () => {
    clock.set(T0);
    const short = await accountWithToken(server, { name: `tr-${++n}`, ttl_seconds: 1800 });
    const res = await tokenRequest(server, `tr-${n}`, { expiration_seconds: 3600 }, { token: short.token });
    expect(res.status).toBe(201);
    expect(res.body.expiration_timestamp).toBe("2030-01-01T00:30:00.000Z");
    // A JWT asking for a successor gets one that ends with it, too.
    clock.advance(600);
    const again = await tokenRequest(
      server,
      `tr-${n}`,
      { expiration_seconds: 3600 },
      { token: res.body.token },
    );
    expect(again.body.expiration_timestamp).toBe("2030-01-01T00:30:00.000Z");
  });

  it("for another account, the caller needs the right to mint its tokens (privilege ceiling), else 403; outside its project 404", async () => {
    clock.set(T0);
    const viewer = await account({ role: "viewer" });
    const contributor = await account({ role: "contributor" });
    const admin = await account({ role: "admin" });
    expect((await tokenRequest(server, admin.name, {}, { token: viewer.token })).status).toBe(403);
    const minted = await tokenRequest(server, viewer.name, {}, { token: contributor.token });
    expect(minted.status).toBe(201);
    expect(decode(minted.body.token).claims.sub).toBe(viewer.accountId);
    expect((await tokenRequest(server, admin.name, {}, { token: contributor.token })).status).toBe(403);

    expect((await server.api("POST", "/v1/projects", { body: { name: "tr-other" } })).status).toBe(201);
    const outsider = await accountWithToken(server, { project: "tr-other", name: "outsider", role: "admin" });
    const hidden = await tokenRequest(server, viewer.name, {}, { token: outsider.token });
    expect(hidden.status).toBe(404);
    expect((await tokenRequest(server, "no-such-account")).status).toBe(404);
  });

  it("a token request's JWT dies with its account: disabled, then deleted", async () => {
    clock.set(T0);
    const sa = await account();
    const { token } = (await tokenRequest(server, sa.name)).body;
    const path = `/v1/projects/default/service-accounts/${sa.name}`;
    expect((await server.api("PATCH", path, { body: { disabled: true } })).status).toBe(200);
    expect(await acceptedEverywhere(server, token)).toBe(false);
    expect((await server.api("PATCH", path, { body: { disabled: false } })).status).toBe(200);
    expect(await acceptedEverywhere(server, token)).toBe(true);
    expect((await server.api("DELETE", path)).status).toBe(204);
    expect(await acceptedEverywhere(server, token)).toBe(false);
    expect((await introspect(server, token)).text).toBe('{"active":false}');
  });

  it("rejects unknown fields and bad bound_object_ref values, naming the field", async () => {
    clock.set(T0);
    const sa = await account();
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ expiration: 600 }, "expiration"],
      [{ bound_object_ref: { kind: "Pod" } }, "bound_object_ref.name"],
      [{ bound_object_ref: { kind: "Pod", name: "Not_A_DNS_Name" } }, "bound_object_ref.name"],
      [{ bound_object_ref: { kind: "Pod", name: "web", extra: 1 } }, "bound_object_ref.extra"],
      [{ bound_object_ref: { kind: "Pod", name: "missing" } }, "bound_object_ref.name"],
    ];
    for (const [body, field] of cases) {
      const res = await tokenRequest(server, sa.name, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.errors[0].field).toBe(field);
    }
  });
});
