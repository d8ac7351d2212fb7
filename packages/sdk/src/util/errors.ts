/**
 * Every failure the SDK reports is one of these classes. Each has a stable `code` (also a static
 * property of the class), so code can branch on `error.code` or on `instanceof`, whichever reads better.
 * Codes are never reused for another meaning; docs/sdk.md lists them all.
 */

/**
 * The base class of every error this package throws.
 *
 * @example
 *
 * ```ts
 * try {
 *   await verifyAccessToken(token, { issuer, audience });
 * } catch (error) {
 *   if (error instanceof LatchkeyError) log.info({ code: error.code }, "token refused");
 *   else throw error;
 * }
 * ```
 */
export class LatchkeyError extends Error {
  /** A stable code for this kind of failure. */
  static code = "ERR_LATCHKEY";
  /** A stable code for this kind of failure. */
  readonly code: string = "ERR_LATCHKEY";

  constructor(message?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = this.constructor.name;
  }
}

/**
 * The token is not a JWS compact serialization, or its header or payload does not decode.
 *
 * @example
 *
 * ```ts
 * if (error instanceof TokenMalformedError) reply.code(401);
 * ```
 */
export class TokenMalformedError extends LatchkeyError {
  static override code = "ERR_TOKEN_MALFORMED";
  override readonly code = "ERR_TOKEN_MALFORMED" as const;
}

/**
 * The token's header names a key or a key location (`jku`, `x5u`, `jwk`, `x5c`) or critical extensions
 * (`crit`). Latchkey never issues such headers and the SDK never follows them.
 *
 * @example
 *
 * ```ts
 * if (error instanceof TokenHeaderForbiddenError) log.warn({ header: error.header }, "suspicious token");
 * ```
 */
export class TokenHeaderForbiddenError extends LatchkeyError {
  static override code = "ERR_TOKEN_HEADER_FORBIDDEN";
  override readonly code = "ERR_TOKEN_HEADER_FORBIDDEN" as const;
  /** The refused header parameter. */
  readonly header: string;

  constructor(header: string) {
    super(`the token header must not have "${header}"`);
    this.header = header;
  }
}

/**
 * The token's `typ` header is not `at+jwt` (RFC 9068 §2.1): it is some other kind of JWT.
 *
 * @example
 *
 * ```ts
 * if (error.code === "ERR_TOKEN_TYPE_INVALID") log.info("an ID token or another JWT was sent");
 * ```
 */
export class TokenTypeInvalidError extends LatchkeyError {
  static override code = "ERR_TOKEN_TYPE_INVALID";
  override readonly code = "ERR_TOKEN_TYPE_INVALID" as const;
}

/**
 * The token's `alg` is not one the verifier accepts (ES256, EdDSA, RS256, or fewer if configured), or
 * not the algorithm published for its key.
 *
 * @example
 *
 * ```ts
 * if (error instanceof AlgorithmNotAllowedError) log.warn("token with alg none or a swapped alg");
 * ```
 */
export class AlgorithmNotAllowedError extends LatchkeyError {
  static override code = "ERR_ALGORITHM_NOT_ALLOWED";
  override readonly code = "ERR_ALGORITHM_NOT_ALLOWED" as const;
}

/**
 * No key in the issuer's JWKS has the token's `kid`, even after fetching the JWKS again: the key is
 * unknown, or retired long enough ago that no token it signed can still be valid.
 *
 * @example
 *
 * ```ts
 * if (error instanceof SigningKeyNotFoundError) reply.code(401);
 * ```
 */
export class SigningKeyNotFoundError extends LatchkeyError {
  static override code = "ERR_SIGNING_KEY_NOT_FOUND";
  override readonly code = "ERR_SIGNING_KEY_NOT_FOUND" as const;
}

/**
 * The issuer's JWKS could not be fetched or parsed (network failure, timeout, not 200, not a JWKS).
 * This says nothing about the token: the middleware answers 503, not 401.
 *
 * @example
 *
 * ```ts
 * if (error instanceof JwksUnavailableError) reply.code(503);
 * ```
 */
export class JwksUnavailableError extends LatchkeyError {
  static override code = "ERR_JWKS_UNAVAILABLE";
  override readonly code = "ERR_JWKS_UNAVAILABLE" as const;
}

/**
 * The signature does not verify with the key its `kid` names.
 *
 * @example
 *
 * ```ts
 * if (error instanceof SignatureInvalidError) log.warn("forged or altered token");
 * ```
 */
export class SignatureInvalidError extends LatchkeyError {
  static override code = "ERR_SIGNATURE_INVALID";
  override readonly code = "ERR_SIGNATURE_INVALID" as const;
}

