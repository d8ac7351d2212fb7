import * as jose from "jose";
import * as client from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/lib/clock.ts";
import { accountWithToken, startServer, type TestServer } from "../../helpers/server.ts";
import { acceptedEverywhere, decode, introspect, tokenRequest } from "./verifiers.ts";

const T0 = "2030-01-01T00:00:00.000Z";
const T0_SECONDS = Date.parse(T0) / 1000;
const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token";
const email = (name: string, project = "default") => `${name}@${project}.serviceaccounts.latchkey`;

describe("OAuth 2.0", () => {
  const clock = new ManualClock(T0);
  let server: TestServer;
  /** Every request openid-client made: how it authenticated, and what it sent. */
  const sent: Array<{ url: string; authorization: string | null; body: string }> = [];
  let n = 0;

  beforeAll(async () => {
    server = await startServer({ clock });
  });
  afterAll(() => server.close());

  const account = (opts: { role?: string; access?: string; project?: string; audiences?: string[] } = {}) =>
    accountWithToken(server, { name: `oa-${++n}`, ...opts }).then((a) => ({ ...a, name: `oa-${n}` }));

  /** openid-client configured by discovery, for the account's email (or id) and one of its tokens. */
  const configure = (
    clientId: string,
    secret: string,
    method: "basic" | "post",
    algorithm?: "oidc" | "oauth2",
  ) =>
    client.discovery(
      new URL(server.url),
      clientId,
      undefined,
      method === "basic" ? client.ClientSecretBasic(secret) : client.ClientSecretPost(secret),
      {
        execute: [client.allowInsecureRequests],
        ...(algorithm ? { algorithm } : {}),
        [client.customFetch]: async (url, options) => {
          const headers = new Headers(options.headers);
          sent.push({ url, authorization: headers.get("authorization"), body: String(options.body ?? "") });
          return fetch(url, options as RequestInit);
        },
      },
    );

  /** A raw form POST, for the error shapes and for token exchange. */
  const form = async (path: string, params: Record<string, string>, headers: Record<string, string> = {}) => {
    const res = await fetch(server.url + path, {
      method: "POST",
      headers,
      body: new URLSearchParams(params),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, body: text ? JSON.parse(text) : undefined };
  };
  const basic = (id: string, secret: string) =>
    `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64")}`;

  describe("discovery", () => {
    it("openid-client discovers the server through both well-known documents", async () => {
      const sa = await account();
      for (const algorithm of ["oidc", "oauth2"] as const) {
        const config = await configure(email(sa.name), sa.token, "basic", algorithm);
        expect(config.serverMetadata()).toMatchObject({
          issuer: server.url,
          token_endpoint: `${server.url}/oauth2/token`,
          introspection_endpoint: `${server.url}/oauth2/introspect`,
          revocation_endpoint: `${server.url}/oauth2/revoke`,
          jwks_uri: `${server.url}/.well-known/jwks.json`,
          grant_types_supported: expect.arrayContaining(["client_credentials", TOKEN_EXCHANGE]),
          token_endpoint_auth_methods_supported: expect.arrayContaining([
            "client_secret_basic",
            "client_secret_post",
          ]),
        });
      }
      const oidc = await server.api("GET", "/.well-known/openid-configuration", { token: null });
      const oauth = await server.api("GET", "/.well-known/oauth-authorization-server", { token: null });
      expect(oauth.body).toEqual(oidc.body);
    });
  });

  describe("client_credentials", () => {
    it.each(["basic", "post"] as const)(
      "client_secret_%s: the client is an SA by email, the secret one of its opaque tokens; the access token is a JWT",
      async (method) => {
        clock.set(T0);
        const sa = await account();
        const config = await configure(email(sa.name), sa.token, method);
        sent.length = 0;
        const response = await client.clientCredentialsGrant(config);
        const request = sent.find((r) => r.url.endsWith("/oauth2/token"));
        if (method === "basic") {
          expect(request?.authorization).toMatch(/^Basic /);
          expect(request?.body).not.toContain("client_secret");
        } else {
          expect(request?.authorization).toBeNull();
          expect(new URLSearchParams(request?.body).get("client_secret")).toBe(sa.token);
        }
        expect(response).toMatchObject({ token_type: "bearer", expires_in: 3600, scope: "read write" });

        // Anyone verifies it offline against the JWKS (RFC 9068).
        const jwks = jose.createRemoteJWKSet(new URL(`${server.url}/.well-known/jwks.json`));
        const { payload, protectedHeader } = await jose.jwtVerify(response.access_token, jwks, {
          issuer: server.url,
          audience: server.url,
          typ: "at+jwt",
          algorithms: ["ES256"],
          currentDate: clock.now(),
        });
        expect(protectedHeader.typ).toBe("at+jwt");
        expect(payload).toMatchObject({
          sub: sa.accountId,
          client_id: email(sa.name),
          scope: "read write",
          access: "read-write",
          exp: T0_SECONDS + 3600,
        });
        expect(await acceptedEverywhere(server, response.access_token)).toBe(true);
      },
    );

    it("the client may also be named by its id; scope narrows the token", async () => {
      clock.set(T0);
      const sa = await account();
      const config = await configure(sa.accountId, sa.token, "basic");
      const response = await client.clientCredentialsGrant(config, { scope: "read" });
      expect(response.scope).toBe("read");
      const who = await server.api("GET", "/v1/whoami", { token: response.access_token });
      expect(who.body).toMatchObject({ access: "read-only", effective_role: "viewer" });
    });

    it("an access token never outlives the secret that obtained it", async () => {
      clock.set(T0);
      const sa = await account();
      const short = await server.api("POST", `/v1/projects/default/service-accounts/${sa.name}/tokens`, {
        body: { name: "short", ttl_seconds: 900 },
      });
      const config = await configure(email(sa.name), short.body.token, "post");
      clock.advance(600);
      const response = await client.clientCredentialsGrant(config);
      expect(response.expires_in).toBe(300);
      expect(decode(response.access_token).claims.exp).toBe(T0_SECONDS + 900);
    });

    it("wrong credentials get 401 invalid_client in the OAuth error shape", async () => {
      clock.set(T0);
      const sa = await account();
      const other = await account();
      const revoked = await account();
      await server.api("DELETE", `/v1/tokens/${revoked.tokenId}`);
      const jwt = (await tokenRequest(server, sa.name)).body.token;
      const cases: Array<[string, string]> = [
        [email(sa.name), other.token], // another account's token
        [email(sa.name), `${sa.token.slice(0, -1)}${sa.token.endsWith("x") ? "y" : "x"}`], // a look-alike
        [email(sa.name), jwt], // only opaque tokens are client secrets
        [email(revoked.name), revoked.token],
        [email("nobody"), sa.token],
        ["not-an-email", sa.token],
      ];
      for (const [id, secret] of cases) {
        const res = await form(
          "/oauth2/token",
          { grant_type: "client_credentials" },
          { authorization: basic(id, secret) },
        );
        expect(res.status, `${id}`).toBe(401);
        expect(res.body).toEqual({ error: "invalid_client", error_description: expect.any(String) });
        expect(res.headers.get("www-authenticate")).toMatch(/^Basic /);
        expect(res.headers.get("content-type")).toMatch(/^application\/json/);
        expect(res.headers.get("cache-control")).toBe("no-store");
      }
      const config = await configure(email(sa.name), other.token, "basic");
      const error = await client.clientCredentialsGrant(config).catch((e: unknown) => e);
      // A 401 with a Basic challenge: openid-client surfaces the challenge, and the OAuth body with it.
      expect(error).toBeInstanceOf(client.WWWAuthenticateChallengeError);
      const challenge = error as client.WWWAuthenticateChallengeError;
      expect(challenge.status).toBe(401);
      expect(challenge.cause[0]?.scheme).toBe("basic");
      expect(await challenge.response.json()).toMatchObject({ error: "invalid_client" });
    });

    it("errors: unsupported grant, two authentication methods, repeated or JSON parameters, scope and audience beyond the secret", async () => {
      clock.set(T0);
      const sa = await account({ access: "read-only" });
      const auth = { authorization: basic(email(sa.name), sa.token) };
      const cases: Array<[Record<string, string>, Record<string, string>, number, string]> = [
        [{ grant_type: "password", username: "a", password: "b" }, auth, 400, "unsupported_grant_type"],
        [{}, auth, 400, "unsupported_grant_type"],
        [
          { grant_type: "client_credentials", client_id: email(sa.name), client_secret: sa.token },
          auth,
          400,
          "invalid_request",
        ],
        [{ grant_type: "client_credentials", scope: "read write" }, auth, 400, "invalid_scope"],
        [{ grant_type: "client_credentials", scope: "admin" }, auth, 400, "invalid_scope"],
        [{ grant_type: "client_credentials" }, {}, 401, "invalid_client"],
      ];
      for (const [params, headers, status, error] of cases) {
        const res = await form("/oauth2/token", params, headers);
        expect(res.status, JSON.stringify(params)).toBe(status);
        expect(res.body.error).toBe(error);
      }
      const repeated = await fetch(`${server.url}/oauth2/token`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/x-www-form-urlencoded" },
        body: "grant_type=client_credentials&scope=read&scope=read",
      });
      expect(repeated.status).toBe(400);
      expect((await repeated.json()).error).toBe("invalid_request");
      for (const body of [
        { grant_type: "client_credentials", client_id: email(sa.name), client_secret: sa.token },
        {
          grant_type: "client_credentials",
          client_id: 5,
          client_secret: { a: 1 },
          audience: 5,
          scope: ["read"],
        },
      ]) {
        const res = await fetch(`${server.url}/oauth2/token`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });
        expect(res.status).toBe(400);
        expect(await res.json()).toMatchObject({ error: "invalid_request" });
      }

      const scoped = await server.api("POST", `/v1/projects/default/service-accounts/${sa.name}/tokens`, {
        body: { name: "scoped", audiences: ["https://a.example", "https://b.example"] },
      });
      const scopedAuth = { authorization: basic(email(sa.name), scoped.body.token) };
      const inside = await form(
        "/oauth2/token",
        { grant_type: "client_credentials", audience: "https://a.example" },
        scopedAuth,
      );
      expect(inside.status).toBe(200);
      expect(decode(inside.body.access_token).claims.aud).toEqual(["https://a.example"]);
      const outside = await form(
        "/oauth2/token",
        { grant_type: "client_credentials", audience: "https://c.example" },
        scopedAuth,
      );
      expect(outside.status).toBe(400);
      expect(outside.body.error).toBe("invalid_target");
    });
  });

  describe("token exchange (RFC 8693)", () => {
    const exchange = (
      subject: string,
      extra: Record<string, string> = {},
      headers: Record<string, string> = {},
    ) =>
      form(
        "/oauth2/token",
        { grant_type: TOKEN_EXCHANGE, subject_token: subject, subject_token_type: ACCESS_TOKEN, ...extra },
        headers,
      );

    it("an opaque token becomes a JWT access token for the same account", async () => {
      clock.set(T0);
      const sa = await account();
      const res = await exchange(sa.token);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        token_type: "Bearer",
        issued_token_type: ACCESS_TOKEN,
        expires_in: 3600,
        scope: "read write",
      });
      expect(decode(res.body.access_token).claims).toMatchObject({ sub: sa.accountId, aud: [server.url] });
      expect(await acceptedEverywhere(server, res.body.access_token)).toBe(true);
    });

    it("only narrower: audience within the subject token's, scope within its access", async () => {
      clock.set(T0);
      const sa = await account();
      const scoped = await server.api("POST", `/v1/projects/default/service-accounts/${sa.name}/tokens`, {
        body: { name: "scoped", access: "read-only", audiences: ["https://a.example", "https://b.example"] },
      });
      const narrow = await exchange(scoped.body.token, { audience: "https://b.example", scope: "read" });
      expect(narrow.status).toBe(200);
      expect(decode(narrow.body.access_token).claims).toMatchObject({
        aud: ["https://b.example"],
        access: "read-only",
      });
      const wider = await exchange(scoped.body.token, { audience: "https://c.example" });
      expect(wider).toMatchObject({ status: 400, body: { error: "invalid_target" } });
      const write = await exchange(scoped.body.token, { scope: "read write" });
      expect(write).toMatchObject({ status: 400, body: { error: "invalid_scope" } });
      // A read-write token may be narrowed to read.
      const readOnly = await exchange(sa.token, { scope: "read" });
      expect(decode(readOnly.body.access_token).claims).toMatchObject({ access: "read-only", scope: "read" });
    });

    it("refuses a subject token that is not an active opaque token, and bad parameters", async () => {
      clock.set(T0);
      const sa = await account();
      const revoked = await account();
      await server.api("DELETE", `/v1/tokens/${revoked.tokenId}`);
      const jwt = (await tokenRequest(server, sa.name)).body.token;
      for (const subject of [jwt, revoked.token, "lk_not-a-token", "garbage"]) {
        expect(await exchange(subject)).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
      }
      expect(
        await form("/oauth2/token", { grant_type: TOKEN_EXCHANGE, subject_token_type: ACCESS_TOKEN }),
      ).toMatchObject({
        status: 400,
        body: { error: "invalid_request" },
      });
      expect(
        await exchange(sa.token, { subject_token_type: "urn:ietf:params:oauth:token-type:id_token" }),
      ).toMatchObject({
        status: 400,
        body: { error: "invalid_request" },
      });
      expect(
        await exchange(sa.token, { requested_token_type: "urn:ietf:params:oauth:token-type:refresh_token" }),
      ).toMatchObject({ status: 400, body: { error: "invalid_request" } });
      // Client authentication is optional, but when sent it must be right.
      const wrongClient = await exchange(
        sa.token,
        {},
        { authorization: basic(email(sa.name), revoked.token) },
      );
      expect(wrongClient).toMatchObject({ status: 401, body: { error: "invalid_client" } });
    });
  });

  describe("introspection (RFC 7662)", () => {
    it("openid-client introspects opaque, JWT-format and short-lived tokens", async () => {
      clock.set(T0);
      const sa = await account();
      const config = await configure(email(sa.name), sa.token, "basic");
      const opaque = await client.tokenIntrospection(config, sa.token);
      expect(opaque).toMatchObject({
        active: true,
        token_type: "Bearer",
        sub: sa.accountId,
        client_id: email(sa.name),
        username: email(sa.name),
        scope: "read write",
        iss: server.url,
        jti: sa.tokenId,
        iat: T0_SECONDS,
        exp: T0_SECONDS + 90 * 86400,
        project: "default",
        service_account: sa.name,
        token_format: "opaque",
      });
      const jwtFormat = await server.api("POST", `/v1/projects/default/service-accounts/${sa.name}/tokens`, {
        body: { name: "jwt", format: "jwt", ttl_seconds: 7200 },
      });
      expect(await client.tokenIntrospection(config, jwtFormat.body.token)).toMatchObject({
        active: true,
        jti: jwtFormat.body.id,
        aud: [server.url],
        exp: T0_SECONDS + 7200,
        token_format: "jwt",
      });
      const short = (await tokenRequest(server, sa.name, { audiences: ["vault"] })).body.token;
      expect(await client.tokenIntrospection(config, short)).toMatchObject({
        active: true,
        jti: decode(short).claims.jti,
        aud: ["vault"],
        exp: T0_SECONDS + 3600,
        token_format: "jwt",
      });
      const post = await configure(email(sa.name), sa.token, "post");
      expect((await client.tokenIntrospection(post, sa.token)).active).toBe(true);
    });

    it('an inactive, unknown or malformed token is exactly {"active":false}', async () => {
      clock.set(T0);
      const sa = await account();
      const revoked = await account();
      await server.api("DELETE", `/v1/tokens/${revoked.tokenId}`);
      const expiring = await server.api("POST", `/v1/projects/default/service-accounts/${sa.name}/tokens`, {
        body: { name: "expiring", ttl_seconds: 600 },
      });
      clock.advance(600);
      const config = await configure(email(sa.name), sa.token, "basic");
      for (const token of [
        revoked.token,
        expiring.body.token,
        `lk_${"A".repeat(49)}`,
        "not a token",
        "a.b.c",
        "x".repeat(20_000),
        "",
      ]) {
        const raw = await introspect(server, token, sa.token);
        expect(raw.status).toBe(200);
        expect(raw.text).toBe('{"active":false}');
        if (token !== "") expect(await client.tokenIntrospection(config, token)).toEqual({ active: false });
      }
    });

    it("the caller must authenticate", async () => {
      clock.set(T0);
      const sa = await account();
      const anonymous = await form("/oauth2/introspect", { token: sa.token });
      expect(anonymous).toMatchObject({ status: 401, body: { error: "invalid_client" } });
      const wrong = await form(
        "/oauth2/introspect",
        { token: sa.token },
        { authorization: "Bearer lk_nope" },
      );
      expect(wrong).toMatchObject({ status: 401, body: { error: "invalid_client" } });
    });
  });

  describe("revocation (RFC 7009)", () => {
    it("openid-client revokes its own opaque token and a JWT it was issued; unknown tokens get 200 too", async () => {
      clock.set(T0);
      const sa = await account();
      const spare = await server.api("POST", `/v1/projects/default/service-accounts/${sa.name}/tokens`, {
        body: { name: "spare" },
      });
      const config = await configure(email(sa.name), sa.token, "basic");
      const { access_token } = await client.clientCredentialsGrant(config);
      await client.tokenRevocation(config, access_token);
      expect(await acceptedEverywhere(server, access_token)).toBe(false);
      await client.tokenRevocation(config, spare.body.token);
      expect(await acceptedEverywhere(server, spare.body.token)).toBe(false);
      expect((await server.api("GET", `/v1/tokens/${spare.body.id}`)).body.state).toBe("revoked");
      for (const unknown of [`lk_${"B".repeat(49)}`, "garbage", access_token]) {
        await expect(client.tokenRevocation(config, unknown)).resolves.toBeUndefined();
      }
      expect(await acceptedEverywhere(server, sa.token)).toBe(true);
      const missing = await form("/oauth2/revoke", {}, { authorization: `Bearer ${sa.token}` });
      expect(missing).toMatchObject({ status: 400, body: { error: "invalid_request" } });
    });

    it("revoking another account's token needs admin rights over it", async () => {
      clock.set(T0);
      const victim = await account({ role: "contributor" });
      const contributor = await account({ role: "contributor" });
      const admin = await account({ role: "admin" });
      const denied = await form(
        "/oauth2/revoke",
        { token: victim.token },
        { authorization: `Bearer ${contributor.token}` },
      );
      expect(denied).toMatchObject({ status: 403, body: { error: "access_denied" } });
      expect(await acceptedEverywhere(server, victim.token)).toBe(true);
      const jwtFormat = await server.api(
        "POST",
        `/v1/projects/default/service-accounts/${victim.name}/tokens`,
        {
          body: { name: "jwt", format: "jwt" },
        },
      );
      const config = await configure(email(admin.name), admin.token, "post");
      await client.tokenRevocation(config, victim.token);
      await client.tokenRevocation(config, jwtFormat.body.token);
      expect(await acceptedEverywhere(server, victim.token)).toBe(false);
      expect(await acceptedEverywhere(server, jwtFormat.body.token)).toBe(false);
      const events = await server.api("GET", `/v1/audit-events?action=token.revoke&target=${victim.tokenId}`);
      expect(events.body.items[0]).toMatchObject({ outcome: "success", details: { via: "oauth2/revoke" } });
    });
  });
});
