import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  generateOpaqueToken,
  isWellFormedOpaqueToken,
  OPAQUE_TOKEN_PATTERN,
  tokenDigest,
} from "../../../src/tokens/format.ts";

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

describe("opaque token format", () => {
  it("100,000 generated tokens are unique, match the published pattern and pass their checksum", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 100_000; i++) {
      const token = generateOpaqueToken();
      expect(OPAQUE_TOKEN_PATTERN.test(token)).toBe(true);
      expect(isWellFormedOpaqueToken(token)).toBe(true);
      seen.add(token);
    }
    expect(seen.size).toBe(100_000);
  });

  it("rejects every single-character change of a token, at every position", () => {
    let checked = 0;
    for (let t = 0; t < 300; t++) {
      const token = generateOpaqueToken();
      for (let i = 0; i < token.length; i++) {
        for (const c of `${ALPHABET}_-`) {
          if (c === token[i]) continue;
          const changed = token.slice(0, i) + c + token.slice(i + 1);
          if (isWellFormedOpaqueToken(changed)) throw new Error(`accepted ${i}:${c}`);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(300 * 52 * 61);
  });

  it("rejects random single-character edits, insertions and deletions (property)", () => {
    fc.assert(
      fc.property(
        fc.nat(51),
        fc.constantFrom(...ALPHABET),
        fc.constantFrom("replace", "insert", "delete"),
        (i, c, op) => {
          const token = generateOpaqueToken();
          const changed =
            op === "replace"
              ? token.slice(0, i) + c + token.slice(i + 1)
              : op === "insert"
                ? token.slice(0, i) + c + token.slice(i)
                : token.slice(0, i) + token.slice(i + 1);
          return changed === token || !isWellFormedOpaqueToken(changed);
        },
      ),
      { numRuns: 20_000 },
    );
  });

  it("has at least 256 bits of randomness and a uniform alphabet", () => {
    expect(43 * Math.log2(62)).toBeGreaterThanOrEqual(256);
    const counts = new Map<string, number>();
    for (let i = 0; i < 2_000; i++) {
      for (const c of generateOpaqueToken().slice(3, 46)) counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    expect(counts.size).toBe(62);
    const expected = (2_000 * 43) / 62;
    for (const n of counts.values()) expect(Math.abs(n - expected) / expected).toBeLessThan(0.25);
  });

  it("rejects look-alikes: wrong prefix, wrong length, other alphabets", () => {
    const token = generateOpaqueToken();
    for (const bad of [
      token.replace("lk_", "lx_"),
      token.slice(1),
      `${token}a`,
      token.toUpperCase(),
      "",
      "lk_",
      `ghp_${token.slice(3)}`,
    ]) {
      expect(isWellFormedOpaqueToken(bad)).toBe(false);
    }
  });

  it("stores a SHA-256 digest, never the token", () => {
    const token = generateOpaqueToken();
    expect(tokenDigest(token)).toMatch(/^[0-9a-f]{64}$/);
    expect(tokenDigest(token)).not.toContain(token.slice(3, 20));
  });
});