/**
 * `exp` has passed (beyond the 5 s of tolerated clock skew).
 *
 * @example
 *
 * ```ts
 * if (error instanceof TokenExpiredError) console.log("expired at", error.expiredAt);
 * ```
 */
export class TokenExpiredError extends LatchkeyError {
  static override code = "ERR_TOKEN_EXPIRED";
  override readonly code = "ERR_TOKEN_EXPIRED" as const;
  /** The token's `exp`, when it had one. */
  readonly expiredAt: Date | undefined;

  constructor(message: string, expiredAt?: Date) {
    super(message);
    this.expiredAt = expiredAt;
  }
}

/**
 * `nbf` (or `iat`) is in the future (beyond the 5 s of tolerated clock skew).
 *
 * @example
 *
 * ```ts
 * if (error instanceof TokenNotYetValidError) log.warn("is this machine's clock behind?");
 * ```
 */
export class TokenNotYetValidError extends LatchkeyError {
  static override code = "ERR_TOKEN_NOT_YET_VALID";
  override readonly code = "ERR_TOKEN_NOT_YET_VALID" as const;
}

/**
 * `iss` is not exactly the configured issuer.
 *
 * @example
 *
 * ```ts
 * if (error instanceof IssuerMismatchError) log.info("a token from another Latchkey");
 * ```
 */
export class IssuerMismatchError extends LatchkeyError {
  static override code = "ERR_ISSUER_MISMATCH";
  override readonly code = "ERR_ISSUER_MISMATCH" as const;
}

/**
 * `aud` does not include the configured audience: the token was issued for another service.
 *
 * @example
 *
 * ```ts
 * if (error instanceof AudienceMismatchError) log.info("a token meant for another service");
 * ```
 */
export class AudienceMismatchError extends LatchkeyError {
  static override code = "ERR_AUDIENCE_MISMATCH";
  override readonly code = "ERR_AUDIENCE_MISMATCH" as const;
}

/**
 * A required claim is missing or has the wrong type or value (`sub`, `jti`, `iat`, `project`,
 * `service_account`, `access`, …). `claim` names it.
 *
 * @example
 *
 * ```ts
 * if (error instanceof ClaimInvalidError) log.info({ claim: error.claim }, "bad claim");
 * ```
 */
export class ClaimInvalidError extends LatchkeyError {
  static override code = "ERR_CLAIM_INVALID";
  override readonly code = "ERR_CLAIM_INVALID" as const;
  /** The claim that failed. */
  readonly claim: string;

  constructor(claim: string, message?: string) {
    super(message ?? `the "${claim}" claim is missing or not valid`);
    this.claim = claim;
  }
}

/**
 * The revocation feed says this token (its `jti`) was revoked, or retired by a rotation, and that
 * instant has come.
 *
 * @example
 *
 * ```ts
 * if (error instanceof TokenRevokedError) console.log("revoked at", error.revokedAt);
 * ```
 */
export class TokenRevokedError extends LatchkeyError {
  static override code = "ERR_TOKEN_REVOKED";
  override readonly code = "ERR_TOKEN_REVOKED" as const;
  /** When the token stopped working. */
  readonly revokedAt: Date;

  constructor(revokedAt: Date) {
    super("the token has been revoked");
    this.revokedAt = revokedAt;
  }
}

/**
 * The revocation feed says the token's service account (`sub`) is disabled or deleted.
 *
 * @example
 *
 * ```ts
 * if (error instanceof ServiceAccountDisabledError) reply.code(401);
 * ```
 */
export class ServiceAccountDisabledError extends LatchkeyError {
  static override code = "ERR_SERVICE_ACCOUNT_DISABLED";
  override readonly code = "ERR_SERVICE_ACCOUNT_DISABLED" as const;
}

/**
 * The token is bound to an object (`bound_object` claim) that the revocation feed says was deleted
 * or given a new uid.
 *
 * @example
 *
 * ```ts
 * if (error instanceof BoundObjectInvalidatedError) console.log(error.boundObject.name, "is gone");
 * ```
 */
export class BoundObjectInvalidatedError extends LatchkeyError {
  static override code = "ERR_BOUND_OBJECT_INVALIDATED";
  override readonly code = "ERR_BOUND_OBJECT_INVALIDATED" as const;
  /** The object the token was bound to. */
  readonly boundObject: { kind: string; name: string; uid: string };

  constructor(boundObject: { kind: string; name: string; uid: string }) {
    super(`the ${boundObject.kind} ${boundObject.name} the token is bound to no longer exists`);
    this.boundObject = boundObject;
  }
}

