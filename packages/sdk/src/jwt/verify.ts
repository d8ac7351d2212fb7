import { KeyObject, verify as verifySignature, type webcrypto } from "node:crypto";
import * as jose from "jose";
import { type JwksOptions, type RemoteKeys, sharedRemoteKeys } from "../jwks/remote.ts";
import type { Fetch } from "../lib/http.ts";
import { normalizeIssuer } from "../lib/issuer.ts";
import {
  AlgorithmNotAllowedError,
  AudienceMismatchError,
  ClaimInvalidError,
  IssuerMismatchError,
  JwksUnavailableError,
  LatchkeyError,
  SignatureInvalidError,
  SigningKeyNotFoundError,
  TokenExpiredError,
  TokenHeaderForbiddenError,
  TokenMalformedError,
  TokenNotYetValidError,
  TokenTypeInvalidError,
} from "../util/errors.ts";
import {
  ACCESS_TOKEN_TYPE,
  type AccessTokenClaims,
  type Algorithm,
  ALGORITHMS,
  CLOCK_SKEW_SECONDS,
} from "./claims.ts";

/** Options of {@link verifyAccessToken}. */
export interface VerifyOptions {
  /** The Latchkey server's URL, exactly as in `iss` (a trailing slash is ignored). Keys come from its JWKS. */
  issuer: string;
  /** Who you are: the token's `aud` must include it (or one of these). Required: a token for another service is refused. */
  audience: string | string[];
  /** Accept fewer algorithms than Latchkey's three (ES256, EdDSA, RS256); never more. */
  algorithms?: Algorithm[];
  /** "Now" for `exp` and `nbf` (default: the system clock). */
  currentDate?: Date;
  /** How the JWKS is fetched and cached. */
  jwks?: JwksOptions;
  /** A fetch to use instead of the global one. */
  fetch?: Fetch;
}

/** RFC 7515/7519 header parameters that would let a token choose its own key or semantics. */
const FORBIDDEN_HEADERS = ["jku", "x5u", "jwk", "x5c", "crit"] as const;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const MAX_TOKEN_CHARS = 16_384;

export interface VerifyContext {
  issuer: string;
  audience: string | string[];
  algorithms: Algorithm[];
  keys: RemoteKeys;
  now: Date;
}

/** Resolves options to what {@link verifyWith} needs; throws TypeError for a programming mistake. */
export function verifyContext(options: VerifyOptions, keys?: RemoteKeys): Omit<VerifyContext, "now"> {
  const issuer = normalizeIssuer(options.issuer);
  const audience = options.audience;
  if (
    (typeof audience !== "string" || audience === "") &&
    (!Array.isArray(audience) || audience.length === 0 || audience.some((a) => typeof a !== "string" || !a))
  ) {
    throw new TypeError("audience is required: the service's own identifier, as Latchkey puts it in aud");
  }
  const algorithms = options.algorithms ?? [...ALGORITHMS];
  if (algorithms.length === 0 || algorithms.some((a) => !ALGORITHMS.includes(a))) {
    throw new TypeError(`algorithms may only include ${ALGORITHMS.join(", ")}`);
  }
  return {
    issuer,
    audience,
    algorithms,
    keys: keys ?? sharedRemoteKeys(issuer, options.jwks, options.fetch),
  };
}

const isCanonicalBase64url = (segment: string): boolean =>
  Buffer.from(segment, "base64url").toString("base64url") === segment;

