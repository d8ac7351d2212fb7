import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiResponse, accountWithToken, startServer, type TestServer } from "../../helpers/server.ts";

describe("service accounts", () => {
  let server: TestServer;
  const base = "/v1/projects/default/service-accounts";
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.close());

  it("are created with every field and a derived email", async () => {
    const res = await server.api("POST", base, {
      body: {
        name: "builder",
        description: "Builds images",
        owner: "platform@example.com",
        role: "contributor",
        labels: { team: "platform", "cost-center": "42" },
      },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      project: "default",
      name: "builder",
      email: "builder@default.serviceaccounts.latchkey",
      description: "Builds images",
      owner: "platform@example.com",
      role: "contributor",
      scope: "project",
      disabled: false,
      labels: { team: "platform", "cost-center": "42" },
      created_by: "bootstrap@default.serviceaccounts.latchkey",
    });
    expect(res.body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body.created_at).toBe(res.body.updated_at);
    const got = await server.api("GET", `${base}/builder`);
    expect(got.body).toEqual(res.body);
  });

  it("default to viewer in project scope, and names are unique per project", async () => {
    const res = await server.api("POST", base, { body: { name: "plain" } });
    expect(res.body).toMatchObject({
      role: "viewer",
      scope: "project",
      description: "",
      owner: "",
      labels: {},
    });
    const again = await server.api("POST", base, { body: { name: "plain" } });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe("already_exists");
    await server.api("POST", "/v1/projects", { body: { name: "elsewhere" } });
    expect(
      (await server.api("POST", "/v1/projects/elsewhere/service-accounts", { body: { name: "plain" } }))
        .status,
    ).toBe(201);
  });

  it("are edited in place; the name is not editable", async () => {
    await server.api("POST", base, { body: { name: "editable", labels: { a: "1" } } });
    const res = await server.api("PATCH", `${base}/editable`, {
      body: { description: "now described", owner: "me", role: "contributor", labels: { b: "2" } },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      description: "now described",
      owner: "me",
      role: "contributor",
      labels: { b: "2" },
    });
    expect(res.body.updated_at >= res.body.created_at).toBe(true);
    const rename = await server.api("PATCH", `${base}/editable`, { body: { name: "renamed" } });
    expect(rename.status).toBe(400);
    expect(rename.body.errors[0]).toEqual({ field: "name", message: "unknown field" });
  });

  it("when disabled, authenticate nothing; when enabled again, work again", async () => {
    const { token } = await accountWithToken(server, { name: "switch" });
    expect((await server.api("PATCH", `${base}/switch`, { body: { disabled: true } })).body.disabled).toBe(
      true,
    );
    const denied = await server.api("GET", "/v1/whoami", { token });
    expect(denied.status).toBe(401);
    expect(denied.body.code).toBe("service_account_disabled");
    await server.api("PATCH", `${base}/switch`, { body: { disabled: false } });
    expect((await server.api("GET", "/v1/whoami", { token })).status).toBe(200);
  });

  it("are listed by name, a page at a time", async () => {
    for (const name of ["page-c", "page-a", "page-b"]) await server.api("POST", base, { body: { name } });
    const names: string[] = [];
    let cursor: string | null = "";
    while (cursor !== null) {
      const res: ApiResponse = await server.api("GET", `${base}?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      expect(res.body.items.length).toBeLessThanOrEqual(2);
      names.push(...res.body.items.map((a: { name: string }) => a.name));
      cursor = res.body.next_cursor;
    }
    expect(names).toEqual([...names].sort());
    expect(names).toEqual(expect.arrayContaining(["bootstrap", "page-a", "page-b", "page-c"]));
    expect(new Set(names).size).toBe(names.length);
  });

  it("answer 404 for unknown accounts and projects", async () => {
    for (const path of [
      `${base}/nobody`,
      "/v1/projects/nowhere/service-accounts",
      "/v1/projects/nowhere/service-accounts/x",
    ]) {
      const res = await server.api("GET", path);
      expect(res.status).toBe(404);
      expect(res.body.code).toBe("not_found");
    }
  });
});

describe("projects", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.close());

  it("are created, read, edited, listed and deleted", async () => {
    const created = await server.api("POST", "/v1/projects", {
      body: { name: "payments", description: "Payment services", labels: { tier: "1" } },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: "payments",
      description: "Payment services",
      labels: { tier: "1" },
    });
    expect((await server.api("POST", "/v1/projects", { body: { name: "payments" } })).status).toBe(409);
    const edited = await server.api("PATCH", "/v1/projects/payments", { body: { description: "Payments" } });
    expect(edited.body).toMatchObject({ description: "Payments", labels: { tier: "1" } });
    const list = await server.api("GET", "/v1/projects");
    expect(list.body.items.map((p: { name: string }) => p.name)).toEqual(["default", "payments"]);
    expect((await server.api("DELETE", "/v1/projects/payments")).status).toBe(204);
    expect((await server.api("GET", "/v1/projects/payments")).status).toBe(404);
  });

  it("a project-scoped account sees only its own project", async () => {
    await server.api("POST", "/v1/projects", { body: { name: "hidden" } });
    const { token } = await accountWithToken(server, { name: "local-admin", role: "admin" });
    const list = await server.api("GET", "/v1/projects", { token });
    expect(list.body.items.map((p: { name: string }) => p.name)).toEqual(["default"]);
    expect((await server.api("GET", "/v1/projects/hidden", { token })).status).toBe(404);
  });
});
