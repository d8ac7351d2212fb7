import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { migrate, openSqlite, SchemaTooNewError } from "../../../src/db/database.ts";

describe("migrations", () => {
  it("apply once, are idempotent, and refuse a store from a newer Latchkey", async () => {
    const dir = mkdtempSync(join(tmpdir(), "latchkey-migrate-"));
    const db = openSqlite(dir);
    try {
      const all = ["0001-initial", "0002-signing-keys-and-revocations", "0003-ui-sessions"];
      expect(await migrate(db)).toEqual(all);
      expect(await migrate(db)).toEqual(all);
      await sql`insert into kysely_migration (name, timestamp) values ('9999-from-the-future', '2031-01-01')`.execute(
        db,
      );
      await expect(migrate(db)).rejects.toThrow(SchemaTooNewError);
      await expect(migrate(db)).rejects.toThrow(/9999-from-the-future/);
    } finally {
      await db.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
