import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allRows } from "../../helpers/store.ts";
import { http, type HttpResponse } from "../../helpers/process.ts";
import { backendsHere, type Deployment, startDeployment } from "./backends.ts";
import { report } from "./mode.ts";

/**
 * "If the audit write fails, the request fails and nothing changes." The store itself refuses
 * audit rows (a trigger the operator could have added, or a full audit tablespace): every change
 * fails with a server error, the store is exactly as before, the process stays up, and once the
 * audit log accepts rows again the same request succeeds.
 */
const FAIL_SQLITE = `create trigger lk_refuse_audit before insert on audit_events
  begin select raise(abort, 'the audit log refuses writes'); end;`;
const FAIL_POSTGRES = `
  create function lk_refuse_audit() returns trigger language plpgsql as
    $$ begin raise exception 'the audit log refuses writes'; end $$;
  create trigger lk_refuse_audit before insert on audit_events
    for each row execute function lk_refuse_audit();`;
const RESTORE_SQLITE = "drop trigger lk_refuse_audit;";
const RESTORE_POSTGRES = "drop trigger lk_refuse_audit on audit_events; drop function lk_refuse_audit();";

/** Every row, without last_used_at (written at most once a minute by any authentication, not a change). */
async function snapshot(d: Deployment): Promise<Record<string, unknown[]>> {
  const rows = await allRows(d.db);
  rows.tokens = (rows.tokens ?? []).map((r) => ({ ...(r as object), last_used_at: null }));
  return rows;
}

describe.each(backendsHere())("audit write failure (%s)", (kind) => {
  let d: Deployment;
  let url: string;
  const secrets: Record<string, string> = {};
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    d = await startDeployment(kind);
    url = d.server.url;
    for (const [name, role] of [
      ["worker", "contributor"],
      ["doomed", "viewer"],
      ["looker", "viewer"],
    ] as const) {
      const sa = await http(url, "POST", "/v1/projects/default/service-accounts", {
        token: d.admin,
        body: { name, role },
      });
      expect(sa.status, sa.text).toBe(201);
    }
    for (const [sa, name] of [
      ["worker", "rotate-me"],
      ["worker", "self-rotate-me"],
      ["worker", "revoke-me"],
      ["looker", "viewer-token"],
    ] as const) {
      const res = await http(url, "POST", `/v1/projects/default/service-accounts/${sa}/tokens`, {
        token: d.admin,
        body: { name },
      });
      expect(res.status, res.text).toBe(201);
      secrets[name] = res.body.token;
      ids[name] = res.body.id;
    }
    // Used once now, so that their use during the test is no write at all.
    for (const secret of Object.values(secrets)) {
      expect((await http(url, "GET", "/v1/whoami", { token: secret })).status).toBe(200);
    }
  }, 60_000);
  afterAll(async () => d?.stop());

  it("every change fails with a server error and changes nothing; it works again once audit does", async () => {
    const changes: [string, () => Promise<HttpResponse>][] = [
      [
        "create service account",
        () =>
          http(url, "POST", "/v1/projects/default/service-accounts", {
            token: d.admin,
            body: { name: "newcomer" },
          }),
      ],
      [
        "update service account",
        () =>
          http(url, "PATCH", "/v1/projects/default/service-accounts/worker", {
            token: d.admin,
            body: { description: "changed" },
          }),
      ],
      [
        "delete service account",
        () => http(url, "DELETE", "/v1/projects/default/service-accounts/doomed", { token: d.admin }),
      ],
      [
        "create token",
        () =>
          http(url, "POST", "/v1/projects/default/service-accounts/worker/tokens", {
            token: d.admin,
            body: { name: "fresh" },
          }),
      ],
      ["rotate token", () => http(url, "POST", `/v1/tokens/${ids["rotate-me"]}/rotate`, { token: d.admin })],
      [
        "rotate itself",
        () => http(url, "POST", "/v1/tokens/self/rotate", { token: secrets["self-rotate-me"] }),
      ],
      ["revoke token", () => http(url, "DELETE", `/v1/tokens/${ids["revoke-me"]}`, { token: d.admin })],
      [
        "create project",
        () => http(url, "POST", "/v1/projects", { token: d.admin, body: { name: "elsewhere" } }),
      ],
      ["rotate signing key", () => http(url, "POST", "/v1/signing-keys/rotate", { token: d.admin })],
    ];

    const before = await snapshot(d);
    await d.exec(kind === "sqlite" ? FAIL_SQLITE : FAIL_POSTGRES);
    const outcomes: Record<string, number> = {};
    for (const [name, call] of changes) {
      const res = await call();
      outcomes[name] = res.status;
      expect(res.status, `${name}: ${res.text}`).toBeGreaterThanOrEqual(500);
      expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      expect(res.text).not.toContain("lk_");
    }
    // A denial cannot be audited either: it is still refused (never allowed for want of a record).
    const denied = await http(url, "POST", "/v1/projects/default/service-accounts", {
      token: secrets["viewer-token"],
      body: { name: "sneaky" },
    });
    expect(denied.status).toBeGreaterThanOrEqual(400);
    outcomes["denied request"] = denied.status;

    // The process is up, reads work, and the store is exactly as before.
    expect((await http(url, "GET", "/healthz")).status).toBe(200);
    expect((await http(url, "GET", "/v1/whoami", { token: secrets["revoke-me"] })).status).toBe(200);
    expect((await http(url, "GET", "/v1/whoami", { token: secrets["rotate-me"] })).status).toBe(200);
    expect(await snapshot(d)).toEqual(before);

    await d.exec(kind === "sqlite" ? RESTORE_SQLITE : RESTORE_POSTGRES);
    const recovered: Record<string, number> = {};
    for (const [name, call] of changes) {
      const res = await call();
      recovered[name] = res.status;
      expect(res.status, `${name} after the audit log recovered: ${res.text}`).toBeLessThan(300);
    }
    const chain = await http(url, "GET", "/v1/audit-events?verify=true", { token: d.admin });
    expect(chain.body.valid).toBe(true);
    report(`audit write failure (${kind})`, {
      refused: outcomes,
      after_recovery: recovered,
      chain_valid: true,
    });
  });
});
