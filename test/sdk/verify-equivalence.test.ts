import { ClaimInvalidError, verifyAccessToken } from "@latchkey/sdk";
import fc from "fast-check";
import * as jose from "jose";
import { describe, expect, it } from "vitest";
import { AUDIENCE } from "./helpers.ts";

const ISSUER = "https://issuer.test";
const NOW = new Date("2030-06-01T12:00:00.000Z");
const now = Math.floor(NOW.getTime() / 1000);
const REQUIRED = ["iss", "sub", "aud", "exp", "iat", "jti"];

/**
 * The SDK error jose's jwtVerify leads to, with the options the SDK gives it: the reference for the
 * SDK's own signature and claims checks (which use node:crypto rather than WebCrypto).
 */
async function joseVerdict(token: string, key: jose.CryptoKey): Promise<string> {
  try {
    await jose.jwtVerify(token, key, {
      algorithms: ["ES256", "EdDSA", "RS256"],
      issuer: ISSUER,
      audience: AUDIENCE,
      typ: "at+jwt",
      currentDate: NOW,
      clockTolerance: 5,
      requiredClaims: REQUIRED,
    });
    return "ok";
  } catch (error) {
    const e = jose.errors;
    if (error instanceof e.JWTExpired) return "TokenExpiredError";
    if (error instanceof e.JWTClaimValidationFailed) {
      if (error.reason === "check_failed") {
        const byClaim: Record<string, string> = {
          iss: "IssuerMismatchError",
          aud: "AudienceMismatchError",
          nbf: "TokenNotYetValidError",
          typ: "TokenTypeInvalidError",
        };
        if (byClaim[error.claim]) return byClaim[error.claim] as string;
      }
      return `ClaimInvalidError:${error.claim}`;
    }
    if (error instanceof e.JWSSignatureVerificationFailed) return "SignatureInvalidError";
    if (error instanceof e.JWSInvalid || error instanceof e.JWTInvalid) return "TokenMalformedError";
    return `unexpected ${String(error)}`;
  }
}

const claims = (): Record<string, unknown> => ({
  iss: ISSUER,
  sub: "s",
  aud: [AUDIENCE],
  exp: now + 600,
  iat: now,
  nbf: now,
  jti: "j",
  client_id: "c",
  scope: "read",
  project: "p",
  service_account: "a",
  access: "read-only",
});

describe.each(["ES256", "EdDSA", "RS256"] as const)("the SDK's %s verification", (alg) => {
  const setup = (async () => {
    const pair = await jose.generateKeyPair(alg, { extractable: true });
    const jwk = { ...(await jose.exportJWK(pair.publicKey)), kid: "k1", alg, use: "sig" };
    const publicKey = (await jose.importJWK(jwk, alg)) as jose.CryptoKey;
    const fakeFetch = (async () => Response.json({ keys: [jwk] })) as typeof fetch;
    return {
      pair,
      publicKey,
      options: { issuer: ISSUER, audience: AUDIENCE, fetch: fakeFetch, currentDate: NOW },
    };
  })();
  const sign = async (payload: Uint8Array, typ = "at+jwt") => {
    const { pair } = await setup;
    return new jose.CompactSign(payload).setProtectedHeader({ alg, typ, kid: "k1" }).sign(pair.privateKey);
  };
  const sdkVerdict = async (token: string) => {
    const { options } = await setup;
    try {
      await verifyAccessToken(token, options);
      return "ok";
    } catch (error) {
      if (error instanceof ClaimInvalidError) return `ClaimInvalidError:${error.claim}`;
      return (error as Error).constructor.name;
    }
  };
  const agree = async (token: string) => {
    const { publicKey } = await setup;
    const [ours, reference] = [await sdkVerdict(token), await joseVerdict(token, publicKey)];
    // Past jose's checks, the SDK checks Latchkey's own claims (client_id, scope, access, …).
    if (reference === "ok") expect(ours === "ok" || ours.startsWith("ClaimInvalidError:"), token).toBe(true);
    else expect(ours, token).toBe(reference);
    return ours;
  };
  const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

  it("gives jose's verdict on broken payloads, signatures and typ spellings", async () => {
    expect(await agree(await sign(json(claims())))).toBe("ok");
    expect(await agree(await sign(json(claims()), "application/AT+JWT"))).toBe("ok");
    const edges: [Record<string, unknown>, string][] = [
      [{ exp: now - 5 }, "TokenExpiredError"],
      [{ exp: now - 4 }, "ok"],
      [{ nbf: now + 6 }, "TokenNotYetValidError"],
      [{ nbf: now + 5 }, "ok"],
      [{ nbf: "0" }, "ClaimInvalidError:nbf"],
      [{ aud: AUDIENCE }, "ok"],
      [{ aud: ["other"] }, "AudienceMismatchError"],
      [{ iss: `${ISSUER}/` }, "IssuerMismatchError"],
      [{ sub: undefined, jti: undefined }, "ClaimInvalidError:jti"],
    ];
    for (const [change, verdict] of edges) {
      expect(await agree(await sign(json({ ...claims(), ...change }))), JSON.stringify(change)).toBe(verdict);
    }
    for (const payload of ["[1]", "null", "{", "1"]) {
      expect(await agree(await sign(new TextEncoder().encode(payload)))).toBe("TokenMalformedError");
    }
    expect(await agree(await sign(new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])))).toBe(
      "TokenMalformedError",
    );
    const good = await sign(json(claims()));
    const [h, p, s] = good.split(".") as [string, string, string];
    const signature = Buffer.from(s, "base64url");
    signature[3] = (signature[3] ?? 0) ^ 0x10;
    const other = Buffer.from(JSON.stringify({ ...claims(), access: "read-write" })).toString("base64url");
    for (const forged of [
      `${h}.${p}.${signature.toString("base64url")}`,
      `${h}.${p}.${signature.subarray(1).toString("base64url")}`,
      `${h}.${other}.${s}`,
    ]) {
      expect(await agree(forged)).toBe("SignatureInvalidError");
    }
  });

  it("agrees with jose on arbitrary claim sets", async () => {
    const value = fc.oneof(
      fc.constant(undefined),
      fc.constant(null),
      fc.string({ maxLength: 8 }),
      fc.integer({ min: now - 1000, max: now + 1000 }),
      fc.constantFrom(now - 5, now - 6, now + 5, now + 6),
      fc.double(),
      fc.constant(ISSUER),
      fc.constant(AUDIENCE),
      fc.constant([AUDIENCE, "other"]),
      fc.constant(["other"]),
      fc.array(fc.oneof(fc.string({ maxLength: 4 }), fc.integer()), { maxLength: 2 }),
    );
    const names = [...Object.keys(claims()), "bound_object"];
    await fc.assert(
      fc.asyncProperty(
        fc.record(Object.fromEntries(names.map((k) => [k, fc.option(value, { freq: 2 })]))),
        async (changes) => {
          const payload = claims();
          for (const [k, v] of Object.entries(changes)) if (v !== null) payload[k] = v;
          await agree(await sign(json(payload)));
        },
      ),
      { numRuns: 150 },
    );
  });
});
