import * as jose from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLOCK_SKEW_SECONDS } from "../../../src/jwt/access-token.ts";
import type { SigningAlgorithm } from "../../../src/keys/key-ring.ts";
import { ManualClock } from "../../../src/lib/clock.ts";
import { startServer, type TestServer } from "../../helpers/server.ts";
import { acceptedEverywhere, decode, tokenRequest } from "./verifiers.ts";

const T0 = "2030-01-01T00:00:00.000Z";
/** The policy's longest short-lived JWT: a retired key must be published this long (and the skew). */
const MAX = 600;
/** The key ring re-reads which retired keys live JWT-format tokens pin at most this often. */
const RING_REFRESH_SECONDS = 30;
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "k", "oth"];

/** A verifier elsewhere: jose's remote JWKS (no caching, so each call sees the server's current set). */
function verifier(server: TestServer, clock: ManualClock, algorithm: SigningAlgorithm = "ES256") {
  const jwks = jose.createRemoteJWKSet(new URL(`${server.url}/.well-known/jwks.json`), {
    cacheMaxAge: 0,
    cooldownDuration: 0,
  });
  return (token: string, audience = server.url) =>
    jose.jwtVerify(token, jwks, {
      issuer: server.url,
      audience,
      typ: "at+jwt",
      algorithms: [algorithm],
      currentDate: clock.now(),
      clockTolerance: CLOCK_SKEW_SECONDS,
    });
}

const published = async (server: TestServer): Promise<string[]> =>
  (await server.api("GET", "/.well-known/jwks.json", { token: null })).body.keys.map((k: jose.JWK) => k.kid);

