import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/lib/clock.ts";
import type { Deps } from "../../../src/server/deps.ts";
import { clearedSessionCookie, sessionCookie } from "../../../src/ui/session.ts";
import { accountWithToken, rowCounts, startServer, type TestServer } from "../../helpers/server.ts";
import { asBrowser, browserFor, eventsOf, sessionCount, setCookieOf, signIn } from "./helpers.ts";

/** Web UI sessions: sign-in, the cookie, CSRF and Origin rules, and how a session ends. */

const T0 = "2030-01-01T00:00:00.000Z";

describe("web UI sessions", () => {
  const clock = new ManualClock(T0);
  let server: TestServer;
  let n = 0;
  const account = (opts: { role?: string; access?: string; ttl_seconds?: number; scope?: string } = {}) =>
    accountWithToken(server, { name: `ui-${++n}`, ...opts }).then((a) => ({ ...a, name: `ui-${n}` }));

  beforeAll(async () => {
    server = await startServer({ clock });
  });
  afterAll(() => server?.close());

  it("sign-in answers the session and sets an HttpOnly, SameSite=Strict cookie for Path=/", async () => {
    clock.set(T0);
    const sa = await account({ role: "contributor" });
    const before = await sessionCount(server);
    const res = await signIn(server, sa.token);
    expect(res.status, res.text).toBe(201);
    const whoami = await server.api("GET", "/v1/whoami", { token: sa.token });
    expect(res.body).toEqual({
      csrf_token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      expires_at: "2030-01-01T12:00:00.000Z",
      whoami: whoami.body,
    });
    const cookie = setCookieOf(res);
    const parts = cookie.split(";").map((p) => p.trim());
    expect(parts[0]).toMatch(/^latchkey_session=[A-Za-z0-9_-]{43}$/);
    expect(parts.slice(1).sort()).toEqual(["HttpOnly", "Path=/", "SameSite=Strict"].sort());
    // The issuer is http://: no Secure flag (a browser would drop the cookie).
    expect(cookie).not.toMatch(/Secure/i);
    expect(await sessionCount(server)).toBe(before + 1);
    // The sign-in is audited with the token's identity, and no secret.
    const [event] = await eventsOf(server, res);
    expect(event).toMatchObject({
      action: "ui.session.create",
      outcome: "success",
      actor_token_id: sa.tokenId,
      actor_service_account_id: sa.accountId,
    });
  });

  it("GET /ui/session answers the same session while it lives, 401 without one", async () => {
    clock.set(T0);
    const sa = await account();
    const browser = await browserFor(server, sa.token);
    const res = await asBrowser(server, browser, "GET", "/ui/session");
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual(browser.signIn.body);
    const none = await server.api("GET", "/ui/session", { token: null });
    expect(none.status).toBe(401);
    expect(none.body.code).toBe("unauthenticated");
    const unknown = await asBrowser(
      server,
      { cookie: `latchkey_session=${"A".repeat(43)}`, csrf: "x" },
      "GET",
      "/ui/session",
    );
    expect(unknown.status).toBe(401);
    expect(unknown.body.code).toBe("unauthenticated");
  });

  it("the session authenticates /v1 requests as the token that signed in", async () => {
    clock.set(T0);
    const sa = await account({ role: "admin" });
    const browser = await browserFor(server, sa.token);
    const who = await asBrowser(server, browser, "GET", "/v1/whoami");
    expect(who.status, who.text).toBe(200);
    expect(who.body.token_id).toBe(sa.tokenId);
    expect(who.body.service_account.id).toBe(sa.accountId);
    const projects = await asBrowser(server, browser, "GET", "/v1/projects");
    expect(projects.status).toBe(200);
    expect(projects.body.items.map((p: { name: string }) => p.name)).toContain("default");
    // GETs need no CSRF header.
    expect((await asBrowser(server, browser, "GET", "/v1/whoami", { csrf: null })).status).toBe(200);
  });

  it("an Authorization header wins over the cookie", async () => {
    clock.set(T0);
    const a = await account();
    const b = await account();
    const browser = await browserFor(server, a.token);
    const res = await asBrowser(server, browser, "GET", "/v1/whoami", {
      headers: { authorization: `Bearer ${b.token}` },
    });
    expect(res.body.token_id).toBe(b.tokenId);
    const bad = await asBrowser(server, browser, "GET", "/v1/whoami", {
      headers: { authorization: "Bearer nonsense" },
    });
    expect(bad.status).toBe(401);
  });

  describe("unsafe methods need the X-CSRF-Token header; nothing changes without it", () => {
    const cases = [
      {
        what: "POST /v1/projects",
        method: "POST",
        path: () => "/v1/projects",
        body: () => ({ name: `csrf-${n}` }),
        ok: 201,
      },
      {
        what: "PATCH /v1/tokens/{id}",
        method: "PATCH",
        path: (id: string) => `/v1/tokens/${id}`,
        body: () => ({ description: "changed" }),
        ok: 200,
      },
      { what: "DELETE /v1/tokens/{id}", method: "DELETE", path: (id: string) => `/v1/tokens/${id}`, ok: 204 },
      {
        what: "POST /v1/tokens/{id}/rotate",
        method: "POST",
        path: (id: string) => `/v1/tokens/${id}/rotate`,
        body: () => ({}),
        ok: 201,
      },
    ];
    for (const c of cases) {
      it(`${c.what}: missing or wrong header → 403 csrf_failed, audited, no change; right header → ${c.ok}`, async () => {
        clock.set(T0);
        const owner = await account({ role: "owner", scope: "organization" });
        const target = await account();
        const browser = await browserFor(server, owner.token);
        const tokenBefore = (await server.api("GET", `/v1/tokens/${target.tokenId}`)).body;
        for (const csrf of [null, "", "wrong", `${browser.csrf}x`, browser.csrf.slice(0, -1)]) {
          const before = await rowCounts(server);
          const res = await asBrowser(server, browser, c.method, c.path(target.tokenId), {
            csrf,
            body: c.body?.(),
          });
          expect(res.status, `${csrf}: ${res.text}`).toBe(403);
          expect(res.body.code).toBe("csrf_failed");
          const after = await rowCounts(server);
          expect(after).toEqual({ ...before, audit_events: before.audit_events! + 1 });
          const [event] = await eventsOf(server, res);
          expect(event).toMatchObject({
            action: "ui.csrf",
            outcome: "denied",
            actor_token_id: owner.tokenId,
          });
          expect(event.details.code).toBe("csrf_failed");
        }
        expect((await server.api("GET", `/v1/tokens/${target.tokenId}`)).body).toEqual(tokenBefore);
        // A CSRF token of another session does not do either.
        const other = await browserFor(
          server,
          (await account({ role: "owner", scope: "organization" })).token,
        );
        const crossed = await asBrowser(server, browser, c.method, c.path(target.tokenId), {
          csrf: other.csrf,
          body: c.body?.(),
        });
        expect(crossed.status).toBe(403);
        const res = await asBrowser(server, browser, c.method, c.path(target.tokenId), { body: c.body?.() });
        expect(res.status, res.text).toBe(c.ok);
      });
    }
  });

  it("a request from another origin is refused, even a GET; the own origin and no Origin pass", async () => {
    clock.set(T0);
    const sa = await account({ role: "owner", scope: "organization" });
    const browser = await browserFor(server, sa.token);
    for (const origin of ["https://evil.example", "null", server.url.replace("127.0.0.1", "localhost")]) {
      const before = await rowCounts(server);
      const get = await asBrowser(server, browser, "GET", "/v1/projects", { origin });
      expect(get.status, origin).toBe(403);
      expect(get.body.code).toBe("csrf_failed");
      const post = await asBrowser(server, browser, "POST", "/v1/projects", {
        origin,
        body: { name: `evil-${n}` },
      });
      expect(post.status).toBe(403);
      expect(post.body.code).toBe("csrf_failed");
      expect(await rowCounts(server)).toEqual({ ...before, audit_events: before.audit_events! + 2 });
    }
    const crossSite = await asBrowser(server, browser, "GET", "/v1/projects", {
      origin: null,
      headers: { "sec-fetch-site": "cross-site" },
    });
    expect(crossSite.status).toBe(403);
    expect((await asBrowser(server, browser, "GET", "/v1/projects", { origin: null })).status).toBe(200);
    expect((await asBrowser(server, browser, "GET", "/v1/projects")).status).toBe(200);
  });

  it("sign-in from another origin is refused and creates no session", async () => {
    clock.set(T0);
    const sa = await account();
    const before = await sessionCount(server);
    const res = await signIn(server, sa.token, { origin: "https://evil.example" });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe("csrf_failed");
    expect(setCookieOf(res)).toBe("");
    expect(await sessionCount(server)).toBe(before);
  });

  it("bearer requests are not subject to CSRF or Origin checks", async () => {
    clock.set(T0);
    const sa = await account({ role: "owner", scope: "organization" });
    const res = await server.api("POST", "/v1/projects", {
      token: sa.token,
      body: { name: `bearer-${n}` },
      headers: { origin: "https://elsewhere.example" },
    });
    expect(res.status).toBe(201);
  });

  it("sign-out needs the CSRF header, deletes the session and clears the cookie", async () => {
    clock.set(T0);
    const sa = await account();
    const browser = await browserFor(server, sa.token);
    const count = await sessionCount(server);
    const refused = await asBrowser(server, browser, "DELETE", "/ui/session", { csrf: null });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe("csrf_failed");
    expect(await sessionCount(server)).toBe(count);
    const res = await asBrowser(server, browser, "DELETE", "/ui/session");
    expect(res.status, res.text).toBe(204);
    expect(setCookieOf(res)).toMatch(/^latchkey_session=;/);
    expect(setCookieOf(res)).toMatch(/Max-Age=0/);
    expect(await sessionCount(server)).toBe(count - 1);
    const [event] = await eventsOf(server, res);
    expect(event).toMatchObject({ action: "ui.session.delete", actor_token_id: sa.tokenId });
    expect((await asBrowser(server, browser, "GET", "/ui/session")).status).toBe(401);
    const after = await asBrowser(server, browser, "GET", "/v1/whoami");
    expect(after.status).toBe(401);
    expect(after.body.code).toBe("unauthenticated");
    // The token itself still works: signing out ends the session only.
    expect((await server.api("GET", "/v1/whoami", { token: sa.token })).status).toBe(200);
  });

  describe("a session dies with its token", () => {
    it("when the token is revoked", async () => {
      clock.set(T0);
      const sa = await account();
      const browser = await browserFor(server, sa.token);
      expect((await server.api("DELETE", `/v1/tokens/${sa.tokenId}`)).status).toBe(204);
      const res = await asBrowser(server, browser, "GET", "/v1/whoami");
      expect(res.status).toBe(401);
      expect(res.body.code).toBe("token_revoked");
      expect(setCookieOf(res)).toMatch(/^latchkey_session=;.*Max-Age=0/);
      const [event] = await eventsOf(server, res);
      expect(event).toMatchObject({ action: "auth.authenticate", outcome: "denied", target_id: sa.tokenId });
      expect((await asBrowser(server, browser, "GET", "/ui/session")).status).toBe(401);
    });

    it("when its service account is deleted", async () => {
      clock.set(T0);
      const sa = await account();
      const browser = await browserFor(server, sa.token);
      expect((await server.api("DELETE", `/v1/projects/default/service-accounts/${sa.name}`)).status).toBe(
        204,
      );
      const res = await asBrowser(server, browser, "GET", "/ui/session");
      expect(res.status).toBe(401);
      expect(res.body.code).toBe("token_revoked");
    });

    it("when its service account is disabled", async () => {
      clock.set(T0);
      const sa = await account();
      const browser = await browserFor(server, sa.token);
      const patch = await server.api("PATCH", `/v1/projects/default/service-accounts/${sa.name}`, {
        body: { disabled: true },
      });
      expect(patch.status).toBe(200);
      const res = await asBrowser(server, browser, "GET", "/v1/projects");
      expect(res.status).toBe(401);
      expect(res.body.code).toBe("service_account_disabled");
    });

    it("when the token is rotated with the previous one retired at once", async () => {
      clock.set(T0);
      const sa = await account();
      const browser = await browserFor(server, sa.token);
      const rotated = await asBrowser(server, browser, "POST", "/v1/tokens/self/rotate", { body: {} });
      expect(rotated.status, rotated.text).toBe(201);
      const res = await asBrowser(server, browser, "GET", "/v1/whoami");
      expect(res.status).toBe(401);
      expect(res.body.code).toBe("token_expired");
    });
  });

  describe("lifetime", () => {
    it("at most 12 hours", async () => {
      clock.set(T0);
      const sa = await account({ ttl_seconds: 30 * 86400 });
      const browser = await browserFor(server, sa.token);
      expect(browser.signIn.body.expires_at).toBe("2030-01-01T12:00:00.000Z");
      clock.set("2030-01-01T11:59:59.999Z");
      expect((await asBrowser(server, browser, "GET", "/v1/whoami")).status).toBe(200);
      clock.set("2030-01-01T12:00:00.000Z");
      const res = await asBrowser(server, browser, "GET", "/v1/whoami");
      expect(res.status).toBe(401);
      expect(res.body.code).toBe("unauthenticated");
      // The token itself lives on.
      expect((await server.api("GET", "/v1/whoami", { token: sa.token })).status).toBe(200);
    });

    it("never past the token's expiry", async () => {
      clock.set(T0);
      const sa = await account({ ttl_seconds: 3600 });
      const browser = await browserFor(server, sa.token);
      expect(browser.signIn.body.expires_at).toBe("2030-01-01T01:00:00.000Z");
      clock.set("2030-01-01T00:59:59.999Z");
      expect((await asBrowser(server, browser, "GET", "/ui/session")).status).toBe(200);
      clock.set("2030-01-01T01:00:00.000Z");
      expect((await asBrowser(server, browser, "GET", "/ui/session")).status).toBe(401);
    });
  });

  describe("sign-in failures", () => {
    it("a bad or revoked token → 401; a known one is audited; nothing else is stored", async () => {
      clock.set(T0);
      const sessions = await sessionCount(server);
      const before = await rowCounts(server);
      const bad = await signIn(server, "lk_notatoken");
      expect(bad.status).toBe(401);
      expect(bad.body.code).toBe("token_invalid");
      expect(setCookieOf(bad)).toBe("");
      expect(await rowCounts(server)).toEqual(before);
      const sa = await account();
      await server.api("DELETE", `/v1/tokens/${sa.tokenId}`);
      const revoked = await signIn(server, sa.token);
      expect(revoked.status).toBe(401);
      expect(revoked.body.code).toBe("token_revoked");
      const [event] = await eventsOf(server, revoked);
      expect(event).toMatchObject({ action: "auth.authenticate", outcome: "denied", target_id: sa.tokenId });
      expect(await sessionCount(server)).toBe(sessions);
    });

    it("the body is checked: token is required and a string", async () => {
      for (const body of [{}, { token: 42 }, { token: "" }, { token: "x", extra: 1 }]) {
        const res = await server.api("POST", "/ui/session", { token: null, body });
        expect(res.status).toBe(400);
        expect(res.body.code).toBe("validation_failed");
        expect(JSON.stringify(res.body.errors)).toMatch(/token|extra/);
      }
    });
  });

  it("JWT-format tokens sign in; a JWT for another audience does not", async () => {
    clock.set(T0);
    const sa = await account();
    const jwt = await server.api("POST", `/v1/projects/default/service-accounts/${sa.name}/tokens`, {
      body: { name: "jwt", format: "jwt" },
    });
    expect(jwt.status).toBe(201);
    const browser = await browserFor(server, jwt.body.token);
    expect((await asBrowser(server, browser, "GET", "/v1/whoami")).body.token_id).toBe(jwt.body.id);
    await server.api("DELETE", `/v1/tokens/${jwt.body.id}`);
    expect((await asBrowser(server, browser, "GET", "/v1/whoami")).status).toBe(401);

    const elsewhere = await server.api("POST", `/v1/projects/default/service-accounts/${sa.name}/tokens`, {
      body: { name: "jwt-elsewhere", format: "jwt", audiences: ["https://other.example"] },
    });
    const res = await signIn(server, elsewhere.body.token);
    expect(res.status).toBe(401);
    expect(res.body.code).toBe("token_invalid");
  });

  it("a short-lived JWT (token request) signs in, and its session dies with its account", async () => {
    clock.set(T0);
    const sa = await account();
    const requested = await server.api(
      "POST",
      `/v1/projects/default/service-accounts/${sa.name}/token-requests`,
      {
        token: sa.token,
        body: {},
      },
    );
    expect(requested.status, requested.text).toBe(201);
    const browser = await browserFor(server, requested.body.token);
    expect(browser.signIn.body.expires_at).toBe(requested.body.expiration_timestamp);
    expect((await asBrowser(server, browser, "GET", "/v1/whoami")).status).toBe(200);
    await server.api("PATCH", `/v1/projects/default/service-accounts/${sa.name}`, {
      body: { disabled: true },
    });
    const res = await asBrowser(server, browser, "GET", "/v1/whoami");
    expect(res.status).toBe(401);
    expect(res.body.code).toBe("service_account_disabled");
  });
});

describe("failed sign-ins count against the address", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ failedAuthLimit: { maxFailures: 3, windowSeconds: 60 } });
  });
  afterAll(() => server?.close());

  it("after the limit even a good token is refused with 429, on sign-in and on session requests", async () => {
    const good = await browserFor(server, server.bootstrapToken);
    for (let i = 0; i < 3; i++) expect((await signIn(server, `lk_guess${i}`)).status).toBe(401);
    const res = await signIn(server, server.bootstrapToken);
    expect(res.status).toBe(429);
    expect(res.body.code).toBe("too_many_failed_authentications");
    expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
    expect((await asBrowser(server, good, "GET", "/v1/whoami")).status).toBe(429);
  });
});

describe("the cookie behind an https issuer", () => {
  it("is also Secure (set and cleared alike)", () => {
    const deps = { issuer: "https://latchkey.example.com" } as Deps;
    const id = "A".repeat(43);
    expect(sessionCookie(deps, id).split("; ").sort()).toEqual(
      [`latchkey_session=${id}`, "Path=/", "HttpOnly", "Secure", "SameSite=Strict"].sort(),
    );
    expect(clearedSessionCookie(deps)).toMatch(/; Secure/);
  });
});