/** Signature, header and claims; no revocation check (that is the verifier's). */
export async function verifyWith(token: unknown, ctx: VerifyContext): Promise<AccessTokenClaims> {
  if (typeof token !== "string" || token.length > MAX_TOKEN_CHARS || !COMPACT_JWS.test(token)) {
    throw new TokenMalformedError("the token is not a compact JWS");
  }
  // A last base64url character has unused bits: without this, another string that differs only in
  // them would verify as the same token (the server refuses it too).
  if (!token.split(".").every(isCanonicalBase64url)) {
    throw new TokenMalformedError("the token is not canonically base64url-encoded");
  }
  let header: jose.ProtectedHeaderParameters;
  try {
    header = jose.decodeProtectedHeader(token);
  } catch (cause) {
    throw new TokenMalformedError("the token header does not decode", { cause });
  }
  for (const name of FORBIDDEN_HEADERS) if (name in header) throw new TokenHeaderForbiddenError(name);
  // RFC 9068 §4: "at+jwt" or "application/at+jwt"; media types compare case-insensitively.
  const typ = typeof header.typ === "string" ? header.typ.toLowerCase().replace(/^application\//, "") : "";
  if (typ !== ACCESS_TOKEN_TYPE)
    throw new TokenTypeInvalidError(`the token's typ must be ${ACCESS_TOKEN_TYPE}`);
  if (typeof header.alg !== "string" || !ctx.algorithms.includes(header.alg as Algorithm)) {
    throw new AlgorithmNotAllowedError(`the token's alg must be one of ${ctx.algorithms.join(", ")}`);
  }
  if (typeof header.kid !== "string" || header.kid === "" || header.kid.length > 256) {
    throw new TokenMalformedError("the token header has no kid");
  }

  const [encodedHeader, encodedPayload, encodedSignature] = token.split(".") as [string, string, string];
  let payload: jose.JWTPayload;
  try {
    // From here on, what jose's jwtVerify did with these options, in its order and with its errors
    // (translated below as before), but the signature is checked with node:crypto's one-shot verify:
    // WebCrypto's per-call promise and job cost about 40 µs more per token (bench/NOTES.md).
    const key = await ctx.keys.getKey(header as jose.JWTHeaderParameters, {
      protected: encodedHeader,
      payload: encodedPayload,
      signature: encodedSignature,
    });
    const alg = header.alg as Algorithm;
    const signed = Buffer.from(`${encodedHeader}.${encodedPayload}`, "latin1");
    if (
      !signatureVerifies(alg, verificationKey(key, alg), signed, Buffer.from(encodedSignature, "base64url"))
    ) {
      throw new jose.errors.JWSSignatureVerificationFailed();
    }
    payload = claimsSet(header, Buffer.from(encodedPayload, "base64url"), ctx);
  } catch (error) {
    throw translate(error);
  }
  return latchkeyClaims(payload);
}

/** What a key must be for each algorithm (jose's checks of the key it is given). */
const KEY_ALGORITHMS: Record<Algorithm, { name: string; namedCurve?: string; hash?: string }> = {
  ES256: { name: "ECDSA", namedCurve: "P-256" },
  EdDSA: { name: "Ed25519" },
  RS256: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
};

const keyObjects = new WeakMap<object, KeyObject>();

/**
 * The node:crypto form of the key the JWKS resolver returned (a CryptoKey jose imported for `alg`),
 * checked as jose checks it: a public key of that algorithm, usable to verify, RSA of 2048 bits or
 * more. A key that is not is a TypeError, as it was from jose. Converted once per key.
 */
function verificationKey(key: unknown, alg: Algorithm): KeyObject {
  if (typeof key !== "object" || key === null) throw new TypeError("the key is not a CryptoKey");
  const known = keyObjects.get(key);
  if (known) return known;
  if ((key as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag] !== "CryptoKey") {
    throw new TypeError("the key is not a CryptoKey");
  }
  const cryptoKey = key as webcrypto.CryptoKey;
  const algorithm = cryptoKey.algorithm as {
    name: string;
    namedCurve?: string;
    hash?: { name: string };
    modulusLength?: number;
  };
  const expected = KEY_ALGORITHMS[alg];
  if (
    cryptoKey.type !== "public" ||
    algorithm.name !== expected.name ||
    (expected.namedCurve !== undefined && algorithm.namedCurve !== expected.namedCurve) ||
    (expected.hash !== undefined && algorithm.hash?.name !== expected.hash) ||
    !cryptoKey.usages.includes("verify") ||
    (alg === "RS256" && !(typeof algorithm.modulusLength === "number" && algorithm.modulusLength >= 2048))
  ) {
    throw new TypeError(`the key is not a public ${alg} verification key`);
  }
  const keyObject = KeyObject.from(cryptoKey);
  keyObjects.set(key, keyObject);
  return keyObject;
}

/** ECDSA P-256 with SHA-256 over a raw r||s signature, Ed25519, or RSASSA-PKCS1-v1_5 with SHA-256. */
function signatureVerifies(alg: Algorithm, key: KeyObject, data: Buffer, signature: Buffer): boolean {
  try {
    switch (alg) {
      case "ES256":
        return verifySignature("sha256", data, { key, dsaEncoding: "ieee-p1363" }, signature);
      case "EdDSA":
        return verifySignature(null, data, key, signature);
      case "RS256":
        return verifySignature("sha256", data, key, signature);
    }
  } catch {
    return false;
  }
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
/** jose's presence checks for Latchkey's required claims plus `audience` and `issuer`, in jose's order. */
const PRESENT = ["iss", "aud", "jti", "iat", "exp", "sub"] as const;
const normalizeTyp = (value: string) =>
  value.includes("/") ? value.toLowerCase() : `application/${value.toLowerCase()}`;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (
    typeof value !== "object" ||
    value === null ||
    Object.prototype.toString.call(value) !== "[object Object]"
  )
    return false;
  const prototype = Object.getPrototypeOf(value) as object | null;
  return prototype === null || Object.getPrototypeOf(prototype) === null;
}

/** jose's claims-set checks (validateClaimsSet) with the options verifyWith always gave jwtVerify. */
function claimsSet(
  header: jose.ProtectedHeaderParameters,
  bytes: Buffer,
  ctx: VerifyContext,
): jose.JWTPayload {
  const { JWTClaimValidationFailed, JWTExpired, JWTInvalid } = jose.errors;
  let claims: unknown;
  try {
    claims = JSON.parse(strictUtf8.decode(bytes));
  } catch (cause) {
    throw new JWTInvalid("JWT Claims Set must be a top-level JSON object", { cause });
  }
  if (!isPlainObject(claims)) throw new JWTInvalid("JWT Claims Set must be a top-level JSON object");
  if (typeof header.typ !== "string" || normalizeTyp(header.typ) !== normalizeTyp(ACCESS_TOKEN_TYPE)) {
    throw new JWTClaimValidationFailed('unexpected "typ" JWT header value', claims, "typ", "check_failed");
  }
  for (const claim of PRESENT) {
    if (!Object.hasOwn(claims, claim)) {
      throw new JWTClaimValidationFailed(`missing required "${claim}" claim`, claims, claim, "missing");
    }
  }
  if (claims.iss !== ctx.issuer) {
    throw new JWTClaimValidationFailed('unexpected "iss" claim value', claims, "iss", "check_failed");
  }
  const audiences = typeof ctx.audience === "string" ? [ctx.audience] : ctx.audience;
  const aud = claims.aud;
  const forUs =
    typeof aud === "string"
      ? audiences.includes(aud)
      : Array.isArray(aud)
        ? audiences.some((a) => (aud as unknown[]).includes(a))
        : false;
  if (!forUs)
    throw new JWTClaimValidationFailed('unexpected "aud" claim value', claims, "aud", "check_failed");
  const now = Math.floor(ctx.now.getTime() / 1000);
  if (!Number.isFinite(now)) throw new TypeError("Invalid currentDate option input");
  const numeric = (claim: "iat" | "nbf" | "exp"): number | undefined => {
    const value = claims[claim];
    if (value === undefined) return undefined;
    if (typeof value !== "number") {
      throw new JWTClaimValidationFailed(`"${claim}" claim must be a number`, claims, claim, "invalid");
    }
    return value;
  };
  numeric("iat");
  const nbf = numeric("nbf");
  if (nbf !== undefined && nbf > now + CLOCK_SKEW_SECONDS) {
    throw new JWTClaimValidationFailed('"nbf" claim timestamp check failed', claims, "nbf", "check_failed");
  }
  const exp = numeric("exp");
  if (exp !== undefined && exp <= now - CLOCK_SKEW_SECONDS) {
    throw new JWTExpired('"exp" claim timestamp check failed', claims, "exp", "check_failed");
  }
  return claims as jose.JWTPayload;
}

/** jose's errors, as the SDK's. */
function translate(error: unknown): Error {
  if (error instanceof LatchkeyError) return error;
  const e = jose.errors;
  if (error instanceof e.JWTExpired) {
    const exp = typeof error.payload.exp === "number" ? new Date(error.payload.exp * 1000) : undefined;
    return new TokenExpiredError("the token has expired", exp);
  }
  if (error instanceof e.JWTClaimValidationFailed) {
    if (error.reason === "check_failed") {
      if (error.claim === "iss") return new IssuerMismatchError("the token is from another issuer");
      if (error.claim === "aud") return new AudienceMismatchError("the token is not for this audience");
      if (error.claim === "nbf") return new TokenNotYetValidError("the token is not valid yet");
      if (error.claim === "typ")
        return new TokenTypeInvalidError(`the token's typ must be ${ACCESS_TOKEN_TYPE}`);
    }
    return new ClaimInvalidError(error.claim, `the "${error.claim}" claim is missing or not valid`);
  }
  if (error instanceof e.JWSSignatureVerificationFailed) {
    return new SignatureInvalidError("the token's signature does not verify");
  }
  if (error instanceof e.JWKSNoMatchingKey || error instanceof e.JWKSMultipleMatchingKeys) {
    return new SigningKeyNotFoundError("no single published key matches the token's kid and alg");
  }
  if (error instanceof e.JOSEAlgNotAllowed || error instanceof e.JOSENotSupported) {
    return new AlgorithmNotAllowedError("the token's algorithm is not allowed");
  }
  if (error instanceof e.JWSInvalid || error instanceof e.JWTInvalid) {
    return new TokenMalformedError("the token does not parse as a JWT", { cause: error });
  }
  // Timeouts, non-200 answers, bad JSON, a set that is not a JWKS, or the network itself.
  return new JwksUnavailableError("the issuer's JWKS could not be fetched", { cause: error });
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;
const isText = (v: unknown): v is string => typeof v === "string" && v !== "";

function latchkeyClaims(payload: jose.JWTPayload): AccessTokenClaims {
  const p = payload as Record<string, unknown>;
  const aud = typeof p.aud === "string" ? [p.aud] : p.aud;
  for (const claim of ["sub", "jti", "project", "service_account", "client_id"] as const) {
    if (!isText(p[claim])) throw new ClaimInvalidError(claim);
  }
  if (typeof p.scope !== "string") throw new ClaimInvalidError("scope");
  if (typeof p.iat !== "number") throw new ClaimInvalidError("iat");
  if (p.access !== "read-only" && p.access !== "read-write") throw new ClaimInvalidError("access");
  const bound = p.bound_object;
  if (
    bound !== undefined &&
    !(isObject(bound) && isText(bound.kind) && isText(bound.name) && isText(bound.uid))
  ) {
    throw new ClaimInvalidError("bound_object");
  }
  // jose parsed the payload for this call alone: it is completed in place rather than copied.
  p.aud = aud;
  return payload as unknown as AccessTokenClaims;
}

/**
 * Verifies a Latchkey access token offline: the signature with a key from the issuer's JWKS (fetched
 * from `${issuer}/.well-known/jwks.json`, cached, and never from a URL the token names), only ES256,
 * EdDSA or RS256 and only the algorithm published for that key, `typ: at+jwt`, exactly `iss`, `aud`
 * including `audience`, `exp` and `nbf` with 5 s of clock skew, and Latchkey's claims.
 *
 * This checks what the token says about itself. To also refuse tokens revoked before they expire,
 * use {@link createVerifier} with a revocation feed, or introspection.
 *
 * @example
 *
 * ```ts
 * import { verifyAccessToken } from "@latchkey/sdk";
 *
 * const claims = await verifyAccessToken(token, {
 *   issuer: "https://latchkey.example.com",
 *   audience: "https://orders.example.com",
 * });
 * console.log(claims.service_account, claims.project, claims.access);
 * ```
 *
 * @throws {@link LatchkeyError} subclasses: TokenMalformedError, TokenHeaderForbiddenError,
 *   TokenTypeInvalidError, AlgorithmNotAllowedError, SigningKeyNotFoundError, SignatureInvalidError,
 *   TokenExpiredError, TokenNotYetValidError, IssuerMismatchError, AudienceMismatchError,
 *   ClaimInvalidError, JwksUnavailableError.
 */
export async function verifyAccessToken(token: string, options: VerifyOptions): Promise<AccessTokenClaims> {
  return verifyWith(token, { ...verifyContext(options), now: options.currentDate ?? new Date() });
}