/**
 * A verifier with a revocation feed cannot vouch for revocations: the feed has not caught up within
 * `readyTimeoutMs`, has been disconnected for longer than `maxStalenessMs`, was refused (a bad feed
 * token), or was closed. Verification fails closed. The middleware answers 503, not 401.
 *
 * @example
 *
 * ```ts
 * if (error instanceof RevocationFeedUnavailableError) reply.code(503);
 * ```
 */
export class RevocationFeedUnavailableError extends LatchkeyError {
  static override code = "ERR_REVOCATION_FEED_UNAVAILABLE";
  override readonly code = "ERR_REVOCATION_FEED_UNAVAILABLE" as const;
}

/**
 * Introspection answered `{"active": false}`: the token is unknown, expired, revoked, or its account
 * is disabled (RFC 7662 does not say which, on purpose).
 *
 * @example
 *
 * ```ts
 * if (error instanceof TokenInactiveError) reply.code(401);
 * ```
 */
export class TokenInactiveError extends LatchkeyError {
  static override code = "ERR_TOKEN_INACTIVE";
  override readonly code = "ERR_TOKEN_INACTIVE" as const;
}

/**
 * The introspection endpoint refused the call itself (for example `invalid_client`: the caller's
 * credentials are wrong) or answered something that is not an introspection response.
 *
 * @example
 *
 * ```ts
 * if (error instanceof IntrospectionFailedError) console.log(error.status, error.error);
 * ```
 */
export class IntrospectionFailedError extends LatchkeyError {
  static override code = "ERR_INTROSPECTION_FAILED";
  override readonly code = "ERR_INTROSPECTION_FAILED" as const;
  /** The HTTP status of the answer. */
  readonly status: number;
  /** The OAuth `error` code of the answer (`invalid_client`, …), if it had one. */
  readonly error: string | undefined;

  constructor(message: string, status: number, error?: string) {
    super(message);
    this.status = status;
    this.error = error;
  }
}

/**
 * The request has no `Authorization: Bearer <token>` header (or a malformed one).
 *
 * @example
 *
 * ```ts
 * if (error instanceof TokenMissingError) reply.header("www-authenticate", "Bearer").code(401);
 * ```
 */
export class TokenMissingError extends LatchkeyError {
  static override code = "ERR_TOKEN_MISSING";
  override readonly code = "ERR_TOKEN_MISSING" as const;
}

/**
 * Latchkey could not be reached at all (DNS, connection refused, reset, timeout). `cause` holds the
 * underlying error.
 *
 * @example
 *
 * ```ts
 * if (error instanceof ConnectionError) retryLater();
 * ```
 */
export class ConnectionError extends LatchkeyError {
  static override code = "ERR_CONNECTION_FAILED";
  override readonly code = "ERR_CONNECTION_FAILED" as const;
}

/** One entry of a `validation_failed` problem: which field, and what is wrong with it. */
export interface FieldError {
  field: string;
  message: string;
}

/**
 * The Latchkey API refused a request with an RFC 9457 problem. Unlike the other errors, `code` is the
 * server's own stable code (`not_found`, `role_ceiling_exceeded`, `token_already_rotated`, … as in
 * Latchkey's docs/errors.md); an answer that is not a problem gets `unexpected_response`.
 *
 * @example
 *
 * ```ts
 * try {
 *   await client.tokens.rotate(id);
 * } catch (error) {
 *   if (error instanceof LatchkeyApiError && error.code === "token_already_rotated") return;
 *   throw error;
 * }
 * ```
 */
export class LatchkeyApiError extends LatchkeyError {
  static override code = "ERR_LATCHKEY_API";
  /** The server's stable error code, e.g. `not_found`. */
  override readonly code: string;
  /** The HTTP status. */
  readonly status: number;
  /** The problem's `title`. */
  readonly title: string;
  /** The problem's `detail`, written by the server for people. */
  readonly detail: string;
  /** The request id, also in the server's log and audit events. */
  readonly requestId: string | undefined;
  /** Field-level errors of a `validation_failed` problem. */
  readonly errors: FieldError[];

  constructor(problem: {
    status: number;
    code: string;
    title: string;
    detail: string;
    requestId?: string | undefined;
    errors?: FieldError[] | undefined;
  }) {
    super(`${problem.status} ${problem.code}: ${problem.detail}`);
    this.code = problem.code;
    this.status = problem.status;
    this.title = problem.title;
    this.detail = problem.detail;
    this.requestId = problem.requestId;
    this.errors = problem.errors ?? [];
  }
}
