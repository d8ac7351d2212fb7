import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChainedAuditLog } from "../../../src/audit/log.ts";
import {
  type ApiResponse,
  accountWithToken,
  rowCounts,
  startServer,
  type TestServer,
} from "../../helpers/server.ts";

describe("audit log", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.close());

  const allEvents = async (query = "") => {
    const out: any[] = [];
    let cursor: string | null = "";
    while (cursor !== null) {
      const res: ApiResponse = await server.api(
        "GET",
        `/v1/audit-events?limit=2${query}${cursor ? `&cursor=${cursor}` : ""}`,
      );
      expect(res.status).toBe(200);
      out.push(...res.body.items);
      cursor = res.body.next_cursor;
    }
    return out;
  };

  it("records every change with actor, target, request and outcome", async () => {
    const sa = await server.api("POST", "/v1/projects/default/service-accounts", {
      body: { name: "audited", role: "contributor" },
      headers: { "user-agent": "audit-test/1.0" },
    });
    const res = await server.api("POST", "/v1/projects/default/service-accounts/audited/tokens", {
      body: { name: "ci" },
    });
    const [event] = await allEvents(`&action=token.create&target=${res.body.id}`);
    const whoami = await server.api("GET", "/v1/whoami");
    expect(event).toMatchObject({
      action: "token.create",
      outcome: "success",
      project: "default",
      target: { type: "token", id: res.body.id, name: "ci" },
      actor: {
        service_account: { id: whoami.body.service_account.id, name: "bootstrap" },
        project: "default",
        token_id: whoami.body.token_id,
      },
      ip: "127.0.0.1",
    });
    expect(event.request_id).toBe(res.headers.get("x-request-id"));
    const [saEvent] = await allEvents(`&action=service_account.create&target=${sa.body.id}`);
    expect(saEvent.user_agent).toBe("audit-test/1.0");
  });

  it("records denials, including a revoked token being used", async () => {
    const viewer = await accountWithToken(server, { name: "denied-viewer", role: "viewer" });
    const denied = await server.api("POST", "/v1/projects/default/service-accounts", {
      token: viewer.token,
      body: { name: "nope" },
    });
    expect(denied.status).toBe(403);
    const [event] = await allEvents("&outcome=denied&action=service_account.create");
    expect(event).toMatchObject({ outcome: "denied", actor: { token_id: viewer.tokenId } });
    expect(event.details.code).toBe("permission_denied");

    await server.api("DELETE", `/v1/tokens/${viewer.tokenId}`);
    expect((await server.api("GET", "/v1/whoami", { token: viewer.token })).status).toBe(401);
    const [authEvent] = await allEvents(`&action=auth.authenticate&target=${viewer.tokenId}`);
    expect(authEvent).toMatchObject({ outcome: "denied", details: { code: "token_revoked" } });
  });

  it("records a look outside the caller's scope as a denial, answering 404 as if nothing were there", async () => {
    await server.api("POST", "/v1/projects", { body: { name: "secret-project" } });
    const outsider = await accountWithToken(server, { name: "outsider", role: "owner" });
    const res = await server.api("GET", "/v1/projects/secret-project/service-accounts", {
      token: outsider.token,
    });
    const missing = await server.api("GET", "/v1/projects/no-such-project/service-accounts", {
      token: outsider.token,
    });
    expect(res.status).toBe(404);
    expect(res.body.code).toBe(missing.body.code);
    const [event] = await allEvents(`&outcome=denied&actor=${outsider.accountId}&target=secret-project`);
    expect(event).toMatchObject({ action: "project.read", details: { code: "not_found" } });
  });

  it("pages newest first and filters by actor, project, time", async () => {
    const events = await allEvents();
    expect(events.length).toBeGreaterThan(5);
    const times = events.map((e) => e.time);
    expect([...times].sort().reverse()).toEqual(times);
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    const byBootstrap = await allEvents("&actor=bootstrap");
    expect(byBootstrap.every((e) => e.actor.service_account?.name === "bootstrap")).toBe(true);
    const future = await server.api("GET", "/v1/audit-events?since=2999-01-01T00:00:00Z");
    expect(future.body.items).toEqual([]);
  });

  it("chains every event to the previous one and verifies the chain", async () => {
    const asc = (await allEvents()).reverse();
    expect(asc[0].prev_hash).toBe("0".repeat(64));
    for (let i = 1; i < asc.length; i++) expect(asc[i].prev_hash).toBe(asc[i - 1].hash);
    const res = await server.api("GET", "/v1/audit-events?verify=true");
    expect(res.body).toMatchObject({ valid: true, first_invalid_event_id: null });
    expect(res.body.events_checked).toBeGreaterThanOrEqual(asc.length);
  });

  it("verification finds an edited event", async () => {
    const db = server.latchkey.deps.db;
    const victim = await db
      .selectFrom("audit_events")
      .selectAll()
      .where("seq", "=", 3)
      .executeTakeFirstOrThrow();
    await db.updateTable("audit_events").set({ details: '{"forged":true}' }).where("seq", "=", 3).execute();
    const res = await server.api("GET", "/v1/audit-events?verify=true");
    expect(res.body).toMatchObject({ valid: false, events_checked: 2, first_invalid_event_id: victim.id });
    await db.updateTable("audit_events").set({ details: victim.details }).where("seq", "=", 3).execute();
    expect((await server.api("GET", "/v1/audit-events?verify=true")).body.valid).toBe(true);
  });

  it("verification finds a deleted event", async () => {
    const db = server.latchkey.deps.db;
    const victim = await db
      .selectFrom("audit_events")
      .selectAll()
      .where("seq", "=", 2)
      .executeTakeFirstOrThrow();
    await db.deleteFrom("audit_events").where("seq", "=", 2).execute();
    expect((await server.api("GET", "/v1/audit-events?verify=true")).body.valid).toBe(false);
    await db.insertInto("audit_events").values(victim).execute();
    expect((await server.api("GET", "/v1/audit-events?verify=true")).body.valid).toBe(true);
  });

  it("is for admins and owners; project-scoped admins see their own project only", async () => {
    const contributor = await accountWithToken(server, { name: "aud-contrib", role: "contributor" });
    expect((await server.api("GET", "/v1/audit-events", { token: contributor.token })).status).toBe(403);
    await server.api("POST", "/v1/projects", { body: { name: "other" } });
    await server.api("POST", "/v1/projects/other/service-accounts", { body: { name: "elsewhere" } });
    const admin = await accountWithToken(server, { name: "aud-admin", role: "admin" });
    const res = await server.api("GET", "/v1/audit-events?limit=500", { token: admin.token });
    expect(res.status).toBe(200);
    expect(res.body.items.length).toBeGreaterThan(0);
    expect(res.body.items.every((e: any) => e.project === "default")).toBe(true);
    expect((await server.api("GET", "/v1/audit-events?verify=true", { token: admin.token })).status).toBe(
      403,
    );
  });
});

