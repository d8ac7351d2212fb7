import { createHash, randomBytes } from "node:crypto";
import { crc32 } from "node:zlib";

/**
 * Opaque token format (SPEC §3):
 *   lk_ + 43 base62 characters of CSPRNG output (62^43 > 2^256) + 6 base62 characters of the
 *   CRC32 of everything before them.
 * Secret scanners match {@link OPAQUE_TOKEN_PATTERN}; the server checks the checksum before it
 * touches the database.
 */
export const OPAQUE_TOKEN_PREFIX = "lk_";
export const RANDOM_LENGTH = 43;
export const CHECKSUM_LENGTH = 6;
export const OPAQUE_TOKEN_PATTERN = /^lk_[0-9A-Za-z]{43}[0-9A-Za-z]{6}$/;

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** Uniform base62 by rejection sampling: bytes >= 248 (4 * 62) are discarded. */
function randomBase62(length: number): string {
  let out = "";
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248) out += ALPHABET[byte % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

function checksum(body: string): string {
  let n = crc32(body);
  let out = "";
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = ALPHABET[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

export function generateOpaqueToken(): string {
  const body = OPAQUE_TOKEN_PREFIX + randomBase62(RANDOM_LENGTH);
  return body + checksum(body);
}

/** True when the text has the shape and a matching checksum; no database needed. */
export function isWellFormedOpaqueToken(text: string): boolean {
  if (!OPAQUE_TOKEN_PATTERN.test(text)) return false;
  const body = text.slice(0, -CHECKSUM_LENGTH);
  return checksum(body) === text.slice(-CHECKSUM_LENGTH);
}

/**
 * Anything that could be an opaque secret (the prefix and at least the random part, checksum or
 * not), for scrubbing text a client controls before it is echoed or logged.
 */
const TOKEN_LOOKALIKE = /lk_[0-9A-Za-z]{43,}/g;

/** A signed JWT (JWS compact form); ours always start with `eyJ` (a JSON header). */
const JWT_LOOKALIKE = /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g;

/** `text` with every token look-alike (opaque or JWT) replaced by a `[redacted]` marker. */
export function redactTokenLookalikes(text: string): string {
  return text.replace(TOKEN_LOOKALIKE, "lk_[redacted]").replace(JWT_LOOKALIKE, "jwt[redacted]");
}

/** What is stored and looked up instead of the secret. */
export function tokenDigest(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}
