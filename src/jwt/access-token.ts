import { verify as verifySignature } from "node:crypto";
import * as jose from "jose";
import type { Access } from "../auth/policy.ts";
import type { KeyRing, SigningKey } from "../keys/key-ring.ts";

/** The claims of every JWT Latchkey issues (RFC 9068 profile plus Latchkey's own). */
export interface AccessTokenClaims {
  iss: string;
  sub: string;
  aud: string[];
  exp: number;
  iat: number;
  nbf: number;
  jti: string;
  client_id: string;
  scope: string;
  project: string;
  service_account: string;
  access: Access;
  /** Kubernetes-style binding: the token dies with the object. */
  bound_object?: { kind: string; name: string; uid: string };
}

/** Seconds of clock skew tolerated on `exp` and `nbf`, by the server and the SDK alike. */
export const CLOCK_SKEW_SECONDS = 5;
export const ACCESS_TOKEN_TYPE = "at+jwt";

export const scopeOf = (access: Access): string => (access === "read-write" ? "read write" : "read");

export async function signAccessToken(keys: KeyRing, claims: AccessTokenClaims): Promise<string> {
  const key = keys.active();
  return new jose.SignJWT({ ...claims })
    .setProtectedHeader({ alg: key.algorithm, typ: ACCESS_TOKEN_TYPE, kid: key.kid })
    .sign(key.privateKey);
}

/** Whether the text is shaped like a JWS compact serialization (three base64url parts). */
export const looksLikeJwt = (text: string): boolean =>
  /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(text);

/** Whether a base64url segment is the one encoding of its bytes (its unused bits are zero). */
const isCanonicalBase64url = (segment: string): boolean =>
  Buffer.from(segment, "base64url").toString("base64url") === segment;

const FORBIDDEN_HEADERS = ["jku", "x5u", "jwk", "x5c", "crit"];

export type JwtFailure =
  "malformed" | "unknown_key" | "bad_signature" | "expired" | "not_yet_valid" | "invalid_claims";