describe("when the audit write fails", () => {
  it("the request fails and nothing changes", async () => {
    let failOn: string | undefined;
    const server = await startServer({
      audit: (clock) => {
        const real = new ChainedAuditLog(clock);
        return {
          append: async (db, ctx, record) => {
            await real.append(db, ctx, record);
            if (record.action === failOn) throw new Error("injected audit failure");
          },
        };
      },
    });
    try {
      const { tokenId, token } = await accountWithToken(server, { name: "victim" });
      const before = await rowCounts(server);
      const snapshot = async () => ({
        tokens: await server.latchkey.deps.db.selectFrom("tokens").selectAll().orderBy("id").execute(),
        accounts: await server.latchkey.deps.db
          .selectFrom("service_accounts")
          .selectAll()
          .orderBy("id")
          .execute(),
      });
      const beforeRows = await snapshot();
      const attempts: [string, string, string, unknown][] = [
        ["token.create", "POST", "/v1/projects/default/service-accounts/victim/tokens", { name: "x" }],
        ["token.rotate", "POST", `/v1/tokens/${tokenId}/rotate`, {}],
        ["token.revoke", "DELETE", `/v1/tokens/${tokenId}`, undefined],
        ["token.update", "PATCH", `/v1/tokens/${tokenId}`, { description: "changed" }],
        ["service_account.create", "POST", "/v1/projects/default/service-accounts", { name: "newbie" }],
        [
          "service_account.update",
          "PATCH",
          "/v1/projects/default/service-accounts/victim",
          { role: "contributor" },
        ],
        ["service_account.delete", "DELETE", "/v1/projects/default/service-accounts/victim", undefined],
        ["project.create", "POST", "/v1/projects", { name: "neverborn" }],
      ];
      for (const [action, method, path, body] of attempts) {
        failOn = action;
        const res = await server.api(method, path, { body });
        expect(res.status, action).toBe(500);
        expect(res.body.code).toBe("internal_error");
        expect(res.text).not.toContain("injected");
      }
      failOn = undefined;
      expect(await rowCounts(server)).toEqual(before);
      expect(await snapshot()).toEqual(beforeRows);
      expect((await server.api("GET", "/v1/whoami", { token })).status).toBe(200);
      expect((await server.api("GET", "/v1/audit-events?verify=true")).body.valid).toBe(true);
    } finally {
      await server.close();
    }
  });
});
