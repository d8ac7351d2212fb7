import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Db } from "../db/database.ts";
import { MASTER_KEY_FILE, MasterKey } from "../keys/master-key.ts";

export interface KeyCheck {
  total: number;
  decrypted: number;
  /** Where the master key came from; undefined when none was found (nothing checked). */
  masterKey: string | undefined;
}

/**
 * The master key the servers will need, if one can be found without making one: LATCHKEY_MASTER_KEY,
 * LATCHKEY_MASTER_KEY_FILE, an explicit file, or the `master-key` beside a SQLite source.
 */
export function findMasterKey(
  env: NodeJS.ProcessEnv,
  options: { file?: string; sqliteSource?: string },
): { key: MasterKey; source: string } | undefined {
  if (options.file)
    return { key: MasterKey.fromText(readFileSync(options.file, "utf8")), source: options.file };
  if (env.LATCHKEY_MASTER_KEY)
    return { key: MasterKey.fromText(env.LATCHKEY_MASTER_KEY), source: "LATCHKEY_MASTER_KEY" };
  if (env.LATCHKEY_MASTER_KEY_FILE) {
    const file = env.LATCHKEY_MASTER_KEY_FILE;
    return { key: MasterKey.fromText(readFileSync(file, "utf8")), source: file };
  }
  if (options.sqliteSource) {
    const file = join(dirname(options.sqliteSource), MASTER_KEY_FILE);
    if (existsSync(file)) return { key: MasterKey.fromText(readFileSync(file, "utf8")), source: file };
  }
  return undefined;
}

/** How many signing keys in the store the master key opens: all of them, or the servers cannot sign. */
export async function checkSigningKeys(
  db: Db,
  master: { key: MasterKey; source: string } | undefined,
): Promise<KeyCheck> {
  const rows = await db.selectFrom("signing_keys").select(["kid", "private_key"]).execute();
  if (!master) return { total: rows.length, decrypted: 0, masterKey: undefined };
  let decrypted = 0;
  for (const row of rows) {
    try {
      master.key.decrypt(row.private_key, row.kid);
      decrypted += 1;
    } catch {
      // counted as not decrypted
    }
  }
  return { total: rows.length, decrypted, masterKey: master.source };
}
