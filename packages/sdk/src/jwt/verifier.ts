import { createRemoteKeys } from "../jwks/remote.ts";
import { normalizeIssuer } from "../lib/issuer.ts";
import {
  createRevocationFeed,
  type RevocationFeed,
  type RevocationFeedOptions,
} from "../revocations/feed.ts";
import { JwksUnavailableError, RevocationFeedUnavailableError } from "../util/errors.ts";
import type { AccessTokenClaims } from "./claims.ts";
import { type VerifyOptions, verifyContext, verifyWith } from "./verify.ts";

/** Options of {@link createVerifier}. */
export interface VerifierOptions extends Omit<VerifyOptions, "currentDate"> {
  /**
   * Also refuse tokens revoked before they expire: the options of a feed for the verifier to open (and
   * close), or a feed you made with createRevocationFeed and close yourself.
   */
  revocationFeed?: Omit<RevocationFeedOptions, "issuer" | "fetch"> | RevocationFeed;
  /**
   * How long the feed may be disconnected (or catching up after a reconnection) before verification
   * fails closed with RevocationFeedUnavailableError, in milliseconds (default 30000). While connected,
   * a revocation reaches the verifier within milliseconds; this bounds how late it can be otherwise.
   */
  maxStalenessMs?: number;
  /** How long `verify` waits for the feed's first catch-up before failing closed, in milliseconds (default 10000). */
  readyTimeoutMs?: number;
  /** "Now" for `exp`, `nbf` and scheduled revocations (default: the system clock). */
  clock?: () => Date;
}

/** A long-lived verifier: a cached JWKS, and optionally the revocation feed. */
export interface Verifier {
  /**
   * Verifies the token as {@link verifyAccessToken} does, then, with a feed, refuses it if its `jti`
   * was revoked, its service account (`sub`) was disabled or deleted, or its bound object invalidated.
   */
  verify(token: string, options?: { currentDate?: Date }): Promise<AccessTokenClaims>;
  /** Settles when the feed (if any) has caught up and the JWKS has been fetched. */
  readonly ready: Promise<void>;
  /** The feed, if the verifier has one. */
  readonly feed: RevocationFeed | undefined;
  /** Closes the feed if the verifier opened it. */
  close(): Promise<void>;
}

const isFeed = (value: unknown): value is RevocationFeed =>
  typeof value === "object" && value !== null && "subscribe" in value && "check" in value;

/**
 * Makes a verifier that keeps its JWKS cache and, with `revocationFeed`, a connection to Latchkey's
 * revocation feed: a token revoked through the API (`DELETE /v1/tokens/{id}`, `/oauth2/revoke`, an
 * account disabled or deleted, a bound object deleted) is refused offline, typically within
 * milliseconds of the revoke call returning. Verification fails closed when the feed cannot vouch.
 *
 * @example
 *
 * ```ts
 * import { createVerifier } from "@latchkey/sdk";
 *
 * const verifier = createVerifier({
 *   issuer: "https://latchkey.example.com",
 *   audience: "https://orders.example.com",
 *   revocationFeed: { token: process.env.LATCHKEY_FEED_TOKEN! },
 * });
 * await verifier.ready;
 * const claims = await verifier.verify(token);
 * // on shutdown:
 * await verifier.close();
 * ```
 */
export function createVerifier(options: VerifierOptions): Verifier {
  const keys = createRemoteKeys(normalizeIssuer(options.issuer), options.jwks, options.fetch);
  const ctx = verifyContext(options, keys);
  const clock = options.clock ?? (() => new Date());
  const maxStalenessMs = options.maxStalenessMs ?? 30_000;
  const readyTimeoutMs = options.readyTimeoutMs ?? 10_000;

  const given = options.revocationFeed;
  const owned = given !== undefined && !isFeed(given);
  const feed: RevocationFeed | undefined =
    given === undefined
      ? undefined
      : isFeed(given)
        ? given
        : createRevocationFeed({
            ...given,
            issuer: ctx.issuer,
            ...(options.fetch ? { fetch: options.fetch } : {}),
          });
  const stopListening = feed?.subscribe((event) => {
    // A new key signs new tokens at once: fetch it now rather than on the first unknown kid.
    if (event.type === "signing_key.rotated") keys.reload().catch(() => undefined);
  });

  const ready = (async () => {
    await feed?.ready;
    try {
      await keys.reload();
    } catch (cause) {
      throw new JwksUnavailableError("the issuer's JWKS could not be fetched", { cause });
    }
  })();
  ready.catch(() => undefined);

  const feedReady = async (): Promise<void> => {
    if (!feed || feed.inSync) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new RevocationFeedUnavailableError("the revocation feed has not caught up yet")),
        readyTimeoutMs,
      );
    });
    try {
      await Promise.race([feed.ready, timeout]);
    } finally {
      clearTimeout(timer);
    }
  };

  return {
    ready,
    feed,
    async verify(token, verifyOptions = {}) {
      const now = verifyOptions.currentDate ?? clock();
      const claims = await verifyWith(token, { ...ctx, now });
      if (!feed) return claims;
      if (!feed.inSync) await feedReady();
      const stale = feed.staleForMs();
      const refused = feed.check(claims, now);
      if (refused) throw refused;
      if (stale > maxStalenessMs) {
        throw new RevocationFeedUnavailableError(
          `the revocation feed has been out of touch for ${Math.round(stale / 1000)} s`,
        );
      }
      return claims;
    },
    async close() {
      stopListening?.();
      if (owned) await feed?.close();
    },
  };
}
