import { randomBytes } from "node:crypto";
import * as jose from "jose";
import type { Db, Executor } from "../db/database.ts";
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

  /** Loads every key; creates the first one when there is none. */
  async load(): Promise<void> {
    const rows = await this.db.selectFrom("signing_keys").selectAll().orderBy("created_at").execute();
    if (!rows.some((r) => r.retired_at === null)) {
      await this.db.transaction().execute((trx) => this.createKey(trx));
      return this.load();
    }
    const keys = new Map<string, SigningKey>();
    for (const row of rows) keys.set(row.kid, this.#keys.get(row.kid) ?? (await this.open(row)));
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
    this.#active = [...keys.values()].find((k) => k.retiredAt === null);
    this.#loadedAt = this.clock.now().getTime();
  }

  /** Reloads when the ring is older than `maxAgeSeconds` (which tokens pin a retired key changes). */
  async refreshIfStale(maxAgeSeconds = 30): Promise<void> {
    if (this.clock.now().getTime() - this.#loadedAt >= maxAgeSeconds * 1000) await this.load();
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
    const until = new Date(key.retiredAt).getTime() + this.options.maxShortLivedSeconds * 1000;
    return this.clock.now().getTime() < until;
  }

  /** Makes a new active key and retires the current one, in the caller's transaction. */
  async rotate(trx: Executor): Promise<{ created: string; retired: string[] }> {
    const now = this.clock.now().toISOString();
    const retired = await trx
      .updateTable("signing_keys")
      .set({ retired_at: now })
      .where("retired_at", "is", null)
      .returning("kid")
      .execute();
    const created = await this.createKey(trx);
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
      privateKey: await jose.importPKCS8(this.master.decrypt(row.private_key, row.kid), algorithm),
      createdAt: row.created_at,
      retiredAt: row.retired_at,
    };
  }
}
