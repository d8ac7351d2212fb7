import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuditLog, ChainedAuditLog } from "../../../src/audit/log.ts";
import { accountWithToken, rowCounts, startServer, type TestServer } from "../../helpers/server.ts";
import { eventsOf } from "./helpers.ts";

/**
 * POST /v1/projects/{project}/service-accounts with a `token` member: the account and its first
 * token in one transaction. Either both exist afterwards, or neither.
 */

describe("creating a service account with its first token", () => {
  let server: TestServer;
  /** When set, the audit log fails on this action (to prove the rollback of the whole request). */
  let failOn: string | undefined;

  beforeAll(async () => {
    server = await startServer({
      audit: (clock): AuditLog => {
        const real = new ChainedAuditLog(clock);
        return {
          append: async (db, ctx, record) => {
            if (record.action === failOn) throw new Error(`audit store failure on ${failOn}`);
            return real.append(db, ctx, record);
          },
        };
      },
    });
  });
  afterAll(() => server?.close());

  const path = "/v1/projects/default/service-accounts";

  it("creates both, answers the account with the issued token, and audits both in one request", async () => {
    const res = await server.api("POST", path, {
      body: {
        name: "with-token",
        role: "contributor",
        description: "made in one step",
        token: { name: "first", owner: "ops", access: "read-only", ttl_seconds: 7200, labels: { env: "ci" } },
      },
    });
    expect(res.status, res.text).toBe(201);
    const { token, ...account } = res.body;
    expect(account).toEqual((await server.api("GET", `${path}/with-token`)).body);
    expect(account).toMatchObject({
      name: "with-token",
      role: "contributor",
      description: "made in one step",
    });
    expect(token.token).toMatch(/^lk_[0-9A-Za-z]{49}$/);
    const { token: secret, ...view } = token;
    expect(view).toEqual((await server.api("GET", `/v1/tokens/${token.id}`)).body);
    expect(view).toMatchObject({
      name: "first",
      owner: "ops",
      access: "read-only",
      labels: { env: "ci" },
      service_account: { id: account.id, name: "with-token", project: "default" },
    });
    const who = await server.api("GET", "/v1/whoami", { token: secret });
    expect(who.body).toMatchObject({ token_id: token.id, effective_role: "viewer" });
    const events = await eventsOf(server, res);
    expect(events.map((e) => [e.action, e.outcome, e.target_id])).toEqual([
      ["service_account.create", "success", account.id],
      ["token.create", "success", token.id],
    ]);
    expect(JSON.stringify(events)).not.toContain(secret);
  });

  it("without `token`, the answer is the account alone, as before", async () => {
    const res = await server.api("POST", path, { body: { name: "no-token" } });
    expect(res.status).toBe(201);
    expect(res.body).not.toHaveProperty("token");
  });

  describe("if any part is refused, nothing is created", () => {
    const refusals: {
      what: string;
      body: Record<string, unknown>;
      caller?: () => Promise<string>;
      status: number;
      code: string;
      field?: string;
      /** Denials leave one audit event; nothing else does. */
      audited?: number;
    }[] = [
      {
        what: "token without name",
        body: { token: {} },
        status: 400,
        code: "validation_failed",
        field: "token.name",
      },
      {
        what: "unknown field in token",
        body: { token: { name: "t", colour: "red" } },
        status: 400,
        code: "validation_failed",
        field: "token.colour",
      },
      {
        what: "bad access",
        body: { token: { name: "t", access: "all" } },
        status: 400,
        code: "validation_failed",
        field: "token.access",
      },
      {
        what: "lifetime too short",
        body: { token: { name: "t", ttl_seconds: 10 } },
        status: 400,
        code: "ttl_out_of_range",
        field: "token.ttl_seconds",
      },
      {
        what: "lifetime too long",
        body: { token: { name: "t", ttl_seconds: 400 * 86400 } },
        status: 400,
        code: "ttl_out_of_range",
        field: "token.ttl_seconds",
      },
      {
        what: "token not an object",
        body: { token: "lk_x" },
        status: 400,
        code: "validation_failed",
        field: "token",
      },
      {
        what: "a viewer may create neither",
        body: { token: { name: "t" } },
        caller: async () =>
          (await accountWithToken(server, { name: `viewer-${Date.now()}`, role: "viewer" })).token,
        status: 403,
        code: "permission_denied",
        audited: 1,
      },
      {
        what: "a role above the caller's",
        body: { role: "admin", token: { name: "t" } },
        caller: async () =>
          (await accountWithToken(server, { name: `contrib-${Date.now()}`, role: "contributor" })).token,
        status: 403,
        code: "role_ceiling_exceeded",
        audited: 1,
      },
    ];
    let n = 0;
    for (const r of refusals) {
      it(`${r.what} → ${r.status} ${r.code}`, async () => {
        const caller = r.caller ? await r.caller() : undefined;
        const name = `refused-${++n}`;
        const before = await rowCounts(server);
        const res = await server.api("POST", path, { token: caller, body: { name, ...r.body } });
        expect(res.status, res.text).toBe(r.status);
        expect(res.body.code).toBe(r.code);
        if (r.field) {
          expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(r.field);
          expect(res.body.detail).toContain(r.field);
        }
        expect(await rowCounts(server)).toEqual({
          ...before,
          audit_events: before.audit_events! + (r.audited ?? 0),
        });
        expect((await server.api("GET", `${path}/${name}`)).status).toBe(404);
      });
    }

    it("the account's name is taken → 409, and no token is made for the existing account", async () => {
      await server.api("POST", path, { body: { name: "taken" } });
      const before = await rowCounts(server);
      const res = await server.api("POST", path, { body: { name: "taken", token: { name: "t" } } });
      expect(res.status).toBe(409);
      expect(res.body.code).toBe("already_exists");
      expect(await rowCounts(server)).toEqual(before);
      const tokens = await server.api("GET", `${path}/taken/tokens`);
      expect(tokens.body.items).toEqual([]);
    });

    it("the token's audit event cannot be written → 500, and the account is rolled back too", async () => {
      const before = await rowCounts(server);
      failOn = "token.create";
      try {
        const res = await server.api("POST", path, { body: { name: "rolled-back", token: { name: "t" } } });
        expect(res.status).toBe(500);
        expect(res.body.code).toBe("internal_error");
      } finally {
        failOn = undefined;
      }
      expect(await rowCounts(server)).toEqual(before);
      expect((await server.api("GET", `${path}/rolled-back`)).status).toBe(404);
    });
  });
});
