import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import * as jose from "jose";
import { afterAll, describe, expect, it } from "vitest";
import { migrate } from "../../../src/db/database.ts";
import { openSqliteStore } from "../../../src/db/sqlite.ts";
import {
  ACCESS_TOKEN_TYPE,
  type AccessTokenClaims,
  CLOCK_SKEW_SECONDS,
  type JwtFailure,
  verifyAccessToken,
} from "../../../src/jwt/access-token.ts";
import { KeyRing, SIGNING_ALGORITHMS, type SigningKey } from "../../../src/keys/key-ring.ts";
import { MasterKey } from "../../../src/keys/master-key.ts";
import { ManualClock } from "../../../src/lib/clock.ts";

const ISSUER = "https://latchkey.test";
const NOW = new Date("2030-06-01T12:00:00.000Z");
const now = Math.floor(NOW.getTime() / 1000);

/**
 * What jose's jwtVerify, given the options verifyAccessToken always had, says of a token whose
 * header already passed verifyAccessToken's own checks: the reference the node:crypto path must match.
 */
async function joseVerdict(key: SigningKey, token: string): Promise<"ok" | JwtFailure> {
  try {
    await jose.jwtVerify(token, key.publicKey, {
      algorithms: [key.algorithm],
      issuer: ISSUER,
      typ: ACCESS_TOKEN_TYPE,
      currentDate: NOW,
      clockTolerance: CLOCK_SKEW_SECONDS,
      requiredClaims: ["iss", "sub", "aud", "exp", "iat", "jti"],
    });
    return "ok";
  } catch (error) {
    if (error instanceof jose.errors.JWTExpired) return "expired";
    if (error instanceof jose.errors.JWTClaimValidationFailed && error.claim === "nbf")
      return "not_yet_valid";
    if (error instanceof jose.errors.JWSSignatureVerificationFailed) return "bad_signature";
    return "invalid_claims";
  }
}

const b64 = (value: string | Uint8Array) => Buffer.from(value).toString("base64url");

