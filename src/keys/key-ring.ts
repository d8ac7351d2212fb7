import { createPublicKey, type JsonWebKey, type KeyObject, randomBytes } from "node:crypto";
import * as jose from "jose";
import { CLOCK_SKEW_SECONDS } from "../jwt/access-token.ts";
import type { Db, Executor } from "../db/database.ts";
import { dialectOf } from "../db/dialect.ts";
import { StoreUnavailableError } from "../db/errors.ts";
import type { SigningKeyTable } from "../db/schema.ts";
import type { Clock } from "../lib/clock.ts";
import type { MasterKey } from "./master-key.ts";

export const SIGNING_ALGORITHMS = ["ES256", "EdDSA", "RS256"] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

export interface SigningKey {
  kid: string;
  algorithm: SigningAlgorithm;
  publicJwk: jose.JWK;
  publicKey: jose.CryptoKey | Uint8Array;
  /** The public key for node:crypto's synchronous verify (src/jwt/access-token.ts), imported once. */
  publicKeyObject: KeyObject;
  privateKey: jose.CryptoKey | Uint8Array;
  createdAt: string;
  retiredAt: string | null;
}

export interface KeyRingOptions {
  algorithm: SigningAlgorithm;
  /** Longest life of a JWT without a token row (token requests, OAuth): a retired key is published that long. */
  maxShortLivedSeconds: number;
}

/**
 * The signing keys: one active, the rest retired. A retired key keeps verifying (and stays in the
 * JWKS) while a token it signed can still be valid: JWT-format tokens it signed that are neither
 * expired nor revoked, and short-lived JWTs for `maxShortLivedSeconds` after it retired.
 */
export class KeyRing {
  #keys = new Map<string, SigningKey>();
  #active: SigningKey | undefined;
  /** kids of retired keys that still have live JWT-format tokens, refreshed with the ring. */
  #pinned = new Set<string>();
  #loadedAt = 0;

  constructor(
    private readonly db: Db,
    private readonly master: MasterKey,
    private readonly clock: Clock,
    readonly options: KeyRingOptions,
  ) {}

  #loading: Promise<void> | undefined;
  #reloading: Promise<void> | undefined;

  /**
   * Loads every key; creates the first one when there is none. Also how a node learns of another
   * node's rotation (cluster notifications call it). Concurrent calls share loads, and each caller
   * gets one that began after it called, so no caller sees the ring as it was before its call.
   */
  load(): Promise<void> {
    if (!this.#loading) {
      this.#loading = this.#load().finally(() => (this.#loading = undefined));
      return this.#loading;
    }
    this.#reloading ??= this.#loading
      .catch(() => undefined)
      .then(() => {
        this.#reloading = undefined;
        return this.load();
      });
    return this.#reloading;
  }

