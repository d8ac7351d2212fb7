import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AUDIENCE,
  type Forged,
  type Latchkey,
  type Minted,
  ageRetiredKey,
  forge,
  kidOf,
  mintJwts,
  mintMore,
  publishedKids,
  revokeToken,
  rotateSigningKey,
  startLatchkey,
} from "./helpers/latchkey.ts";
import { type Verdict, type Verifier, type Verify, goOidc, jose, pyjwt } from "./helpers/verifiers.ts";

/**
 * Third-party JWT verifiers (PyJWT's PyJWKClient, coreos/go-oidc, jose) against real Latchkey
 * processes, with the code docs/verifying-tokens.md shows: Latchkey's JWTs (JWT-format tokens and
 * token-request JWTs, signed with ES256, RS256 or EdDSA) verify with issuer and audience checked;
 * look-alikes do not; and a key rotation that also changes the algorithm keeps old tokens verifying
 * until their key is dropped from the JWKS.
 */

const ALGORITHMS = ["ES256", "RS256", "EdDSA"] as const;
const VERIFIERS: Verifier[] = [pyjwt, goOidc, jose];

const verifyWith = new Map<string, Verify>();
const verify = (v: Verifier, token: string, issuer: string, audience = AUDIENCE) =>
  verifyWith.get(v.name)!(token, issuer, audience);

const accepted = (verdict: Verdict, what = "the token") =>
  expect(verdict.ok, `${what} refused: ${JSON.stringify(verdict)}`).toBe(true);

const refused = (verdict: Verdict, pattern: RegExp) => {
  expect(verdict.ok, `accepted: ${JSON.stringify(verdict)}`).toBe(false);
  if (!verdict.ok) expect(verdict.error).toMatch(pattern);
};

// Installs the verifiers on a first run (PyPI, the Go module proxy, a Go build): minutes, not seconds.
beforeAll(async () => {
  for (const v of VERIFIERS) verifyWith.set(v.name, await v.setup());
}, 300_000);

describe.each(ALGORITHMS)("Latchkey signing with %s", (alg) => {
  let lk: Latchkey;
  let minted: Minted;
  let forged: Forged;
  beforeAll(async () => {
    lk = await startLatchkey({ alg });
    minted = await mintJwts(lk);
    forged = await forge(minted.requested.token);
  });
  afterAll(async () => {
    await lk?.close();
  });

  const expectedClaims = () => ({
    iss: lk.issuer,
    sub: minted.accountId,
    aud: [AUDIENCE],
    client_id: `${minted.accountName}@default.serviceaccounts.latchkey`,
    project: "default",
    service_account: minted.accountName,
  });

  describe.each(VERIFIERS)("$name", (v) => {
    it("verifies a JWT-format token with issuer and audience", async () => {
      expect(await verify(v, minted.jwtToken.token, lk.issuer)).toEqual({
        ok: true,
        claims: expect.objectContaining({
          ...expectedClaims(),
          jti: minted.jwtToken.id,
          access: "read-only",
          scope: "read",
        }),
      });
    });

    it("verifies a token-request JWT with issuer and audience", async () => {
      const verdict = await verify(v, minted.requested.token, lk.issuer);
      expect(verdict).toEqual({ ok: true, claims: expect.objectContaining(expectedClaims()) });
      if (verdict.ok) expect(verdict.claims.exp - verdict.claims.iat).toBe(600);
    });

    it("refuses a token for another audience", async () => {
      refused(
        await verify(v, minted.jwtToken.token, lk.issuer, "https://billing.example.com"),
        v.refusals.audience,
      );
    });

    it("refuses an issuer that is not exactly the one discovery names (a trailing slash)", async () => {
      refused(await verify(v, minted.requested.token, `${lk.issuer}/`), v.refusals.issuer);
    });

    it("refuses a token signed by a key Latchkey never published", async () => {
      refused(await verify(v, forged.unknownKid, lk.issuer), v.refusals.unknownKey);
    });

    it("refuses a token that names a published kid but was signed by another key", async () => {
      refused(await verify(v, forged.knownKidOtherKey, lk.issuer), v.refusals.badSignature);
    });

    it("refuses alg none", async () => {
      refused(await verify(v, forged.algNone, lk.issuer), v.refusals.algNone);
    });
  });
});

describe("across a signing-key rotation from ES256 to RS256", () => {
  let lk: Latchkey;
  let before: Minted;
  let after: Omit<Minted, "accountId" | "accountName">;
  let oldKid: string;
  let newKid: string;
  beforeAll(async () => {
    lk = await startLatchkey({ alg: "ES256" });
    before = await mintJwts(lk);
    oldKid = kidOf(before.requested.token);
    // The operator moves to RS256: new keys use it from the next rotation on.
    await lk.restart({ LATCHKEY_SIGNING_ALG: "RS256" });
    newKid = await rotateSigningKey(lk);
    after = await mintMore(lk, before.accountName);
  });
  afterAll(async () => {
    await lk?.close();
  });

  it("new tokens are signed by the new key; the retired one stays published", async () => {
    expect(kidOf(after.requested.token)).toBe(newKid);
    expect(kidOf(after.jwtToken.token)).toBe(newKid);
    expect(await publishedKids(lk)).toEqual([newKid, oldKid]);
    const discovery = await lk.api("GET", "/.well-known/openid-configuration");
    expect(discovery.body.id_token_signing_alg_values_supported).toEqual(["RS256", "ES256"]);
  });

  it.each(VERIFIERS)(
    "$name verifies the new key's tokens and, while it is published, the old one's",
    async (v) => {
      const tokens = [
        after.requested.token,
        after.jwtToken.token,
        before.requested.token,
        before.jwtToken.token,
      ];
      for (const token of tokens)
        accepted(await verify(v, token, lk.issuer), `a token signed by ${kidOf(token)}`);
    },
  );

  it("Latchkey refuses a revoked JWT-format token at once", async () => {
    await revokeToken(lk, before.jwtToken.id);
    const check = await fetch(`${lk.url}/v1/auth/check?audience=${encodeURIComponent(AUDIENCE)}`, {
      headers: { authorization: `Bearer ${before.jwtToken.token}` },
    });
    expect(check.status).toBe(401);
  });

  // Signature, issuer, audience and lifetime are still good: only Latchkey knows. Offline verifiers
  // need short lifetimes, or the revocation feed.
  it.each(VERIFIERS)("$name, offline, still accepts the revoked token", async (v) => {
    accepted(await verify(v, before.jwtToken.token, lk.issuer));
  });

  it("Latchkey drops the retired key once no token it signed can still be valid", async () => {
    // Nothing pins the old key now (its JWT-format token is revoked): once it retired longer ago
    // than the longest token request (24 h by default), Latchkey stops publishing it.
    await ageRetiredKey(lk, oldKid, 2 * 86_400);
    await lk.restart({ LATCHKEY_SIGNING_ALG: "RS256" });
    expect(await publishedKids(lk)).toEqual([newKid]);
  }, 60_000);

  it.each(VERIFIERS)(
    "$name refuses a token of the dropped key, and still verifies the new key's",
    async (v) => {
      refused(await verify(v, before.requested.token, lk.issuer), v.refusals.droppedKey);
      accepted(await verify(v, after.requested.token, lk.issuer));
    },
  );
});
