import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The key-encryption key (KEK) that wraps signing keys at rest: AES-256-GCM, a fresh 96-bit IV per
 * key, the kid as associated data (a wrapped key cannot be moved to another kid).
 */
export class MasterKey {
  private constructor(private readonly key: Buffer) {}

  /** 32 bytes as base64 or hex, or any longer passphrase (stretched with SHA-256). */
  static fromText(text: string): MasterKey {
    const trimmed = text.trim();
    for (const encoding of ["base64", "hex"] as const) {
      const bytes = Buffer.from(trimmed, encoding);
      if (bytes.length === 32 && bytes.toString(encoding).replace(/=+$/, "") === trimmed.replace(/=+$/, "")) {
        return new MasterKey(bytes);
      }
    }
    if (trimmed.length < 32)
      throw new Error("the master key must be 32 bytes (base64 or hex) or a 32+ character passphrase");
    return new MasterKey(createHash("sha256").update(trimmed).digest());
  }

  static generate(): MasterKey {
    return new MasterKey(randomBytes(32));
  }

  toText(): string {
    return this.key.toString("base64");
  }

  encrypt(plaintext: string, kid: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv).setAAD(Buffer.from(kid));
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return `v1.${Buffer.concat([iv, body, cipher.getAuthTag()]).toString("base64url")}`;
  }

  decrypt(wrapped: string, kid: string): string {
    if (!wrapped.startsWith("v1.")) throw new Error(`signing key ${kid}: unknown wrapping`);
    const raw = Buffer.from(wrapped.slice(3), "base64url");
    const decipher = createDecipheriv("aes-256-gcm", this.key, raw.subarray(0, 12)).setAAD(Buffer.from(kid));
    decipher.setAuthTag(raw.subarray(raw.length - 16));
    try {
      return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString(
        "utf8",
      );
    } catch {
      throw new Error(
        `signing key ${kid} cannot be decrypted: is LATCHKEY_MASTER_KEY the one it was written with?`,
      );
    }
  }
}

export const MASTER_KEY_FILE = "master-key";

/**
 * LATCHKEY_MASTER_KEY, else the file LATCHKEY_MASTER_KEY_FILE names, else `<dataDir>/master-key`
 * (generated with mode 0600 on first use; `generated` tells the caller to say so loudly).
 */
export function loadMasterKey(
  env: NodeJS.ProcessEnv,
  dataDir: string | undefined,
): { key: MasterKey; source: string; generated: boolean } {
  if (env.LATCHKEY_MASTER_KEY)
    return {
      key: MasterKey.fromText(env.LATCHKEY_MASTER_KEY),
      source: "LATCHKEY_MASTER_KEY",
      generated: false,
    };
  if (env.LATCHKEY_MASTER_KEY_FILE) {
    return {
      key: MasterKey.fromText(readFileSync(env.LATCHKEY_MASTER_KEY_FILE, "utf8")),
      source: env.LATCHKEY_MASTER_KEY_FILE,
      generated: false,
    };
  }
  if (!dataDir) throw new Error("set LATCHKEY_MASTER_KEY or LATCHKEY_MASTER_KEY_FILE");
  const file = join(dataDir, MASTER_KEY_FILE);
  if (existsSync(file))
    return { key: MasterKey.fromText(readFileSync(file, "utf8")), source: file, generated: false };
  const key = MasterKey.generate();
  writeFileSync(file, `${key.toText()}\n`, { mode: 0o600, flag: "wx" });
  chmodSync(file, 0o600);
  return { key, source: file, generated: true };
}
