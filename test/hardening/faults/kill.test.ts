import { join } from "node:path";
import SQLite from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileCli, http, type ServerProcess } from "../../helpers/process.ts";
import { backendsHere, type Deployment, startDeployment } from "./backends.ts";
import { report, scaled } from "./mode.ts";

/**
 * `kill -9` of the real server process while clients issue and rotate tokens, again and again, on
 * SQLite (one process owning the file, restarted after each kill) and on PostgreSQL (a node killed
 * beside a surviving one). After the dust settles: every token a client received authenticates,
 * every stored token has its audit event, and every rotation lineage has exactly one current token.
 */
const KILLS = scaled(5, 100);
const ISSUERS = 2;
const ROTATORS = 2;
/** Rotations keep the previous token for an hour, so every token a client ever received must work. */
const GRACE_SECONDS = 3600;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Received {
  id: string;
  token: string;
  lineage?: string;
}

describe.each(backendsHere())("kill -9 during issuance and rotation (%s)", (kind) => {
  let d: Deployment;
  let compiled: { entry: string; remove: () => void } | undefined;
  /** The process that answers the checks: on PostgreSQL a node never killed; on SQLite, a restart. */
  let survivor: ServerProcess;

  beforeAll(async () => {
    compiled = compileCli();
    d = await startDeployment(kind, { cli: compiled.entry });
    const sa = await http(d.server.url, "POST", "/v1/projects/default/service-accounts", {
      token: d.admin,
      body: { name: "crash", role: "contributor" },
    });
    expect(sa.status, sa.text).toBe(201);
    // SQLite has one owner process: the victims take turns on the file.
    if (kind === "sqlite") await d.server.stop();
  }, 120_000);
  afterAll(async () => {
    await d?.stop();
    compiled?.remove();
  });

  it(`${KILLS} kills: no token returned that was not stored; one current token per lineage`, async () => {
    const received: Received[] = [];
    /** The last token each lineage's client holds, by lineage name. */
    const lastHeld = new Map<string, string>();
    const stats = { answered: 0, cut: 0, rotations: 0, lineages: 0, startMs: [] as number[] };

    for (let k = 0; k < KILLS; k++) {
      const started = performance.now();
      const victim = await d.start();
      stats.startMs.push(performance.now() - started);
      // Each rotating client starts a lineage of its own on this victim, before the clock runs.
      const roots: Received[] = [];
      for (let c = 0; c < ROTATORS; c++) {
        const lineage = `rot-${k}-${c}`;
        const res = await http(victim.url, "POST", "/v1/projects/default/service-accounts/crash/tokens", {
          token: d.admin,
          body: { name: lineage },
        });
        expect(res.status, res.text).toBe(201);
        const root = { id: res.body.id, token: res.body.token, lineage };
        received.push(root);
        roots.push(root);
        lastHeld.set(lineage, root.id);
        stats.lineages += 1;
      }
      let killed = false;
      const guard = async (work: () => Promise<void>) => {
        try {
          await work();
        } catch (error) {
          if (!killed) throw error;
          stats.cut += 1; // the connection died with the process: the client got nothing
        }
      };
      const issuers = Array.from({ length: ISSUERS }, (_, c) =>
        guard(async () => {
          for (let i = 0; !killed; i++) {
            const res = await http(victim.url, "POST", "/v1/projects/default/service-accounts/crash/tokens", {
              token: d.admin,
              body: { name: `kill-${k}-${c}-${i}` },
            });
            expect(res.status, res.text).toBe(201);
            received.push({ id: res.body.id, token: res.body.token });
            stats.answered += 1;
          }
        }),
      );
      const rotators = roots.map((root) =>
        guard(async () => {
          let current = root.token;
          while (!killed) {
            const res = await http(victim.url, "POST", "/v1/tokens/self/rotate", {
              token: current,
              body: { previous_expires_in_seconds: GRACE_SECONDS },
            });
            expect(res.status, res.text).toBe(201);
            received.push({ id: res.body.id, token: res.body.token, lineage: root.lineage });
            lastHeld.set(root.lineage!, res.body.id);
            current = res.body.token;
            stats.answered += 1;
            stats.rotations += 1;
          }
        }),
      );
      await sleep(Math.random() * 300);
      process.kill(victim.pid, "SIGKILL");
      killed = true;
      await Promise.all([...issuers, ...rotators]);
      await victim.stop();
    }

    survivor = kind === "sqlite" ? await d.start() : d.server;
    const url = survivor.url;

    // Every token a client received authenticates.
    for (let i = 0; i < received.length; i += 25) {
      const batch = await Promise.all(
        received.slice(i, i + 25).map(async ({ id, token }) => ({
          id,
          status: (await http(url, "GET", "/v1/whoami", { token })).status,
        })),
      );
      expect(batch.filter((r) => r.status !== 200)).toEqual([]);
    }

    // Every lineage is one unbroken chain with exactly one current (unrotated, active) token, and
    // the token its client holds is that one, or the one before it when the answer was cut off.
    const rows = await d.db
      .selectFrom("tokens")
      .select(["id", "name", "rotated_from", "rotated_to", "revoked_at", "expires_at"])
      .where("name", "like", "rot-%")
      .execute();
    const now = new Date().toISOString();
    const byLineage = new Map<string, typeof rows>();
    for (const row of rows) byLineage.set(row.name, [...(byLineage.get(row.name) ?? []), row]);
    expect(byLineage.size).toBe(stats.lineages);
    const broken: string[] = [];
    for (const [lineage, chain] of byLineage) {
      const current = chain.filter((r) => r.rotated_to === null);
      const byId = new Map(chain.map((r) => [r.id, r]));
      const roots = chain.filter((r) => r.rotated_from === null);
      const linked = chain.every(
        (r) => r.rotated_to === null || byId.get(r.rotated_to)?.rotated_from === r.id,
      );
      const tail = current[0];
      const held = lastHeld.get(lineage);
      const holdsCurrent = tail !== undefined && (held === tail.id || held === tail.rotated_from);
      const active = tail !== undefined && tail.revoked_at === null && tail.expires_at > now;
      if (current.length !== 1 || roots.length !== 1 || !linked || !holdsCurrent || !active) {
        broken.push(`${lineage}: ${current.length} current, ${roots.length} roots, linked ${linked}`);
      }
    }
    expect(broken).toEqual([]);

    // Nothing was stored without its audit event, and the chain of events is intact.
    const orphans = await d.db
      .selectFrom("tokens")
      .select("tokens.id")
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom("audit_events")
              .select("seq")
              .whereRef("audit_events.target_id", "=", "tokens.id")
              .where("audit_events.action", "in", ["token.create", "token.rotate"]),
          ),
        ),
      )
      .execute();
    expect(orphans).toEqual([]);
    const audit = await http(url, "GET", "/v1/audit-events?verify=true", { token: d.admin });
    expect(audit.body.valid).toBe(true);
    let integrity = "n/a";
    if (kind === "sqlite") {
      const file = new SQLite(join(d.dataDir, "latchkey.db"), { readonly: true });
      try {
        integrity = String(file.pragma("integrity_check", { simple: true }));
      } finally {
        file.close();
      }
      expect(integrity).toBe("ok");
    }
    const stored = await d.db
      .selectFrom("tokens")
      .select((eb) => eb.fn.countAll().as("n"))
      .where((eb) => eb.or([eb("name", "like", "kill-%"), eb("name", "like", "rot-%")]))
      .executeTakeFirstOrThrow();
    expect(Number(stored.n)).toBeGreaterThanOrEqual(received.length);
    report(`kill -9 (${kind})`, {
      kills: KILLS,
      tokens_received: received.length,
      tokens_stored: Number(stored.n),
      stored_but_answer_lost: Number(stored.n) - received.length,
      rotations_received: stats.rotations,
      lineages: stats.lineages,
      lineages_broken: broken.length,
      requests_cut: stats.cut,
      orphan_tokens: orphans.length,
      audit_chain_valid: audit.body.valid,
      integrity_check: integrity,
      mean_start_ms: Math.round(stats.startMs.reduce((a, b) => a + b, 0) / stats.startMs.length),
    });
  }, 1_800_000);
});
