import {
  AlgorithmNotAllowedError,
  AudienceMismatchError,
  ClaimInvalidError,
  createVerifier,
  IssuerMismatchError,
  JwksUnavailableError,
  SignatureInvalidError,
  SigningKeyNotFoundError,
  TokenExpiredError,
  TokenHeaderForbiddenError,
  TokenMalformedError,
  TokenNotYetValidError,
  TokenTypeInvalidError,
  verifyAccessToken,
} from "@latchkey/sdk";
import * as jose from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, startServer, type TestServer } from "../helpers/server.ts";
import {
  account,
  AUDIENCE,
  clientCredentialsToken,
  eventually,
  jwtFormatToken,
  rejection,
  requestedToken,
} from "./helpers.ts";

describe("verifyAccessToken", () => {
  let server: TestServer;
  let caller: Awaited<ReturnType<typeof account>>;
  beforeAll(async () => {
    server = await startServer();
    caller = await account(server, { role: "contributor" });
  });
  afterAll(() => server.close());

  const verify = (token: string, extra: Partial<Parameters<typeof verifyAccessToken>[1]> = {}) =>
    verifyAccessToken(token, { issuer: server.url, audience: AUDIENCE, ...extra });

  it("verifies a JWT-format token and returns its claims", async () => {
    const { jwt, id } = await jwtFormatToken(server, caller.name);
    const claims = await verify(jwt);
    expect(claims).toMatchObject({
      iss: server.url,
      sub: caller.id,
      aud: [AUDIENCE],
      jti: id,
      client_id: caller.email,
      project: "default",
      service_account: caller.name,
      access: "read-write",
      scope: "read write",
    });
  });

  it("verifies a token-request JWT, with its bound object", async () => {
    const put = await server.api("PUT", "/v1/projects/default/bound-objects/Pod/web-1", {
      body: { uid: "uid-verify-1" },
    });
    expect(put.status).toBe(200);
    const jwt = await requestedToken(server, caller.name, {
      audiences: [AUDIENCE, "https://other.example"],
      bound_object_ref: { kind: "Pod", name: "web-1" },
    });
    const claims = await verify(jwt);
    expect(claims.sub).toBe(caller.id);
    expect(claims.aud).toEqual([AUDIENCE, "https://other.example"]);
    expect(claims.bound_object).toEqual({ kind: "Pod", name: "web-1", uid: "uid-verify-1" });
    expect(claims.exp - claims.iat).toBe(3600);
  });

  it("verifies an OAuth client_credentials JWT", async () => {
    const jwt = await clientCredentialsToken(server, caller);
    const claims = await verify(jwt);
    expect(claims).toMatchObject({ sub: caller.id, client_id: caller.email, aud: [AUDIENCE] });
  });

  it("accepts any of several audiences, and refuses a token for another audience", async () => {
    const { jwt } = await jwtFormatToken(server, caller.name, ["https://billing.example"]);
    expect(await rejection(verify(jwt))).toBeInstanceOf(AudienceMismatchError);
    const claims = await verify(jwt, { audience: [AUDIENCE, "https://billing.example"] });
    expect(claims.aud).toEqual(["https://billing.example"]);
  });

  it("refuses a token whose iss is another URL, even with the same keys", async () => {
    const { jwt } = await jwtFormatToken(server, caller.name);
    // Same server, same JWKS, but named differently: `iss` must match exactly.
    const alias = server.url.replace("127.0.0.1", "localhost");
    const error = await rejection(verify(jwt, { issuer: alias }));
    expect(error).toBeInstanceOf(IssuerMismatchError);
    expect((error as IssuerMismatchError).code).toBe("ERR_ISSUER_MISMATCH");
  });

  it("ignores a trailing slash on the configured issuer", async () => {
    const { jwt } = await jwtFormatToken(server, caller.name);
    await expect(verify(jwt, { issuer: `${server.url}/` })).resolves.toMatchObject({ iss: server.url });
  });

  it("requires an audience", async () => {
    const { jwt } = await jwtFormatToken(server, caller.name);
    await expect(verify(jwt, { audience: "" })).rejects.toThrow(TypeError);
    await expect(verify(jwt, { audience: [] })).rejects.toThrow(TypeError);
  });

  it("allows 5 seconds of clock skew on exp and nbf, and not 6", async () => {
    const jwt = await requestedToken(server, caller.name, { audiences: [AUDIENCE] });
    const { exp, nbf } = jose.decodeJwt(jwt) as { exp: number; nbf: number };
    await expect(verify(jwt, { currentDate: new Date((exp + 4) * 1000) })).resolves.toBeDefined();
    const expired = await rejection(verify(jwt, { currentDate: new Date((exp + 6) * 1000) }));
    expect(expired).toBeInstanceOf(TokenExpiredError);
    expect((expired as TokenExpiredError).expiredAt).toEqual(new Date(exp * 1000));
    await expect(verify(jwt, { currentDate: new Date((nbf - 4) * 1000) })).resolves.toBeDefined();
    expect(await rejection(verify(jwt, { currentDate: new Date((nbf - 6) * 1000) }))).toBeInstanceOf(
      TokenNotYetValidError,
    );
  });

  it("refuses what is not a JWT: an opaque token, garbage, a tampered signature", async () => {
    expect(await rejection(verify(caller.secret))).toBeInstanceOf(TokenMalformedError);
    expect(await rejection(verify("a.b"))).toBeInstanceOf(TokenMalformedError);
    expect(await rejection(verify("%%%.%%%.%%%"))).toBeInstanceOf(TokenMalformedError);
    const { jwt } = await jwtFormatToken(server, caller.name);
    const [h, p, s] = jwt.split(".") as [string, string, string];
    const flipped = s.slice(0, 10) + (s[10] === "A" ? "B" : "A") + s.slice(11);
    expect(await rejection(verify(`${h}.${p}.${flipped}`))).toBeInstanceOf(SignatureInvalidError);
    // A payload changed under a valid signature.
    const forged = jose.base64url.encode(
      JSON.stringify({ ...jose.decodeJwt(jwt), access: "read-write", project: "other" }),
    );
    expect(await rejection(verify(`${h}.${forged}.${s}`))).toBeInstanceOf(SignatureInvalidError);
  });

  it("refuses a twin of a valid token that differs only in the unused bits of its last character", async () => {
    const { jwt } = await jwtFormatToken(server, caller.name);
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const last = alphabet.indexOf(jwt.at(-1) as string);
    // An ES256 signature is 64 bytes: 86 characters carry 516 bits, so the last 4 are unused.
    const twin = jwt.slice(0, -1) + alphabet[last ^ 1];
    expect(Buffer.from(twin.split(".")[2] as string, "base64url")).toEqual(
      Buffer.from(jwt.split(".")[2] as string, "base64url"),
    );
    expect(await verify(jwt)).toBeDefined();
    expect(await rejection(verify(twin))).toBeInstanceOf(TokenMalformedError);
  });

  describe("headers a token may not choose", () => {
    let kid: string;
    let attacker: jose.GenerateKeyPairResult;
    beforeAll(async () => {
      kid = (jose.decodeProtectedHeader((await jwtFormatToken(server, caller.name)).jwt).kid as string) ?? "";
      attacker = await jose.generateKeyPair("ES256", { extractable: true });
    });
    const claims = () => ({
      iss: server.url,
      sub: caller.id,
      aud: [AUDIENCE],
      jti: "x",
      client_id: caller.email,
      scope: "read write",
      project: "default",
      service_account: caller.name,
      access: "read-write",
    });
    const sign = (header: jose.JWTHeaderParameters, key: jose.CryptoKey | Uint8Array = attacker.privateKey) =>
      new jose.SignJWT(claims()).setProtectedHeader(header).setIssuedAt().setExpirationTime("1h").sign(key);

    it.each(["jku", "x5u", "x5c", "crit"])("refuses a %s header before fetching anything", async (name) => {
      const value = name === "crit" ? ["x-ext"] : name === "x5c" ? ["MIIB"] : "https://attacker.example/keys";
      // Only the header matters: it is refused before any key is looked for.
      const header = jose.base64url.encode(
        JSON.stringify({ alg: "ES256", typ: "at+jwt", kid, [name]: value }),
      );
      const token = `${header}.${jose.base64url.encode(JSON.stringify(claims()))}.AAAA`;
      const error = await rejection(verify(token));
      expect(error).toBeInstanceOf(TokenHeaderForbiddenError);
      expect((error as TokenHeaderForbiddenError).header).toBe(name);
    });

    it("refuses an embedded jwk, even one that signed the token", async () => {
      const jwk = await jose.exportJWK(attacker.publicKey);
      const token = await sign({ alg: "ES256", typ: "at+jwt", kid, jwk });
      expect(await rejection(verify(token))).toBeInstanceOf(TokenHeaderForbiddenError);
    });

    it("refuses alg none, HS256 with the public key as secret, and algorithms outside the list", async () => {
      const unsigned = new jose.UnsecuredJWT(claims()).setIssuedAt().setExpirationTime("1h").encode();
      const [, payload] = unsigned.split(".");
      const none = `${jose.base64url.encode(JSON.stringify({ alg: "none", typ: "at+jwt", kid }))}.${payload}.`;
      expect(await rejection(verify(none))).toBeInstanceOf(TokenMalformedError);
      const noneWithSig = `${none}AAAA`;
      expect(await rejection(verify(noneWithSig))).toBeInstanceOf(AlgorithmNotAllowedError);
      const jwks = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as {
        keys: jose.JWK[];
      };
      const secret = new TextEncoder().encode(JSON.stringify(jwks.keys[0]));
      const hs = await sign({ alg: "HS256", typ: "at+jwt", kid }, secret);
      expect(await rejection(verify(hs))).toBeInstanceOf(AlgorithmNotAllowedError);
      const es384 = await jose.generateKeyPair("ES384");
      const other = await sign({ alg: "ES384", typ: "at+jwt", kid }, es384.privateKey);
      expect(await rejection(verify(other))).toBeInstanceOf(AlgorithmNotAllowedError);
      // ES256 allowed in general, but the verifier was told to accept EdDSA only.
      const { jwt } = await jwtFormatToken(server, caller.name);
      expect(await rejection(verify(jwt, { algorithms: ["EdDSA"] }))).toBeInstanceOf(
        AlgorithmNotAllowedError,
      );
    });

    it("refuses a token signed with another algorithm than its key's", async () => {
      const rsa = await jose.generateKeyPair("RS256");
      const token = await sign({ alg: "RS256", typ: "at+jwt", kid }, rsa.privateKey);
      expect(await rejection(verify(token))).toBeInstanceOf(SigningKeyNotFoundError);
    });

    it("refuses a token with an unknown kid, or none", async () => {
      const token = await sign({ alg: "ES256", typ: "at+jwt", kid: "no-such-key" });
      expect(await rejection(verify(token))).toBeInstanceOf(SigningKeyNotFoundError);
      const noKid = await sign({ alg: "ES256", typ: "at+jwt" });
      expect(await rejection(verify(noKid))).toBeInstanceOf(TokenMalformedError);
    });

    it("refuses a typ other than at+jwt, and accepts application/at+jwt", async () => {
      const jwt = await sign({ alg: "ES256", typ: "JWT", kid });
      expect(await rejection(verify(jwt))).toBeInstanceOf(TokenTypeInvalidError);
      const untyped = await sign({ alg: "ES256", kid });
      expect(await rejection(verify(untyped))).toBeInstanceOf(TokenTypeInvalidError);
      // RFC 9068 §4 allows the long form; this one then fails on its (attacker's) signature.
      const long = await sign({ alg: "ES256", typ: "application/at+jwt", kid });
      expect(await rejection(verify(long))).toBeInstanceOf(SignatureInvalidError);
    });
  });

  it("refuses a token without Latchkey's claims", async () => {
    // A token the server signed is always complete; this proves the check with one it did not.
    const key = await jose.generateKeyPair("ES256", { extractable: true });
    const jwk = { ...(await jose.exportJWK(key.publicKey)), kid: "k1", alg: "ES256", use: "sig" };
    const fakeIssuer = "https://issuer.test";
    const fakeFetch = (async () => Response.json({ keys: [jwk] })) as typeof fetch;
    const base = {
      iss: fakeIssuer,
      sub: "s",
      aud: AUDIENCE,
      jti: "j",
      client_id: "c",
      scope: "read",
      project: "p",
      service_account: "a",
      access: "read-only",
    };
    const make = (claims: Record<string, unknown>) =>
      new jose.SignJWT(claims)
        .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: "k1" })
        .setIssuedAt()
        .setExpirationTime("1h")
        .sign(key.privateKey);
    const options = { issuer: fakeIssuer, audience: AUDIENCE, fetch: fakeFetch };
    const ok = await verifyAccessToken(await make(base), options);
    expect(ok.aud).toEqual([AUDIENCE]); // a single string becomes a list
    for (const [claim, value] of [
      ["access", "admin"],
      ["project", undefined],
      ["jti", undefined],
      ["sub", 42],
      ["bound_object", { kind: "Pod" }],
    ] as const) {
      const error = await rejection(verifyAccessToken(await make({ ...base, [claim]: value }), options));
      expect(error, claim).toBeInstanceOf(ClaimInvalidError);
      expect((error as ClaimInvalidError).claim).toBe(claim);
    }
  });

  it("judges each token by the first key published under its kid, on every verification", async () => {
    const es = await jose.generateKeyPair("ES256", { extractable: true });
    const ed = await jose.generateKeyPair("EdDSA", { extractable: true });
    const esJwk = await jose.exportJWK(es.publicKey);
    const edJwk = await jose.exportJWK(ed.publicKey);
    const fakeIssuer = "https://issuer.test";
    const keys = [
      { ...esJwk, kid: "no-alg", use: "sig" }, // published without an alg: refused outright
      { ...edJwk, kid: "shared", alg: "EdDSA", use: "sig" }, // first under "shared"
      { ...esJwk, kid: "shared", alg: "ES256", use: "sig" },
    ];
    const verifier = createVerifier({
      issuer: fakeIssuer,
      audience: AUDIENCE,
      fetch: (async () => Response.json({ keys })) as typeof fetch,
    });
    await verifier.ready;
    const make = (alg: string, kid: string, key: jose.CryptoKey) =>
      new jose.SignJWT({
        iss: fakeIssuer,
        sub: "s",
        aud: AUDIENCE,
        jti: "j",
        client_id: "c",
        scope: "read",
        project: "p",
        service_account: "a",
        access: "read-only",
      })
        .setProtectedHeader({ alg, typ: "at+jwt", kid })
        .setIssuedAt()
        .setExpirationTime("1h")
        .sign(key);
    const noAlg = await make("ES256", "no-alg", es.privateKey);
    const sharedEs = await make("ES256", "shared", es.privateKey);
    const sharedEd = await make("EdDSA", "shared", ed.privateKey);
    for (let round = 0; round < 3; round++) {
      expect(await rejection(verifier.verify(noAlg))).toBeInstanceOf(AlgorithmNotAllowedError);
      expect(await rejection(verifier.verify(sharedEs))).toBeInstanceOf(AlgorithmNotAllowedError);
      await expect(verifier.verify(sharedEd)).resolves.toMatchObject({ sub: "s", jti: "j" });
    }
    await verifier.close();
  });

  it("reports an unreachable JWKS as JwksUnavailableError, not as a bad token", async () => {
    const { jwt } = await jwtFormatToken(server, caller.name);
    const port = await freePort();
    const error = await rejection(
      verifyAccessToken(jwt, { issuer: `http://127.0.0.1:${port}`, audience: AUDIENCE }),
    );
    expect(error).toBeInstanceOf(JwksUnavailableError);
  });
});

