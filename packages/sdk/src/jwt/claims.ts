/** `read-only` tokens are capped at the viewer role; `read-write` tokens act with their account's role. */
export type Access = "read-only" | "read-write";

/** The object a short-lived token is bound to (Kubernetes TokenRequest `boundObjectRef`). */
export interface BoundObject {
  kind: string;
  name: string;
  uid: string;
}

/**
 * The claims of a verified Latchkey access token: the RFC 9068 profile plus Latchkey's own. `aud` is
 * always an array here, even when the token has a single string.
 */
export interface AccessTokenClaims {
  /** The issuer: the Latchkey server's URL. */
  iss: string;
  /** The service account's id (a UUID). */
  sub: string;
  /** Who may accept the token. */
  aud: string[];
  /** Expiry, in seconds since the epoch. */
  exp: number;
  /** Issued at, in seconds since the epoch. */
  iat: number;
  /** Not before, in seconds since the epoch. */
  nbf?: number;
  /** The token id: the token's `id` for a JWT-format token; a fresh id for short-lived JWTs. */
  jti: string;
  /** The service account's email, `{name}@{project}.serviceaccounts.latchkey`. */
  client_id: string;
  /** `read write` or `read`. */
  scope: string;
  /** The service account's project. */
  project: string;
  /** The service account's name. */
  service_account: string;
  access: Access;
  /** Present when the token dies with an object (token requests with `bound_object_ref`). */
  bound_object?: BoundObject;
}

/**
 * The signing algorithms Latchkey issues, and the only ones the SDK accepts.
 *
 * @example
 *
 * ```ts
 * // Accept fewer, never more: a deployment that signs with EdDSA only.
 * await verifyAccessToken(token, { issuer, audience, algorithms: ["EdDSA"] });
 * ```
 */
export const ALGORITHMS = ["ES256", "EdDSA", "RS256"] as const;
/** One of {@link ALGORITHMS}. */
export type Algorithm = (typeof ALGORITHMS)[number];

/**
 * Seconds of clock skew tolerated on `exp` and `nbf`: the same as the Latchkey server's.
 *
 * @example
 *
 * ```ts
 * const usableUntil = new Date((claims.exp + CLOCK_SKEW_SECONDS) * 1000);
 * ```
 */
export const CLOCK_SKEW_SECONDS = 5;

/**
 * The `typ` header of every Latchkey access token (RFC 9068 §2.1).
 *
 * @example
 *
 * ```ts
 * const looksLikeLatchkeyJwt = decodeProtectedHeader(token).typ === ACCESS_TOKEN_TYPE;
 * ```
 */
export const ACCESS_TOKEN_TYPE = "at+jwt";
