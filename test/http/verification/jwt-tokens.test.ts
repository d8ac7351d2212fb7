import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/lib/clock.ts";
import { signerFor } from "../../helpers/attacks.ts";
import { accountWithToken, startServer, type TestServer } from "../../helpers/server.ts";
import { acceptedEverywhere, decode, introspect, review } from "./verifiers.ts";

const T0 = "2030-01-01T00:00:00.000Z";
const T0_SECONDS = Date.parse(T0) / 1000;

describe("format: jwt tokens", () => {
  const clock = new ManualClock(T0);
  let server: TestServer;
  let n = 0;
  beforeAll(async () => {
    server = await startServer({ clock });
  });
  afterAll(() => server.close());

  /** A fresh account with a JWT-format token; the response of the create call. */
  const jwtToken = async (body: Record<string, unknown> = {}, role = "viewer") => {
    const name = `jwt-${++n}`;
    const sa = await server.api("POST", "/v1/projects/default/service-accounts", { body: { name, role } });
    expect(sa.status).toBe(201);
    const res = await server.api("POST", `/v1/projects/default/service-accounts/${name}/tokens`, {
      body: { name: "deploy", format: "jwt", ...body },
    });
    expect(res.status).toBe(201);
    return { ...res.body, account: sa.body };
  };

  it("is an RFC 9068 access token whose jti is the token id, long-lived like any token", async () => {
    clock.set(T0);
    const created = await jwtToken({ ttl_seconds: 30 * 86400 });
    expect(created).toMatchObject({ format: "jwt", state: "active", expires_at: "2030-01-31T00:00:00.000Z" });
    const { header, claims } = decode(created.token);
    expect(header).toEqual({ alg: "ES256", typ: "at+jwt", kid: server.latchkey.deps.keys.active().kid });
    expect(claims).toEqual({
      iss: server.url,
      sub: created.account.id,
      aud: [server.url],
      iat: T0_SECONDS,
      nbf: T0_SECONDS,
      exp: T0_SECONDS + 30 * 86400,
      jti: created.id,
      client_id: `${created.account.name}@default.serviceaccounts.latchkey`,
      scope: "read write",
      project: "default",
      service_account: created.account.name,
      access: "read-write",
    });
    const who = await server.api("GET", "/v1/whoami", { token: created.token });
    expect(who.status).toBe(200);
    expect(who.body.token_id).toBe(created.id);
  });

  it("carries its audiences and access; a read-only one has scope read", async () => {
    clock.set(T0);
    const created = await jwtToken({ access: "read-only", audiences: ["https://api.example"] });
    const { claims } = decode(created.token);
    expect(claims).toMatchObject({ aud: ["https://api.example"], access: "read-only", scope: "read" });
    // Not for Latchkey's own API, whose audience is the issuer; but good for its own audience.
    expect((await server.api("GET", "/v1/whoami", { token: created.token })).status).toBe(401);
    expect((await review(server, created.token, ["https://api.example"])).authenticated).toBe(true);
    expect((await introspect(server, created.token)).body).toMatchObject({
      active: true,
      aud: ["https://api.example"],
      jti: created.id,
      access: "read-only",
      token_format: "jwt",
    });
  });

  it("the JWT is not stored: the row keeps the signing key's id, no digest, and the secret is shown once", async () => {
    clock.set(T0);
    const created = await jwtToken();
    const row = await server.latchkey.deps.db
      .selectFrom("tokens")
      .selectAll()
      .where("id", "=", created.id)
      .executeTakeFirstOrThrow();
    expect(row.digest).toBeNull();
    expect(row.kid).toBe(decode(created.token).header.kid);
    expect(JSON.stringify(row)).not.toContain(created.token.split(".")[2]);
    const read = await server.api("GET", `/v1/tokens/${created.id}`);
    expect(read.body).toMatchObject({ id: created.id, format: "jwt", state: "active" });
    expect(read.body).not.toHaveProperty("token");
  });

  it("is revocable like any token: after DELETE no surface accepts it", async () => {
    clock.set(T0);
    const created = await jwtToken();
    expect(await acceptedEverywhere(server, created.token)).toBe(true);
    expect((await server.api("DELETE", `/v1/tokens/${created.id}`)).status).toBe(204);
    expect(await acceptedEverywhere(server, created.token)).toBe(false);
    const who = await server.api("GET", "/v1/whoami", { token: created.token });
    expect(who.body.code).toBe("token_revoked");
  });

  it("expires exactly at expires_at: its row decides, with no clock-skew allowance", async () => {
    clock.set(T0);
    const created = await jwtToken({ ttl_seconds: 600 });
    clock.set("2030-01-01T00:09:59.999Z");
    expect(await acceptedEverywhere(server, created.token)).toBe(true);
    clock.set("2030-01-01T00:10:00.000Z");
    expect(await acceptedEverywhere(server, created.token)).toBe(false);
    expect((await server.api("GET", "/v1/whoami", { token: created.token })).body.code).toBe("token_expired");
    clock.set("2030-01-01T00:10:04.000Z");
    expect(await acceptedEverywhere(server, created.token)).toBe(false);
  });

  it("rotates into a new JWT with a new jti; the previous one stops at its deadline", async () => {
    clock.set(T0);
    const created = await jwtToken();
    const rotated = await server.api("POST", `/v1/tokens/${created.id}/rotate`, {
      body: { previous_expires_in_seconds: 600 },
    });
    expect(rotated.status).toBe(201);
    expect(rotated.body.format).toBe("jwt");
    expect(decode(rotated.body.token).claims.jti).toBe(rotated.body.id);
    clock.advance(599);
    expect(await acceptedEverywhere(server, created.token)).toBe(true);
    clock.advance(1);
    expect(await acceptedEverywhere(server, created.token)).toBe(false);
    expect(await acceptedEverywhere(server, rotated.body.token)).toBe(true);
  });

  it("stops working when its account is disabled or deleted", async () => {
    clock.set(T0);
    const created = await jwtToken();
    const path = `/v1/projects/default/service-accounts/${created.account.name}`;
    expect((await server.api("PATCH", path, { body: { disabled: true } })).status).toBe(200);
    expect(await acceptedEverywhere(server, created.token)).toBe(false);
    expect((await server.api("PATCH", path, { body: { disabled: false } })).status).toBe(200);
    expect(await acceptedEverywhere(server, created.token)).toBe(true);
    expect((await server.api("DELETE", path)).status).toBe(204);
    expect(await acceptedEverywhere(server, created.token)).toBe(false);
  });

  it("a JWT signed by our own key is still refused when its jti names another account's or an opaque token", async () => {
    clock.set(T0);
    const victim = await jwtToken();
    const opaque = await accountWithToken(server, { name: "opaque-owner" });
    const sign = signerFor(server.latchkey.deps.keys.all());
    const { header, claims } = decode(victim.token);
    const other = await jwtToken();
    // The claims of `other`, but the jti of the victim's token row.
    const crossed = await sign(header, { ...decode(other.token).claims, jti: victim.id });
    expect(await acceptedEverywhere(server, crossed)).toBe(false);
    const asOpaque = await sign(header, { ...claims, sub: opaque.accountId, jti: opaque.tokenId });
    expect(await acceptedEverywhere(server, asOpaque)).toBe(false);
    // A jti without a row is a short-lived JWT: it lives only if its account does.
    const ghost = await sign(header, { ...claims, sub: randomUUID(), jti: randomUUID() });
    expect(await acceptedEverywhere(server, ghost)).toBe(false);
  });
});