describe.each(["EdDSA", "RS256"] as const)("a server that signs with %s", (signingAlgorithm) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ signingAlgorithm });
  });
  afterAll(() => server.close());

  it("issues tokens the SDK verifies", async () => {
    const caller = await account(server);
    const { jwt } = await jwtFormatToken(server, caller.name);
    expect(jose.decodeProtectedHeader(jwt).alg).toBe(signingAlgorithm);
    await expect(verifyAccessToken(jwt, { issuer: server.url, audience: AUDIENCE })).resolves.toMatchObject({
      sub: caller.id,
    });
    const limited = await rejection(
      verifyAccessToken(jwt, { issuer: server.url, audience: AUDIENCE, algorithms: ["ES256"] }),
    );
    expect(limited).toBeInstanceOf(AlgorithmNotAllowedError);
  });
});

describe("across a signing-key rotation", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.close());

  it("old tokens keep verifying and the new key is fetched when a token first names it", async () => {
    const caller = await account(server);
    const options = { issuer: server.url, audience: AUDIENCE, jwks: { cooldownMs: 200 } };
    const before = await jwtFormatToken(server, caller.name);
    const shortLived = await requestedToken(server, caller.name);
    await verifyAccessToken(before.jwt, options); // the JWKS is now cached, with the old key only
    const oldKid = jose.decodeProtectedHeader(before.jwt).kid;

    const rotated = await server.api("POST", "/v1/signing-keys/rotate");
    expect(rotated.status).toBe(201);
    const after = await jwtFormatToken(server, caller.name);
    expect(jose.decodeProtectedHeader(after.jwt).kid).toBe(rotated.body.kid);
    expect(rotated.body.kid).not.toBe(oldKid);

    // Within the cooldown an unknown kid does not refetch; after it, it does.
    await new Promise((resolve) => setTimeout(resolve, 250));
    await expect(verifyAccessToken(after.jwt, options)).resolves.toMatchObject({ jti: after.id });
    await expect(verifyAccessToken(before.jwt, options)).resolves.toMatchObject({ jti: before.id });
    await expect(verifyAccessToken(shortLived, options)).resolves.toBeDefined();
  });

  it("a verifier with the revocation feed fetches the new key as soon as the rotation is announced", async () => {
    const caller = await account(server);
    const verifier = createVerifier({
      issuer: server.url,
      audience: AUDIENCE,
      revocationFeed: { token: server.bootstrapToken },
    });
    try {
      await verifier.ready;
      const before = await jwtFormatToken(server, caller.name);
      await verifier.verify(before.jwt);
      const rotated = await server.api("POST", "/v1/signing-keys/rotate");
      expect(rotated.status).toBe(201);
      const after = await jwtFormatToken(server, caller.name);
      // Default cooldown (5 s) not waited out: the feed's signing_key.rotated made it fetch already.
      const claims = await eventually(() => verifier.verify(after.jwt).catch(() => undefined), 1000);
      expect(claims.jti).toBe(after.id);
      await expect(verifier.verify(before.jwt)).resolves.toMatchObject({ jti: before.id });
    } finally {
      await verifier.close();
    }
  });
});
