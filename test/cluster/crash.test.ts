import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLUSTER_TESTS, type Cluster, sleep, startCluster } from "../helpers/cluster.ts";
import { compileCli, http } from "../helpers/process.ts";

const KILLS = Number(process.env.LATCHKEY_TEST_KILLS ?? 200);
/** Victims started, hammered and killed side by side (startup dominates a trial). */
const SLOTS = Number(process.env.LATCHKEY_TEST_KILL_SLOTS ?? 2);
/** Clients issuing tokens at once against each victim. */
const CLIENTS = 4;

describe.skipIf(!CLUSTER_TESTS)("kill -9 of a node during issuance", () => {
  let cluster: Cluster;
  /** Victims run the CLI compiled ahead of time: 200 starts under tsx would double the test's time. */
  let compiled: { entry: string; remove: () => void } | undefined;
  beforeAll(async () => {
    compiled = compileCli();
    cluster = await startCluster(1);
    const sa = await http(cluster.nodes[0]!.url, "POST", "/v1/projects/default/service-accounts", {
      token: cluster.admin,
      body: { name: "crash" },
    });
    expect(sa.status).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
    compiled?.remove();
  });

  it(`${KILLS} times: every token a client received authenticates, every stored token has its audit event`, async () => {
    const received: { id: string; token: string }[] = [];
    const outcomes = { answered: 0, cut: 0, startMs: [] as number[], killedAfterMs: [] as number[] };

    async function trial(k: number): Promise<void> {
      const started = performance.now();
      const victim = await cluster.addNode({ logLevel: "fatal", cli: compiled?.entry });
      outcomes.startMs.push(performance.now() - started);
      let killed = false;
      const clients = Array.from({ length: CLIENTS }, async (_, c) => {
        for (let i = 0; !killed; i++) {
          try {
            const res = await http(victim.url, "POST", "/v1/projects/default/service-accounts/crash/tokens", {
              token: cluster.admin,
              body: { name: `kill-${k}-${c}-${i}` },
            });
            expect(res.status, res.text).toBe(201);
            received.push({ id: res.body.id, token: res.body.token });
            outcomes.answered += 1;
          } catch (error) {
            if (!killed) throw error;
            outcomes.cut += 1; // the connection died with the process: the client got nothing
          }
        }
      });
      const delay = Math.random() * 250;
      await sleep(delay);
      process.kill(victim.pid, "SIGKILL");
      killed = true;
      outcomes.killedAfterMs.push(delay);
      await Promise.all(clients);
      await victim.stop();
    }

    await Promise.all(
      Array.from({ length: SLOTS }, async (_, slot) => {
        for (let k = slot; k < KILLS; k += SLOTS) await trial(k);
      }),
    );

    const survivor = cluster.nodes[0]!.url;
    for (let i = 0; i < received.length; i += 25) {
      const batch = await Promise.all(
        received.slice(i, i + 25).map(async ({ id, token }) => {
          const res = await http(survivor, "GET", "/v1/whoami", { token });
          return { id, status: res.status };
        }),
      );
      expect(batch.filter((r) => r.status !== 200)).toEqual([]);
    }
    const orphans = await cluster.db
      .selectFrom("tokens")
      .select("tokens.id")
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom("audit_events")
              .select("seq")
              .whereRef("audit_events.target_id", "=", "tokens.id")
              .where("audit_events.action", "=", "token.create"),
          ),
        ),
      )
      .execute();
    expect(orphans).toEqual([]);
    const stored = await cluster.db
      .selectFrom("tokens")
      .select((eb) => eb.fn.countAll().as("n"))
      .where("name", "like", "kill-%")
      .executeTakeFirstOrThrow();
    const chain = await http(survivor, "GET", "/v1/audit-events?verify=true", { token: cluster.admin });
    expect(chain.body.valid).toBe(true);
    const mean = (xs: number[]) => Math.round(xs.reduce((a, b) => a + b, 0) / xs.length);
    console.log(
      `[cluster] kill -9: ${JSON.stringify({
        kills: KILLS,
        tokens_received: received.length,
        tokens_stored: Number(stored.n),
        requests_cut: outcomes.cut,
        orphan_tokens: orphans.length,
        audit_chain_valid: chain.body.valid,
        mean_node_start_ms: mean(outcomes.startMs),
      })}`,
    );
    expect(Number(stored.n)).toBeGreaterThanOrEqual(received.length);
  }, 900_000);
});