describe("the JWKS", () => {
  const clock = new ManualClock(T0);
  let server: TestServer;
  let verify: ReturnType<typeof verifier>;
  beforeAll(async () => {
    server = await startServer({ clock, policy: { maxTokenRequestSeconds: MAX } });
    verify = verifier(server, clock);
  });
  afterAll(() => server.close());

  const rotate = async () => {
    const res = await server.api("POST", "/v1/signing-keys/rotate");
    expect(res.status).toBe(201);
    return res.body.kid as string;
  };

  it("is public, holds public keys only, and may be cached for a minute", async () => {
    const res = await fetch(`${server.url}/.well-known/jwks.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.headers.get("cache-control")).toBe("public, max-age=60");
    const { keys } = (await res.json()) as { keys: jose.JWK[] };
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({
      kty: "EC",
      crv: "P-256",
      alg: "ES256",
      use: "sig",
      kid: expect.any(String),
    });
    for (const member of PRIVATE_MEMBERS) expect(keys[0]).not.toHaveProperty(member);
  });

  it("jose verifies tokens across a rotation: old and new keys are both published, newest first", async () => {
    clock.set(T0);
    const before = (await tokenRequest(server, "bootstrap", { audiences: ["svc"] })).body.token;
    await expect(verify(before, "svc")).resolves.toMatchObject({ payload: { aud: ["svc"] } });
    const oldKid = decode(before).header.kid as string;
    clock.advance(1); // keys are ordered by creation time
    const newKid = await rotate();
    expect(await published(server)).toEqual([newKid, oldKid]);
    const after = (await tokenRequest(server, "bootstrap", { audiences: ["svc"] })).body.token;
    expect(decode(after).header.kid).toBe(newKid);
    await expect(verify(after, "svc")).resolves.toMatchObject({
      protectedHeader: { kid: newKid, alg: "ES256" },
    });
    await expect(verify(before, "svc")).resolves.toMatchObject({ protectedHeader: { kid: oldKid } });
    await expect(verify(after, "other")).rejects.toThrow(jose.errors.JWTClaimValidationFailed);
  });

  it("a retired key is published while a short-lived token it signed can be valid, then dropped", async () => {
    clock.set("2030-01-02T00:00:00.000Z");
    const last = (await tokenRequest(server, "bootstrap", { expiration_seconds: MAX })).body.token;
    const oldKid = decode(last).header.kid as string;
    const retiredAt = Date.parse("2030-01-02T00:00:00.000Z"); // the same instant: the key's last token
    await rotate();
    clock.set(new Date(retiredAt + (MAX - 1) * 1000));
    expect(await published(server)).toContain(oldKid);
    await expect(verify(last)).resolves.toBeDefined();
    expect(await acceptedEverywhere(server, last)).toBe(true);

    // Its exp is retiredAt + MAX; verifiers allow 5 s of skew after it, and so must the key's publication.
    clock.set(new Date(retiredAt + (MAX + CLOCK_SKEW_SECONDS - 1) * 1000));
    expect(await published(server)).toContain(oldKid);
    await expect(verify(last)).resolves.toBeDefined();
    expect(await acceptedEverywhere(server, last)).toBe(true);

    clock.set(new Date(retiredAt + (MAX + CLOCK_SKEW_SECONDS) * 1000));
    expect(await published(server)).not.toContain(oldKid);
    await expect(verify(last)).rejects.toThrow(jose.errors.JWKSNoMatchingKey);
    expect(await acceptedEverywhere(server, last)).toBe(false);
    const listed = (await server.api("GET", "/v1/signing-keys")).body.items.find(
      (k: any) => k.kid === oldKid,
    );
    expect(listed).toMatchObject({ published: false, active: false });
  });

  it("a JWT-format token pins its key until it expires", async () => {
    clock.set("2030-01-03T00:00:00.000Z");
    const created = await server.api("POST", "/v1/projects/default/service-accounts/bootstrap/tokens", {
      body: { name: "pinning", format: "jwt", ttl_seconds: 7200 },
    });
    const kid = decode(created.body.token).header.kid as string;
    await rotate();
    clock.set("2030-01-03T01:00:00.000Z"); // long past the short-lived window
    expect(await published(server)).toContain(kid);
    await expect(verify(created.body.token)).resolves.toMatchObject({ payload: { jti: created.body.id } });
    clock.set("2030-01-03T01:59:59.000Z");
    expect(await published(server)).toContain(kid);
    expect(await acceptedEverywhere(server, created.body.token)).toBe(true);

    clock.set(
      new Date(Date.parse("2030-01-03T02:00:00.000Z") + (CLOCK_SKEW_SECONDS + RING_REFRESH_SECONDS) * 1000),
    );
    expect(await published(server)).not.toContain(kid);
    await expect(verify(created.body.token)).rejects.toThrow(jose.errors.JWKSNoMatchingKey);
  });

  it("… or until it is revoked", async () => {
    clock.set("2030-01-04T00:00:00.000Z");
    const created = await server.api("POST", "/v1/projects/default/service-accounts/bootstrap/tokens", {
      body: { name: "pinning-revoked", format: "jwt", ttl_seconds: 86400 },
    });
    const kid = decode(created.body.token).header.kid as string;
    await rotate();
    clock.advance(MAX + CLOCK_SKEW_SECONDS + 1);
    expect(await published(server)).toContain(kid);
    expect((await server.api("DELETE", `/v1/tokens/${created.body.id}`)).status).toBe(204);
    clock.advance(RING_REFRESH_SECONDS);
    expect(await published(server)).not.toContain(kid);
  });
});

describe.each([
  ["EdDSA", { kty: "OKP", crv: "Ed25519" }],
  ["RS256", { kty: "RSA", e: "AQAB" }],
] as const)("a %s server", (algorithm, shape) => {
  const clock = new ManualClock(T0);
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ clock, signingAlgorithm: algorithm });
  });
  afterAll(() => server.close());

  it("publishes its key and issues tokens that jose verifies with that algorithm only", async () => {
    const { keys } = (await server.api("GET", "/.well-known/jwks.json", { token: null })).body;
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ ...shape, alg: algorithm, use: "sig" });
    for (const member of PRIVATE_MEMBERS) expect(keys[0]).not.toHaveProperty(member);

    const verify = verifier(server, clock, algorithm);
    const short = (await tokenRequest(server, "bootstrap")).body.token;
    const format = await server.api("POST", "/v1/projects/default/service-accounts/bootstrap/tokens", {
      body: { name: "jwt", format: "jwt" },
    });
    for (const token of [short, format.body.token]) {
      expect(decode(token).header).toMatchObject({ alg: algorithm, typ: "at+jwt", kid: keys[0].kid });
      await expect(verify(token)).resolves.toBeDefined();
      expect(await acceptedEverywhere(server, token)).toBe(true);
    }
    const wrongAlgorithm = verifier(server, clock, algorithm === "RS256" ? "ES256" : "RS256");
    await expect(wrongAlgorithm(short)).rejects.toThrow();
    const discovery = await server.api("GET", "/.well-known/openid-configuration", { token: null });
    expect(discovery.body.id_token_signing_alg_values_supported).toEqual([algorithm]);
  });
});
