import { afterEach, describe, expect, it } from "vitest";
import { ChainedAuditLog } from "../../src/audit/log.ts";
import { migrate } from "../../src/db/database.ts";
import { dialectOf } from "../../src/db/dialect.ts";
import { systemClock } from "../../src/lib/clock.ts";
import { RevocationFeed } from "../../src/revocations/feed.ts";
import { systemContext } from "../../src/server/context.ts";
import { digestStore } from "../../src/store-transfer/transfer.ts";
import { DIALECTS, type TestStore } from "./dialects.ts";

const NODES = 4;
const PER_NODE = 40;

describe.each(DIALECTS)("append-only chains on $name", (dialect) => {
  let t: TestStore;
  afterEach(() => t?.destroy());

  it(`${NODES} nodes appending at once: one gapless audit chain that verifies, one gapless feed`, async () => {
    t = await dialect.create();
    await migrate(t.store.db);
    const nodes = await t.nodes(NODES);
    const later = new Date(Date.now() + 3_600_000).toISOString();
    await Promise.all(
      nodes.map(async (node, n) => {
        const audit = new ChainedAuditLog(systemClock);
        const feed = new RevocationFeed(node.db, systemClock);
        await Promise.all(
          Array.from({ length: PER_NODE }, (_, i) =>
            node.db.transaction().execute(async (trx) => {
              await feed.append(trx, "token.revoked", { token_id: `${n}-${i}`, at: later }, later);
              await audit.append(trx, systemContext(`node-${n}`), {
                action: "token.revoke",
                target: { type: "token", id: `${n}-${i}` },
              });
            }),
          ),
        );
      }),
    );
    // digestStore follows the chain from the first event and throws where it breaks.
    const digest = await digestStore(t.store.db);
    expect(digest.audit.events).toBe(NODES * PER_NODE);
    const seqs = await t.store.db.selectFrom("revocation_events").select("seq").orderBy("seq").execute();
    expect(seqs.map((r) => r.seq)).toEqual(Array.from({ length: NODES * PER_NODE }, (_, i) => i + 1));
  });

  it("a rolled-back append leaves no trace and no gap", async () => {
    t = await dialect.create();
    await migrate(t.store.db);
    const audit = new ChainedAuditLog(systemClock);
    await t.store.db
      .transaction()
      .execute((trx) => audit.append(trx, systemContext(), { action: "a", target: { type: "x" } }));
    await expect(
      t.store.db.transaction().execute(async (trx) => {
        await audit.append(trx, systemContext(), { action: "b", target: { type: "x" } });
        throw new Error("rolled back");
      }),
    ).rejects.toThrow("rolled back");
    await t.store.db
      .transaction()
      .execute((trx) => audit.append(trx, systemContext(), { action: "c", target: { type: "x" } }));
    const rows = await t.store.db
      .selectFrom("audit_events")
      .select(["seq", "action"])
      .orderBy("seq")
      .execute();
    expect(rows).toEqual([
      { seq: 1, action: "a" },
      { seq: 2, action: "c" },
    ]);
    expect((await digestStore(t.store.db)).audit.events).toBe(2);
  });

  it("knows its engine's quirks from any handle or transaction", async () => {
    t = await dialect.create();
    expect(dialectOf(t.store.db).name).toBe(dialect.name);
    await t.store.db.transaction().execute(async (trx) => {
      expect(dialectOf(trx)).toBe(t.store.dialect);
    });
  });
});
