/**
 * Timing: how long a token lookup takes does not depend on how much of the token is right.
 *
 * What could leak, on the real lookup path (authenticateToken in src/auth/authenticate.ts, on the
 * real store of a real server):
 *  - the checksum precheck compares a CRC32 that anyone can compute from their own guess: it tells
 *    nothing about a stored token, so a guess is measured with a valid checksum (else it is refused
 *    before any lookup, whatever it guesses);
 *  - the lookup is by SHA-256 digest, so a guess that is right in all but its last character looks
 *    up a digest unrelated to the real one: the same work as a guess with nothing right;
 *  - the index search compares digests byte by byte: a guess whose digest shares a long prefix with
 *    a stored digest walks further (a guess can be ground to such a digest, though the digest of a
 *    token is no help in finding the token);
 *  - the final comparison is timingSafeEqual (reached only by an exact match).
 * Each class is compared by Welch's t-test (|t| < 4.5) with guesses that are built the same way and
 * are just as alike among themselves, but are right about a decoy that is no token (guesses that
 * share a long prefix with each other are read faster by the CPU, right or not). The
 * samples of the classes are interleaved in random order (drift hits them alike) and the slowest
 * 1% of all samples (GC pauses, preemption) are dropped from every class alike. And a control: a
 * malformed guess (refused by the shape check, no lookup) must differ measurably from a well-formed
 * one, or the measurement could not see a difference at all.
 *
 * Short form: 20,000 samples per class; LATCHKEY_HARDENING=long: 100,000.
 */
import { createHash, randomFillSync } from "node:crypto";
import { crc32 } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authenticateToken } from "../../../src/auth/authenticate.ts";
import { CHECKSUM_LENGTH, isWellFormedOpaqueToken, tokenDigest } from "../../../src/tokens/format.ts";
import { accountWithToken, startServer, type TestServer } from "../../helpers/server.ts";

const LONG = process.env.LATCHKEY_HARDENING === "long";
const SAMPLES = LONG ? 100_000 : 20_000;
const STORED_TOKENS = LONG ? 1_000 : 200;
/** Hex digits of digest prefix shared with the stored token's digest (ground by brute force). */
const SHARED_DIGEST_HEX = LONG ? 4 : 3;
/** Distinct guesses of the ground class (and of its control): a few per stored digest are not enough. */
const TWINS = 256;
const LIMIT = 4.5;

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** A token body (lk_ + 43 characters) with its checksum, computed as src/tokens/format.ts does. */
function withChecksum(body: string): string {
  let n = crc32(body);
  let sum = "";
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    sum = ALPHABET[n % 62] + sum;
    n = Math.floor(n / 62);
  }
  return body + sum;
}

let seed = 0x2545f491;
/** A small deterministic PRNG: the guesses need no secrecy, the run needs to be repeatable. */
function random(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 0x1_0000_0000;
}
const randomChars = (n: number) =>
  Array.from({ length: n }, () => ALPHABET[Math.floor(random() * 62)]).join("");

/** A well-formed token that shares the first `right` of the 43 random characters with `real`. */
function guess(real: string, right: number): string {
  const body = real.slice(0, 3 + right) + randomChars(43 - right);
  // The last character must differ, so that "all but one right" is never right.
  const fixed =
    right === 43
      ? body
      : body.slice(0, -1) + (body.at(-1) === real.at(-CHECKSUM_LENGTH - 1) ? "0" : body.at(-1));
  return withChecksum(fixed === real.slice(0, -CHECKSUM_LENGTH) ? fixed.slice(0, -1) + "1" : fixed);
}

const CODES = Buffer.from(ALPHABET, "latin1");
const bulk = Buffer.alloc(43 * 4096);
let offset = bulk.length;
/** 43 random base62 characters, fast (for grinding millions of candidates). */
function fastChars(): string {
  if (offset === bulk.length) {
    randomFillSync(bulk);
    offset = 0;
  }
  const out = Buffer.allocUnsafe(43);
  for (let i = 0; i < 43; i++) out[i] = CODES[bulk[offset + i]! % 62]!;
  offset += 43;
  return out.toString("latin1");
}

/** Well-formed guesses whose SHA-256 digest starts with the first `hex` digits of `digest`. */
function digestTwins(digest: string, hex: number, count: number): string[] {
  const out: string[] = [];
  const prefix = digest.slice(0, hex);
  while (out.length < count) {
    const candidate = withChecksum(`lk_${fastChars()}`);
    if (createHash("sha256").update(candidate).digest("hex").startsWith(prefix)) out.push(candidate);
  }
  return out;
}

interface Stats {
  n: number;
  mean: number;
  variance: number;
}

function stats(xs: number[]): Stats {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
  return { n, mean, variance };
}

/** Welch's t statistic of two samples. */
function welch(a: number[], b: number[]): number {
  const x = stats(a);
  const y = stats(b);
  return (x.mean - y.mean) / Math.sqrt(x.variance / x.n + y.variance / y.n);
}