/** Claims a Latchkey JWT must carry (presence only; types are checked below). */
const REQUIRED_CLAIMS = ["iss", "sub", "aud", "exp", "iat", "jti"];

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** A plain object, as JSON.parse makes one (jose's test for a claims set). */
const isPlainObject = (value: unknown): value is Record<string, unknown> => {
  if (
    typeof value !== "object" ||
    value === null ||
    Object.prototype.toString.call(value) !== "[object Object]"
  )
    return false;
  const prototype = Object.getPrototypeOf(value) as object | null;
  return prototype === null || Object.getPrototypeOf(prototype) === null;
};

/**
 * The signature check, with node:crypto's one-shot verify and the key imported once: the same
 * algorithms WebCrypto runs for jose (ECDSA P-256 with SHA-256 and a raw r||s signature, Ed25519,
 * RSASSA-PKCS1-v1_5 with SHA-256), without WebCrypto's per-call promise and job. A signature of the
 * wrong length or encoding does not verify.
 */
function signatureVerifies(key: SigningKey, data: Buffer, signature: Buffer): boolean {
  try {
    switch (key.algorithm) {
      case "ES256":
        return verifySignature(
          "sha256",
          data,
          { key: key.publicKeyObject, dsaEncoding: "ieee-p1363" },
          signature,
        );
      case "EdDSA":
        return verifySignature(null, data, key.publicKeyObject, signature);
      case "RS256":
        return verifySignature("sha256", data, key.publicKeyObject, signature);
    }
  } catch {
    return false;
  }
}

/**
 * Verifies signature, type, issuer and lifetime. The key comes from our own ring by `kid` only;
 * header-supplied keys and key URLs are refused, never fetched, and the algorithm must be the one
 * configured for that key (so no `none`, no HS256-with-a-public-key, no RS/ES swap).
 *
 * The checks and their order are jose's `jwtVerify` with the options Latchkey gives it (alg, then
 * signature, then the claims set: presence, issuer, iat, nbf, exp), done here with node:crypto's
 * synchronous verify, which costs about 40% less CPU than jose's WebCrypto path (bench/NOTES.md).
 */
export async function verifyAccessToken(
  keys: KeyRing,
  token: string,
  options: { issuer: string; now: Date },
): Promise<{ ok: true; claims: AccessTokenClaims } | { ok: false; reason: JwtFailure }> {
  if (token.length > 16_384 || !looksLikeJwt(token)) return { ok: false, reason: "malformed" };
  // Base64url has unused bits in a last character: without this, changing one of those would make
  // another string that verifies as the same token (test/hardening/secrets found one).
  const parts = token.split(".");
  if (!parts.every(isCanonicalBase64url)) return { ok: false, reason: "malformed" };
  let header: jose.ProtectedHeaderParameters;
  try {
    header = jose.decodeProtectedHeader(token);
  } catch {
    return { ok: false, reason: "malformed" };
  }
  if (FORBIDDEN_HEADERS.some((h) => h in header) || header.typ !== ACCESS_TOKEN_TYPE) {
    return { ok: false, reason: "malformed" };
  }
  const key =
    typeof header.kid === "string" && header.kid.length <= 64 ? keys.verificationKey(header.kid) : undefined;
  if (!key) return { ok: false, reason: "unknown_key" };
  if (header.alg !== key.algorithm) return { ok: false, reason: "invalid_claims" };
  const [encodedHeader, encodedPayload, encodedSignature] = parts as [string, string, string];
  const signed = Buffer.from(`${encodedHeader}.${encodedPayload}`, "latin1");
  if (!signatureVerifies(key, signed, Buffer.from(encodedSignature, "base64url"))) {
    return { ok: false, reason: "bad_signature" };
  }
  let payload: unknown;
  try {
    payload = JSON.parse(strictUtf8.decode(Buffer.from(encodedPayload, "base64url")));
  } catch {
    return { ok: false, reason: "invalid_claims" };
  }
  if (!isPlainObject(payload)) return { ok: false, reason: "invalid_claims" };
  if (!REQUIRED_CLAIMS.every((claim) => Object.hasOwn(payload, claim))) {
    return { ok: false, reason: "invalid_claims" };
  }
  if (payload.iss !== options.issuer) return { ok: false, reason: "invalid_claims" };
  const now = Math.floor(options.now.getTime() / 1000);
  if (payload.iat !== undefined && typeof payload.iat !== "number")
    return { ok: false, reason: "invalid_claims" };
  if (
    payload.nbf !== undefined &&
    (typeof payload.nbf !== "number" || payload.nbf > now + CLOCK_SKEW_SECONDS)
  ) {
    return { ok: false, reason: "not_yet_valid" };
  }
  if (typeof payload.exp !== "number") return { ok: false, reason: "invalid_claims" };
  if (payload.exp <= now - CLOCK_SKEW_SECONDS) return { ok: false, reason: "expired" };
  const claims = payload as unknown as AccessTokenClaims;
  // Presence is checked above, not shape: every claim used below must have the type it is declared with.
  const aud: unknown = typeof payload.aud === "string" ? [payload.aud] : payload.aud;
  if (!Array.isArray(aud) || aud.length === 0 || !aud.every((a) => typeof a === "string" && a !== "")) {
    return { ok: false, reason: "invalid_claims" };
  }
  claims.aud = aud as string[];
  if (typeof claims.sub !== "string" || typeof claims.jti !== "string") {
    return { ok: false, reason: "invalid_claims" };
  }
  if (typeof claims.project !== "string" || typeof claims.service_account !== "string") {
    return { ok: false, reason: "invalid_claims" };
  }
  const bound: unknown = payload.bound_object;
  if (
    bound !== undefined &&
    (typeof bound !== "object" ||
      bound === null ||
      !["kind", "name", "uid"].every((k) => typeof (bound as Record<string, unknown>)[k] === "string"))
  ) {
    return { ok: false, reason: "invalid_claims" };
  }
  if (claims.access !== "read-only" && claims.access !== "read-write")
    return { ok: false, reason: "invalid_claims" };
  return { ok: true, claims };
}