  async #load(): Promise<void> {
    let rows = await this.db
      .selectFrom("signing_keys")
      .selectAll()
      .orderBy("created_at")
      .orderBy("kid")
      .execute();
    if (!rows.some((r) => r.retired_at === null)) {
      await this.db.transaction().execute(async (trx) => {
        // Nodes starting together on a new store: the first to take the lock makes the only key.
        await dialectOf(trx).lockChain(trx, "signing_keys");
        const active = await trx
          .selectFrom("signing_keys")
          .select("kid")
          .where("retired_at", "is", null)
          .executeTakeFirst();
        if (!active) await this.createKey(trx);
      });
      rows = await this.db
        .selectFrom("signing_keys")
        .selectAll()
        .orderBy("created_at")
        .orderBy("kid")
        .execute();
    }
    const keys = new Map<string, SigningKey>();
    for (const row of rows) {
      // Key material never changes, so it is decrypted once; retirement does change.
      const known = this.#keys.get(row.kid);
      keys.set(row.kid, known ? { ...known, retiredAt: row.retired_at } : await this.open(row));
    }
    const live = await this.db
      .selectFrom("tokens")
      .select("kid")
      .distinct()
      .where("format", "=", "jwt")
      .where("revoked_at", "is", null)
      .where("expires_at", ">", this.clock.now().toISOString())
      .execute();
    this.#keys = keys;
    this.#pinned = new Set(live.map((r) => r.kid).filter((k): k is string => k !== null));
    // The newest unretired key signs: the same choice on every node, even if a race left two.
    this.#active = [...keys.values()].filter((k) => k.retiredAt === null).at(-1);
    this.#loadedAt = this.clock.now().getTime();
  }

  /** Reloads when the ring is older than `maxAgeSeconds` (which tokens pin a retired key changes). */
  async refreshIfStale(maxAgeSeconds = 30): Promise<void> {
    if (this.clock.now().getTime() - this.#loadedAt < maxAgeSeconds * 1000) return;
    try {
      await this.load();
    } catch (error) {
      // The store is down, so no key can have been rotated meanwhile: the ring in memory is still
      // right, and the JWKS stays up for offline verifiers. (Accepting a token needs the store anyway.)
      if (!(error instanceof StoreUnavailableError)) throw error;
    }
  }

  active(): SigningKey {
    if (!this.#active) throw new Error("the key ring is not loaded");
    return this.#active;
  }

  /** A key that may verify a token now, or undefined (unknown, or retired past its tokens). */
  verificationKey(kid: string): SigningKey | undefined {
    const key = this.#keys.get(kid);
    return key && this.isPublished(key) ? key : undefined;
  }

  /** Every key a verifier may need now, newest first. */
  published(): SigningKey[] {
    return [...this.#keys.values()].filter((k) => this.isPublished(k)).reverse();
  }

  all(): SigningKey[] {
    return [...this.#keys.values()].reverse();
  }

  private isPublished(key: SigningKey): boolean {
    if (key.retiredAt === null || this.#pinned.has(key.kid)) return true;
    // Its last short-lived token expires at most maxShortLivedSeconds after retirement, and verifiers
    // (this server included) accept it for CLOCK_SKEW_SECONDS more.
    const until =
      new Date(key.retiredAt).getTime() + (this.options.maxShortLivedSeconds + CLOCK_SKEW_SECONDS) * 1000;
    return this.clock.now().getTime() < until;
  }

  /** Makes a new active key and retires the current one, in the caller's transaction. */
  async rotate(trx: Executor): Promise<{ created: string; retired: string[] }> {
    const dialect = dialectOf(trx);
    await dialect.lockChain(trx, "signing_keys");
    const now = this.clock.now().toISOString();
    const retired = await trx
      .updateTable("signing_keys")
      .set({ retired_at: now })
      .where("retired_at", "is", null)
      .returning("kid")
      .execute();
    const created = await this.createKey(trx);
    // Every other node reloads its ring once this commits.
    await dialect.notifyChange(trx, "signing_keys");
    return { created, retired: retired.map((r) => r.kid) };
  }

  private async createKey(trx: Executor): Promise<string> {
    const algorithm = this.options.algorithm;
    const { publicKey, privateKey } = await jose.generateKeyPair(algorithm, { extractable: true });
    const kid = randomBytes(12).toString("base64url");
    const publicJwk = { ...(await jose.exportJWK(publicKey)), kid, alg: algorithm, use: "sig" };
    await trx
      .insertInto("signing_keys")
      .values({
        kid,
        algorithm,
        public_jwk: JSON.stringify(publicJwk),
        private_key: this.master.encrypt(await jose.exportPKCS8(privateKey), kid),
        created_at: this.clock.now().toISOString(),
        retired_at: null,
      })
      .execute();
    return kid;
  }

  private async open(row: SigningKeyTable): Promise<SigningKey> {
    const algorithm = row.algorithm as SigningAlgorithm;
    const publicJwk = JSON.parse(row.public_jwk) as jose.JWK;
    return {
      kid: row.kid,
      algorithm,
      publicJwk,
      publicKey: await jose.importJWK(publicJwk, algorithm),
      publicKeyObject: createPublicKey({ key: publicJwk as JsonWebKey, format: "jwk" }),
      privateKey: await jose.importPKCS8(this.master.decrypt(row.private_key, row.kid), algorithm),
      createdAt: row.created_at,
      retiredAt: row.retired_at,
    };
  }
}
