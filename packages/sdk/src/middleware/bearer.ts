import type { AccessTokenClaims } from "../jwt/claims.ts";
import type { Verifier } from "../jwt/verifier.ts";
import { claimsOf, type IntrospectionClient } from "../oauth/introspect.ts";
import {
  BoundObjectInvalidatedError,
  ConnectionError,
  IntrospectionFailedError,
  JwksUnavailableError,
  LatchkeyError,
  RevocationFeedUnavailableError,
  ServiceAccountDisabledError,
  TokenExpiredError,
  TokenMissingError,
  TokenRevokedError,
} from "../util/errors.ts";

/** How the middleware decides: offline with a verifier, or by asking Latchkey (introspection). */
export type BearerAuthOptions = (
  | {
      /** A verifier from createVerifier (give it a revocation feed to refuse revoked tokens). */
      verifier: Pick<Verifier, "verify">;
      introspection?: never;
    }
  | {
      /** An introspection client: one round trip per request, works for opaque tokens too. */
      introspection: IntrospectionClient;
      /** Refuse tokens that name audiences of which none is this. Tokens that name none pass. */
      audience?: string | string[];
      verifier?: never;
    }
) & {
  /** `realm` of the WWW-Authenticate challenge (default "latchkey"). */
  realm?: string;
};

/** What to answer when the request may not pass. */
export interface Refusal {
  status: 401 | 503;
  headers: Record<string, string>;
  /** An RFC 9457 problem, with the same codes Latchkey itself answers with. */
  body: { type: string; title: string; status: number; detail: string; code: string };
}

/** RFC 6750 §2.1: `Bearer` and a b64token. */
const BEARER = /^Bearer[ \t]+([A-Za-z0-9\-._~+/]+=*)[ \t]*$/i;

export function bearerToken(header: string | string[] | undefined): string | undefined {
  return typeof header === "string" ? BEARER.exec(header)?.[1] : undefined;
}

const quoted = (text: string) => `"${text.replace(/["\\]/g, "")}"`;

/** The server's codes and titles, so that clients of your service read refusals as they read Latchkey's. */
function problemCode(error: LatchkeyError): { code: string; title: string } {
  if (error instanceof TokenMissingError)
    return { code: "unauthenticated", title: "Authentication is required" };
  if (error instanceof TokenExpiredError) return { code: "token_expired", title: "The token has expired" };
  if (error instanceof TokenRevokedError || error instanceof BoundObjectInvalidatedError) {
    return { code: "token_revoked", title: "The token has been revoked" };
  }
  if (error instanceof ServiceAccountDisabledError) {
    return { code: "service_account_disabled", title: "The token's service account is disabled" };
  }
  return { code: "token_invalid", title: "The token is not valid" };
}

/** Failures that say nothing about the token: the verifier could not decide. */
const undecided = (error: LatchkeyError) =>
  error instanceof JwksUnavailableError ||
  error instanceof RevocationFeedUnavailableError ||
  error instanceof ConnectionError ||
  error instanceof IntrospectionFailedError;

export function refusal(error: LatchkeyError, realm: string): Refusal {
  if (undecided(error)) {
    return {
      status: 503,
      headers: { "content-type": "application/problem+json", "retry-after": "5" },
      body: {
        type: "urn:latchkey:problem:unavailable",
        title: "The token cannot be checked right now",
        status: 503,
        detail: error.message,
        code: "unavailable",
      },
    };
  }
  const { code, title } = problemCode(error);
  // RFC 6750 §3.1: no error code when the request had no credentials at all.
  const challenge =
    error instanceof TokenMissingError
      ? `Bearer realm=${quoted(realm)}`
      : `Bearer realm=${quoted(realm)}, error="invalid_token", error_description=${quoted(error.message)}`;
  return {
    status: 401,
    headers: { "content-type": "application/problem+json", "www-authenticate": challenge },
    body: { type: `urn:latchkey:problem:${code}`, title, status: 401, detail: error.message, code },
  };
}

/**
 * The whole decision for one request: its claims, or the refusal to send. Errors that are not the
 * SDK's (bugs) are thrown, for the framework's own error handling.
 */
export async function authenticate(
  authorization: string | string[] | undefined,
  options: BearerAuthOptions,
): Promise<{ ok: true; claims: AccessTokenClaims } | { ok: false; refusal: Refusal }> {
  const realm = options.realm ?? "latchkey";
  try {
    const token = bearerToken(authorization);
    if (token === undefined) throw new TokenMissingError("send Authorization: Bearer <token>");
    const claims = options.verifier
      ? await options.verifier.verify(token)
      : claimsOf(await options.introspection.introspect(token), options.audience);
    return { ok: true, claims };
  } catch (error) {
    if (error instanceof LatchkeyError) return { ok: false, refusal: refusal(error, realm) };
    throw error;
  }
}
