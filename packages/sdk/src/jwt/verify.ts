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

  let payload: jose.JWTPayload;
  try {
    ({ payload } = await jose.jwtVerify(token, ctx.keys.getKey, {
      algorithms: ctx.algorithms,
      issuer: ctx.issuer,
      audience: ctx.audience,
      typ: ACCESS_TOKEN_TYPE,
      currentDate: ctx.now,
      clockTolerance: CLOCK_SKEW_SECONDS,
      requiredClaims: ["iss", "sub", "aud", "exp", "iat", "jti"],
    }));
  } catch (error) {
    throw translate(error);
  }
  return latchkeyClaims(payload);
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
  return { ...(payload as unknown as AccessTokenClaims), aud: aud as string[] };
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
