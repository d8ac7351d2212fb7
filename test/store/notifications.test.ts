import { afterEach, describe, expect, it } from "vitest";
import { ChangeListener } from "../../src/cluster/notifications.ts";
import type { Store } from "../../src/db/database.ts";
import type { ChangeTopic } from "../../src/db/dialect.ts";
import { adminQuery, TEST_POSTGRES_URL } from "../helpers/postgres.ts";
import { DIALECTS, type TestStore } from "./dialects.ts";

const postgres = DIALECTS.find((d) => d.name === "postgres");
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

async function until(check: () => boolean, timeoutMs = 5000): Promise<number> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return Date.now() - started;
}

/** Changes one node makes, as the store code does: inside a transaction, delivered at commit. */
const change = (store: Store, topic: ChangeTopic, rollback = false) =>
  store.db
    .transaction()
    .execute(async (trx) => {
      await store.dialect.notifyChange(trx, topic);
      if (rollback) throw new Error("rolled back");
    })
    .catch(() => undefined);

describe.skipIf(!postgres)("cluster notifications (PostgreSQL LISTEN/NOTIFY)", () => {
  let t: TestStore;
  const listeners: ChangeListener[] = [];
  afterEach(async () => {
    await Promise.all(listeners.splice(0).map((l) => l.stop()));
    await t?.destroy();
  });

  /** Heartbeats are slow here, so that pg_stat_activity shows the LISTEN as the connection's last query. */
  function listen(store: Store, heard: ChangeTopic[], resyncs: { n: number }): ChangeListener {
    if (!store.listen) throw new Error("no LISTEN on this store");
    const listener = new ChangeListener({
      channel: store.listen.channel,
      nodeId: store.nodeId,
      connect: store.listen.connect,
      log: quiet,
      heartbeatMs: 60_000,
      backoff: { minMs: 50, maxMs: 200 },
      onChange: (topic) => void heard.push(topic),
      onResync: async () => void (resyncs.n += 1),
    });
    listeners.push(listener);
    return listener;
  }

  it("a committed change reaches the other node; its own and rolled-back ones do not", async () => {
    t = await postgres!.create();
    const [a, b] = (await t.nodes(2)) as [Store, Store];
    const heardByB: ChangeTopic[] = [];
    const heardByA: ChangeTopic[] = [];
    await listen(b, heardByB, { n: 0 }).start();
    await listen(a, heardByA, { n: 0 }).start();
    await change(a, "signing_keys");
    await change(a, "revocations", true);
    await change(a, "revocations");
    await until(() => heardByB.length >= 2);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(heardByB).toEqual(["signing_keys", "revocations"]);
    expect(heardByA).toEqual([]);
  });

  it("stores in other schemas of the same database do not hear each other", async () => {
    t = await postgres!.create();
    const other = await postgres!.create();
    try {
      const heard: ChangeTopic[] = [];
      await listen(other.store, heard, { n: 0 }).start();
      await change(t.store, "revocations");
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(heard).toEqual([]);
    } finally {
      await Promise.all(listeners.splice(0).map((l) => l.stop()));
      await other.destroy();
    }
  });

  it("reconnects after losing its connection, resyncs, and hears changes again", async () => {
    t = await postgres!.create();
    const [a, b] = (await t.nodes(2)) as [Store, Store];
    const heard: ChangeTopic[] = [];
    const resyncs = { n: 0 };
    const listener = listen(b, heard, resyncs);
    await listener.start();
    expect(resyncs.n).toBe(1);
    // What a PostgreSQL restart or a failover does to the connection.
    const killed = await adminQuery(
      TEST_POSTGRES_URL!,
      "select pg_terminate_backend(pid) from pg_stat_activity where query = $1",
      [`LISTEN "${b.listen!.channel}"`],
    );
    expect(killed.rowCount).toBe(1);
    const downFor = await until(() => resyncs.n === 2);
    expect(downFor).toBeLessThan(3000);
    expect(listener.connects).toBe(2);
    await change(a, "signing_keys");
    await until(() => heard.length === 1);
    expect(heard).toEqual(["signing_keys"]);
  });

  it("keeps trying while PostgreSQL cannot be reached, and listens once it can", async () => {
    t = await postgres!.create();
    let refuse = 3;
    const store = t.store;
    const resyncs = { n: 0 };
    const listener = new ChangeListener({
      channel: store.listen!.channel,
      nodeId: store.nodeId,
      connect: async () => {
        if (refuse-- > 0) throw new Error("connect ECONNREFUSED 127.0.0.1:5432");
        return store.listen!.connect();
      },
      log: quiet,
      backoff: { minMs: 20, maxMs: 50 },
      onChange: () => undefined,
      onResync: async () => void (resyncs.n += 1),
    });
    listeners.push(listener);
    await listener.start();
    await until(() => listener.connected);
    expect(resyncs.n).toBe(1);
  });
});
