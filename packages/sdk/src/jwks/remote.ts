import * as jose from "jose";
import type { Fetch } from "../lib/http.ts";
import { endpoint } from "../lib/issuer.ts";
import { AlgorithmNotAllowedError, SigningKeyNotFoundError } from "../util/errors.ts";

/** How the issuer's JWKS is fetched and cached. */
export interface JwksOptions {
  /**
   * After a fetch, how long an unknown `kid` does not cause another one, in milliseconds (default 5000).
   * It bounds what tokens with made-up `kid`s can cost the issuer. A verifier with a revocation feed
   * fetches at once when the feed announces a new key, so it has no such gap after a rotation.
   */
  cooldownMs?: number;
  /** How long a fetched JWKS is used before it is fetched again, in milliseconds (default 600000). */
  cacheMaxAgeMs?: number;
  /** Timeout of one fetch, in milliseconds (default 5000). */
  timeoutMs?: number;
}

/** The issuer's keys, fetched from `${issuer}/.well-known/jwks.json` and nowhere else. */
export interface RemoteKeys {
  /** Resolves the key for a token's header; refuses a key whose published `alg` is not the header's. */
  getKey: jose.JWTVerifyGetKey;
  /** Fetches the JWKS now (the feed calls this when a key is rotated). */
  reload(): Promise<void>;
}

export function createRemoteKeys(issuer: string, options: JwksOptions = {}, fetchImpl?: Fetch): RemoteKeys {
  const set = jose.createRemoteJWKSet(endpoint(issuer, "/.well-known/jwks.json"), {
    cooldownDuration: options.cooldownMs ?? 5000,
    cacheMaxAge: options.cacheMaxAgeMs ?? 600_000,
    timeoutDuration: options.timeoutMs ?? 5000,
    ...(fetchImpl ? { [jose.customFetch]: fetchImpl } : {}),
  });
  // The published key of each kid, looked up once per imported key rather than per token: jose's
  // `set.jwks()` copies the whole set (structuredClone), which cost more than the rest of the SDK's
  // own work on a verification. jose imports each fetched key anew, so an imported key belongs to
  // one fetched set, and the published key of a kid in that set cannot change.
  const published = new WeakMap<object, { kid: unknown; jwk: jose.JWK | undefined }>();
  const getKey: jose.JWTVerifyGetKey = async (header, token) => {
    const key = await set(header, token);
    let lookup = published.get(key);
    if (!lookup || lookup.kid !== header.kid) {
      lookup = { kid: header.kid, jwk: set.jwks()?.keys.find((k) => k.kid === header.kid) };
      published.set(key, lookup);
    }
    // jose already requires the header's alg to equal a published `alg`; a key published without
    // one would let any algorithm of its key type through, so such keys are refused outright.
    const jwk = lookup.jwk;
    if (!jwk) throw new SigningKeyNotFoundError(`no published key has kid ${JSON.stringify(header.kid)}`);
    if (jwk.alg !== header.alg) {
      throw new AlgorithmNotAllowedError(
        `key ${header.kid} is for ${jwk.alg ?? "no algorithm"}, not ${header.alg}`,
      );
    }
    return key;
  };
  return { getKey, reload: () => set.reload() };
}

const shared = new Map<string, RemoteKeys>();
const sharedByFetch = new WeakMap<Fetch, Map<string, RemoteKeys>>();

/** One cached key set per issuer and options (and per custom fetch), for `verifyAccessToken`. */
export function sharedRemoteKeys(issuer: string, options: JwksOptions = {}, fetchImpl?: Fetch): RemoteKeys {
  let cache = shared;
  if (fetchImpl) {
    cache = sharedByFetch.get(fetchImpl) ?? new Map();
    sharedByFetch.set(fetchImpl, cache);
  }
  const key = JSON.stringify([issuer, options.cooldownMs, options.cacheMaxAgeMs, options.timeoutMs]);
  let keys = cache.get(key);
  if (!keys) {
    keys = createRemoteKeys(issuer, options, fetchImpl);
    cache.set(key, keys);
  }
  return keys;
}