describe("token lookup timing (Welch's t-test)", () => {
  let server: TestServer;
  let real: string;
  const classes: Record<string, string[]> = {};
  const samples: Record<string, number[]> = {};
  const results: string[] = [];

  beforeAll(async () => {
    server = await startServer();
    // A store with some tokens in it, so that the digest index has depth.
    for (let i = 0; i < STORED_TOKENS; i++) {
      await server.api("POST", "/v1/projects/default/service-accounts/bootstrap/tokens", {
        body: { name: `filler-${i}` },
      });
    }
    real = (await accountWithToken(server, { name: "timed", role: "viewer" })).token;
    // A fresh guess for every sample (a fixed few would each bring their own index path), except
    // for the ground class, compared with a control pool of the same size.
    const pool = (size: number, make: () => string) => Array.from({ length: size }, make);
    let mark = Date.now();
    classes.none = pool(SAMPLES, () => guess(real, 0));
    classes.half = pool(SAMPLES, () => guess(real, 21));
    classes.allButOne = pool(SAMPLES, () => guess(real, 42));
    // Guesses that look alike are read faster (the CPU learns them), whatever they guess: each
    // class of right guesses is compared with guesses just as alike to a decoy that is no token.
    const decoy = withChecksum(`lk_${randomChars(43)}`);
    classes.halfOfDecoy = pool(SAMPLES, () => guess(decoy, 21));
    classes.allButOneOfDecoy = pool(SAMPLES, () => guess(decoy, 42));
    classes.nonePool = pool(TWINS, () => guess(real, 0));
    classes.digestPrefix = digestTwins(tokenDigest(real), SHARED_DIGEST_HEX, TWINS);
    classes.malformed = pool(SAMPLES, () => `lk_${randomChars(43)}xxxxxx`);
    // Every guess as a fresh flat string, as a header parser makes it: how a test string was built
    // (a slice of the real token, a concatenation) changes how fast V8 reads it, not the server.
    for (const name of Object.keys(classes)) {
      classes[name] = classes[name]!.map((t) => Buffer.from(t, "latin1").toString("latin1"));
    }
    console.log(`guesses made in ${Date.now() - mark} ms`);
    mark = Date.now();
    for (const [name, tokens] of Object.entries(classes)) {
      for (const token of tokens) {
        expect(isWellFormedOpaqueToken(token), name).toBe(name !== "malformed");
        expect(token).not.toBe(real);
      }
    }
    expect(classes.allButOne[0]!.slice(0, 45)).toBe(real.slice(0, 45));
    expect(tokenDigest(classes.digestPrefix[0]!).slice(0, SHARED_DIGEST_HEX)).toBe(
      tokenDigest(real).slice(0, SHARED_DIGEST_HEX),
    );

    // The real token works (the path under test is the real one), then warm up.
    const deps = server.latchkey.deps;
    expect((await authenticateToken(deps, real)).ok).toBe(true);
    const names = Object.keys(classes);
    for (const name of names) samples[name] = [];
    for (let i = 0; i < 2_000; i++) {
      for (const name of names) await authenticateToken(deps, classes[name]![(i * 7) % TWINS]!);
    }

    // Interleaved: each round times one guess of every class, in a random order.
    const order = [...names];
    for (let i = 0; i < SAMPLES; i++) {
      for (let j = order.length - 1; j > 0; j--) {
        const k = Math.floor(random() * (j + 1));
        [order[j], order[k]] = [order[k]!, order[j]!];
      }
      for (const name of order) {
        const pool = classes[name]!;
        const token = pool[i % pool.length]!;
        const start = process.hrtime.bigint();
        const result = await authenticateToken(deps, token);
        const elapsed = Number(process.hrtime.bigint() - start);
        if (result.ok) throw new Error(`a guess (${name}) authenticated`);
        samples[name]!.push(elapsed);
      }
    }
    // The slowest 1% of all samples, dropped from every class alike.
    const all = Object.values(samples)
      .flat()
      .sort((a, b) => a - b);
    const cutoff = all[Math.floor(all.length * 0.99)]!;
    console.log(`measured in ${Date.now() - mark} ms`);
    for (const name of names) samples[name] = samples[name]!.filter((x) => x <= cutoff);
  }, 900_000);

  afterAll(async () => {
    console.log(`token lookup timing, ${SAMPLES} samples per class:\n  ${results.join("\n  ")}`);
    await server?.close();
  });

  const compare = (name: string, control = "none") => {
    const t = welch(samples[name]!, samples[control]!);
    const mean = (xs: number[]) => (stats(xs).mean / 1000).toFixed(2);
    results.push(
      `${name} vs ${control}: t = ${t.toFixed(2)} (means ${mean(samples[name]!)} µs vs ` +
        `${mean(samples[control]!)} µs, n = ${samples[name]!.length} / ${samples[control]!.length})`,
    );
    return t;
  };

  it("half of the token right: no difference", () => {
    expect(Math.abs(compare("half", "halfOfDecoy"))).toBeLessThan(LIMIT);
  });

  it("all but the last character right: no difference", () => {
    expect(Math.abs(compare("allButOne", "allButOneOfDecoy"))).toBeLessThan(LIMIT);
  });

  /**
   * Not the token: a guess ground until its SHA-256 digest shares a prefix with a stored digest
   * lands next to it in the digest index, whose pages the lookup of that digest keeps warm. That
   * shows (0.2 µs faster at 4 hex digits, t ≈ -20 over 100,000 samples), and tells a guesser only
   * that some stored digest starts so: no token follows from a digest (SHA-256 preimage), and no
   * guess gets closer to a token by it (the classes above). Measured and reported, not asserted;
   * docs/reliability.md says why and what would remove it (a keyed digest).
   */
  it(`reports digest proximity (a guess ground to share ${SHARED_DIGEST_HEX} hex digits of a stored digest)`, () => {
    const t = compare("digestPrefix", "nonePool");
    expect(Number.isFinite(t)).toBe(true);
  });

  it("control: a malformed token (no lookup) is measurably faster, so the test can see a difference", () => {
    const t = compare("malformed");
    expect(t).toBeLessThan(-LIMIT);
  });
});