const goodClaims = (): Record<string, unknown> => ({
  iss: ISSUER,
  sub: "0b9c2d4e-0000-4000-8000-000000000001",
  aud: [ISSUER],
  exp: now + 600,
  iat: now,
  nbf: now,
  jti: "0b9c2d4e-0000-4000-8000-000000000002",
  client_id: "svc@default.serviceaccounts.latchkey",
  scope: "read write",
  project: "default",
  service_account: "svc",
  access: "read-write",
});

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe.each(SIGNING_ALGORITHMS)("verifyAccessToken with %s keys", (algorithm) => {
  const ready = (async () => {
    const dir = mkdtempSync(join(tmpdir(), "latchkey-jwt-"));
    dirs.push(dir);
    const store = openSqliteStore(join(dir, "latchkey.db"));
    await migrate(store.db);
    const ring = new KeyRing(store.db, MasterKey.generate(), new ManualClock(NOW.toISOString()), {
      algorithm,
      maxShortLivedSeconds: 3600,
    });
    await ring.load();
    return { ring, key: ring.active(), close: () => store.close() };
  })();
  afterAll(async () => (await ready).close());

  /** A token signed by the ring's key over any payload bytes, with header changes. */
  const sign = async (
    payload: Uint8Array | Record<string, unknown>,
    header: Record<string, unknown> = {},
  ) => {
    const { key } = await ready;
    const bytes = payload instanceof Uint8Array ? payload : new TextEncoder().encode(JSON.stringify(payload));
    return new jose.CompactSign(bytes)
      .setProtectedHeader({ alg: algorithm, typ: ACCESS_TOKEN_TYPE, kid: key.kid, ...header })
      .sign(key.privateKey);
  };
  const verdict = async (token: string) => {
    const { ring } = await ready;
    const result = await verifyAccessToken(ring, token, { issuer: ISSUER, now: NOW });
    return result.ok ? "ok" : result.reason;
  };
  const sameAsJose = async (token: string) => {
    const ours = await verdict(token);
    const { key } = await ready;
    expect(ours, token).toBe(await joseVerdict(key, token));
    return ours;
  };

  it("accepts a good token with its claims, and refuses each broken part for jose's reason", async () => {
    const good = await sign(goodClaims());
    const { ring } = await ready;
    const result = await verifyAccessToken(ring, good, { issuer: ISSUER, now: NOW });
    expect(result).toEqual({ ok: true, claims: goodClaims() });
    const cases: [string, Promise<string> | string, "ok" | JwtFailure][] = [
      ["good", good, "ok"],
      ["expired", sign({ ...goodClaims(), exp: now - CLOCK_SKEW_SECONDS }), "expired"],
      ["expired within the skew", sign({ ...goodClaims(), exp: now - CLOCK_SKEW_SECONDS + 1 }), "ok"],
      ["not yet valid", sign({ ...goodClaims(), nbf: now + CLOCK_SKEW_SECONDS + 1 }), "not_yet_valid"],
      ["nbf within the skew", sign({ ...goodClaims(), nbf: now + CLOCK_SKEW_SECONDS }), "ok"],
      ["nbf not a number", sign({ ...goodClaims(), nbf: "0" }), "not_yet_valid"],
      ["exp not a number", sign({ ...goodClaims(), exp: String(now + 600) }), "invalid_claims"],
      ["iat not a number", sign({ ...goodClaims(), iat: null }), "invalid_claims"],
      ["another issuer", sign({ ...goodClaims(), iss: `${ISSUER}/` }), "invalid_claims"],
      ["no jti", sign({ ...goodClaims(), jti: undefined }), "invalid_claims"],
      ["no exp", sign({ ...goodClaims(), exp: undefined }), "invalid_claims"],
      ["no nbf (optional)", sign({ ...goodClaims(), nbf: undefined }), "ok"],
      ["payload an array", sign(new TextEncoder().encode("[1]")), "invalid_claims"],
      ["payload not JSON", sign(new TextEncoder().encode("{")), "invalid_claims"],
      [
        "payload not UTF-8",
        sign(new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])),
        "invalid_claims",
      ],
      ["payload null", sign(new TextEncoder().encode("null")), "invalid_claims"],
    ];
    for (const [name, token, expected] of cases) expect(await sameAsJose(await token), name).toBe(expected);
  });

  it("refuses a token whose signature or signed bytes were changed", async () => {
    const good = await sign(goodClaims());
    const [h, p, s] = good.split(".") as [string, string, string];
    const signature = Buffer.from(s, "base64url");
    const flipped = Buffer.from(signature);
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    const otherPayload = b64(JSON.stringify({ ...goodClaims(), access: "read-write", scope: "admin" }));
    const cases = [
      `${h}.${p}.${b64(flipped)}`,
      `${h}.${p}.`,
      `${h}.${p}.${b64(signature.subarray(0, signature.length - 1))}`,
      `${h}.${p}.${b64(Buffer.concat([signature, Buffer.from([0])]))}`,
      `${h}.${otherPayload}.${s}`,
    ];
    for (const token of cases) expect(await sameAsJose(token), token).toBe("bad_signature");
  });

  it("refuses an algorithm other than the key's before checking the signature", async () => {
    const { key } = await ready;
    const claims = b64(JSON.stringify(goodClaims()));
    for (const alg of [
      "none",
      "HS256",
      "ES384",
      "RS512",
      ...SIGNING_ALGORITHMS.filter((a) => a !== algorithm),
    ]) {
      const header = b64(JSON.stringify({ alg, typ: ACCESS_TOKEN_TYPE, kid: key.kid }));
      const token = `${header}.${claims}.${b64("signature")}`;
      expect(await sameAsJose(token), alg).toBe("invalid_claims");
    }
  });

  it("agrees with jose on arbitrary claim sets", async () => {
    const value = fc.oneof(
      fc.constant(undefined),
      fc.constant(null),
      fc.string(),
      fc.integer({ min: now - 1000, max: now + 1000 }),
      fc.double(),
      fc.array(fc.string(), { maxLength: 3 }),
      fc.constant(ISSUER),
      fc.constant([ISSUER]),
      fc.constant("read-only"),
      fc.dictionary(fc.constantFrom("kind", "name", "uid"), fc.string()),
    );
    const claimNames = [...Object.keys(goodClaims()), "bound_object"] as const;
    await fc.assert(
      fc.asyncProperty(
        fc.record(Object.fromEntries(claimNames.map((k) => [k, fc.option(value, { freq: 2 })]))),
        async (changes) => {
          const claims = goodClaims();
          for (const [k, v] of Object.entries(changes)) if (v !== null) claims[k] = v;
          const token = await sign(claims);
          const ours = await verdict(token);
          const { key } = await ready;
          const reference = await joseVerdict(key, token);
          // Past jose's checks, verifyAccessToken also checks the shape of the claims it uses.
          if (reference === "ok") expect(["ok", "invalid_claims"]).toContain(ours);
          else expect(ours).toBe(reference);
          if (ours === "ok") {
            const c = claims as unknown as AccessTokenClaims;
            expect(typeof c.sub === "string" && typeof c.jti === "string").toBe(true);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
