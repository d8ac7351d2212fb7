import type { AccessTokenClaims, Access } from "../jwt/claims.ts";
import { basicAuthorization, currentToken, type Fetch, jsonOf, send, type TokenSource } from "../lib/http.ts";
import { endpoint, normalizeIssuer } from "../lib/issuer.ts";
import { AudienceMismatchError, IntrospectionFailedError, TokenInactiveError } from "../util/errors.ts";

/** How the caller of the introspection endpoint authenticates (RFC 7662 §2.1 requires it). */
export type IntrospectionCredentials =
  /** A Latchkey token of the calling service, sent as `Authorization: Bearer`. */
  | { token: TokenSource }
  /** client_secret_basic: the calling service account's email or id, and one of its opaque tokens. */
  | { clientId: string; clientSecret: string };

/** Options of {@link createIntrospectionClient}. */
export interface IntrospectionOptions {
  /** The Latchkey server's URL; introspection is `${issuer}/oauth2/introspect`. */
  issuer: string;
  credentials: IntrospectionCredentials;
  /** Timeout of one call, in milliseconds (default 5000). */
  timeoutMs?: number;
  /** A fetch to use instead of the global one. */
  fetch?: Fetch;
}

/** What Latchkey says about an active token (RFC 7662 §2.2 plus Latchkey's own members). */
export interface ActiveIntrospection {
  active: true;
  token_type: "Bearer";
  /** `read write` or `read`. */
  scope: string;
  /** The service account's email. */
  client_id: string;
  /** The service account's email. */
  username: string;
  /** The service account's id. */
  sub: string;
  /** The token's audiences; empty for an opaque token that names none (valid for any). */
  aud: string[];
  iss: string;
  /** The token id, or the `jti` of a short-lived JWT. */
  jti: string;
  iat: number;
  exp: number;
  project: string;
  service_account: string;
  access: Access;
  token_format: "opaque" | "jwt";
}

/** RFC 7662: an inactive token says nothing else about itself. */
export type IntrospectionResponse = { active: false } | ActiveIntrospection;

/** An introspection client bound to one issuer and one set of caller credentials. */
export interface IntrospectionClient {
  /**
   * Asks Latchkey about any of its tokens (opaque or JWT): `{ active: false }` for one that is unknown,
   * expired, revoked or whose account is disabled; its facts otherwise.
   */
  introspect(token: string): Promise<IntrospectionResponse>;
}

const STRINGS = [
  "scope",
  "client_id",
  "username",
  "sub",
  "iss",
  "jti",
  "project",
  "service_account",
] as const;

function parseResponse(body: unknown): IntrospectionResponse {
  if (
    typeof body !== "object" ||
    body === null ||
    typeof (body as { active?: unknown }).active !== "boolean"
  ) {
    throw new IntrospectionFailedError("the answer is not an introspection response", 200);
  }
  const b = body as Record<string, unknown>;
  // Fail closed: anything but `true` is inactive.
  if (b.active !== true) return { active: false };
  const wellFormed =
    STRINGS.every((k) => typeof b[k] === "string") &&
    typeof b.iat === "number" &&
    typeof b.exp === "number" &&
    Array.isArray(b.aud) &&
    b.aud.every((a) => typeof a === "string") &&
    (b.access === "read-only" || b.access === "read-write") &&
    (b.token_format === "opaque" || b.token_format === "jwt");
  if (!wellFormed)
    throw new IntrospectionFailedError("the introspection response lacks Latchkey's members", 200);
  return b as unknown as ActiveIntrospection;
}

/**
 * Makes a client for Latchkey's RFC 7662 introspection endpoint. Unlike offline verification, it
 * works for opaque tokens too, and knows about a revocation the moment it commits, at the cost of a
 * round trip per call.
 *
 * @example
 *
 * ```ts
 * import { createIntrospectionClient } from "@latchkey/sdk";
 *
 * const introspection = createIntrospectionClient({
 *   issuer: "https://latchkey.example.com",
 *   credentials: { token: process.env.LATCHKEY_TOKEN! },
 * });
 * const result = await introspection.introspect(presentedToken);
 * if (result.active) console.log(result.service_account, result.access);
 * ```
 */
export function createIntrospectionClient(options: IntrospectionOptions): IntrospectionClient {
  const url = endpoint(normalizeIssuer(options.issuer), "/oauth2/introspect");
  const fetchImpl = options.fetch ?? fetch;
  const credentials = options.credentials;
  return {
    async introspect(token) {
      const authorization =
        "clientId" in credentials
          ? basicAuthorization(credentials.clientId, credentials.clientSecret)
          : `Bearer ${await currentToken(credentials.token)}`;
      const response = await send(fetchImpl, url, {
        method: "POST",
        headers: {
          authorization,
          accept: "application/json",
          "content-type": "application/x-www-form-urlencoded",
        },
        body: new URLSearchParams({ token }).toString(),
        signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
      });
      const body = await jsonOf(response);
      if (response.status !== 200) {
        const oauth = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
        const error = typeof oauth.error === "string" ? oauth.error : undefined;
        const description = typeof oauth.error_description === "string" ? `: ${oauth.error_description}` : "";
        throw new IntrospectionFailedError(
          `introspection answered ${response.status} ${error ?? ""}${description}`.trim(),
          response.status,
          error,
        );
      }
      return parseResponse(body);
    },
  };
}

/**
 * The claims of an active introspection answer, in the shape offline verification returns; throws
 * TokenInactiveError for an inactive one and AudienceMismatchError when the token names audiences and
 * `audience` is not among them.
 */
export function claimsOf(result: IntrospectionResponse, audience?: string | string[]): AccessTokenClaims {
  if (!result.active) throw new TokenInactiveError("the token is not active");
  const wanted = audience === undefined ? [] : Array.isArray(audience) ? audience : [audience];
  if (wanted.length > 0 && result.aud.length > 0 && !result.aud.some((a) => wanted.includes(a))) {
    throw new AudienceMismatchError("the token is not for this audience");
  }
  return {
    iss: result.iss,
    sub: result.sub,
    aud: result.aud,
    exp: result.exp,
    iat: result.iat,
    jti: result.jti,
    client_id: result.client_id,
    scope: result.scope,
    project: result.project,
    service_account: result.service_account,
    access: result.access,
  };
}
