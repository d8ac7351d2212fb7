import { type Kysely, sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { appliedMigrations, KNOWN_MIGRATIONS, migrate, SchemaTooNewError } from "../../src/db/database.ts";
import { DIALECTS, type TestStore } from "./dialects.ts";

describe.each(DIALECTS)("migrations on $name", (dialect) => {
  let t: TestStore;
  afterEach(() => t?.destroy());

  it("apply once, are idempotent, and refuse a store from a newer Latchkey", async () => {
    t = await dialect.create();
    const db = t.store.db;
    expect(await appliedMigrations(db)).toEqual([]);
    expect(await migrate(db)).toEqual(KNOWN_MIGRATIONS);
    expect(await migrate(db)).toEqual(KNOWN_MIGRATIONS);
    expect(await appliedMigrations(db)).toEqual(KNOWN_MIGRATIONS);
    const schema = t.store.dialect.schema;
    const tables = db as unknown as Kysely<{ kysely_migration: { name: string; timestamp: string } }>;
    await (schema ? tables.withSchema(schema) : tables)
      .insertInto("kysely_migration")
      .values({ name: "9999-from-the-future", timestamp: "2031-01-01T00:00:00.000Z" })
      .execute();
    await expect(migrate(db)).rejects.toThrow(SchemaTooNewError);
    await expect(migrate(db)).rejects.toThrow(/9999-from-the-future/);
  });

  it("several nodes migrating one new store at once: each succeeds, the migrations run once", async () => {
    t = await dialect.create();
    const nodes = await t.nodes(3);
    const results = await Promise.all(nodes.map((n) => migrate(n.db)));
    for (const applied of results) expect(applied).toEqual(KNOWN_MIGRATIONS);
    expect(await appliedMigrations(t.store.db)).toEqual(KNOWN_MIGRATIONS);
  });

  it("COUNT, MAX and bigint columns come back as numbers, booleans as 0/1", async () => {
    t = await dialect.create();
    const db = t.store.db;
    await migrate(db);
    const at = "2030-01-01T00:00:00.000Z";
    await db
      .insertInto("revocation_events")
      .values(
        [1, 2, 3].map((seq) => ({ seq, time: at, type: "token.revoked", data: "{}", relevant_until: at })),
      )
      .execute();
    const agg = await db
      .selectFrom("revocation_events")
      .select((eb) => [eb.fn.countAll().as("n"), eb.fn.max("seq").as("m")])
      .executeTakeFirstOrThrow();
    expect(agg).toEqual({ n: 3, m: 3 });
    const rows = await db.selectFrom("revocation_events").select("seq").orderBy("seq").execute();
    expect(rows.map((r) => r.seq)).toEqual([1, 2, 3]);
    const one = await sql<{ v: number }>`select ${1} + 1 as v`.execute(db);
    expect(Number(one.rows[0]?.v)).toBe(2);
  });
});
