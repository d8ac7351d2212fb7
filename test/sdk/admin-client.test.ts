import {
  ADMIN_ROUTES,
  type AdminClient,
  ConnectionError,
  createAdminClient,
  LatchkeyApiError,
  paginate,
} from "@latchkey/sdk";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, startServer, type TestServer } from "../helpers/server.ts";
import { AUDIENCE, rejection, unique } from "./helpers.ts";

interface Operation {
  parameters?: { in: string; name: string }[];
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
}
interface OpenApi {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
}

/** A copy in which every object schema that lists its properties allows no others. */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (typeof schema !== "object" || schema === null) return schema;
  const copy = Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, closed(v)])) as Record<
    string,
    unknown
  >;
  if (copy.type === "object" && copy.properties && copy.additionalProperties === undefined) {
    copy.additionalProperties = false;
  }
  return copy;
}

interface Exchange {
  method: string;
  template: string;
  query: string[];
  requestBody: unknown;
  status: number;
  body: unknown;
}

describe("the admin client, checked against the live /openapi.json", () => {
  let server: TestServer;
  let doc: OpenApi;
  let client: AdminClient;
  const exchanges: Exchange[] = [];
  let templateOf: (method: string, path: string) => string | undefined;

  /** Records every call the client makes and the answer it gets, mapped to the document's path templates. */
  const recordingFetch = (async (input: string | URL | Request, init: RequestInit = {}) => {
    const url = new URL(String(input));
    const method = init.method ?? "GET";
    const response = await fetch(input, init);
    const text = await response.clone().text();
    exchanges.push({
      method,
      template: templateOf(method, url.pathname) ?? `unknown ${url.pathname}`,
      query: [...url.searchParams.keys()],
      requestBody: typeof init.body === "string" ? JSON.parse(init.body) : undefined,
      status: response.status,
      body: text ? JSON.parse(text) : undefined,
    });
    return response;
  }) as typeof fetch;

  beforeAll(async () => {
    server = await startServer();
    doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as OpenApi;
    // Static segments before parameters, so /v1/tokens/self never reads as /v1/tokens/{id}.
    const templates = Object.keys(doc.paths)
      .map((template) => ({
        template,
        params: (template.match(/\{/g) ?? []).length,
        pattern: new RegExp(`^${template.replace(/\{\w+\}/g, "[^/]+")}$`),
      }))
      .sort((a, b) => a.params - b.params);
    templateOf = (method, path) =>
      templates.find((t) => t.pattern.test(path) && doc.paths[t.template]![method.toLowerCase()])?.template;
    client = createAdminClient({ url: server.url, token: server.bootstrapToken, fetch: recordingFetch });
  });
  afterAll(() => server.close());

  it("calls only methods and paths that the document has", () => {
    const missing = Object.entries(ADMIN_ROUTES)
      .filter(([, [method, path]]) => !doc.paths[path]?.[method.toLowerCase()])
      .map(([name, [method, path]]) => `${name}: ${method} ${path}`);
    expect(missing).toEqual([]);
  });

  it("manages projects, service accounts, tokens, token requests and bound objects", async () => {
    const me = await client.whoami();
    expect(me.service_account.name).toBe("bootstrap");
    expect(me.effective_role).toBe("owner");

    const project = unique("proj");
    expect((await client.projects.create({ name: project, description: "SDK" })).name).toBe(project);
    expect((await client.projects.get(project)).description).toBe("SDK");
    expect((await client.projects.update(project, { labels: { team: "sdk" } })).labels).toEqual({
      team: "sdk",
    });
    expect((await client.projects.list({ limit: 500 })).items.map((p) => p.name)).toContain(project);

    const sa = await client.serviceAccounts.create(project, {
      name: "deployer",
      role: "contributor",
      owner: "me",
    });
    expect(sa.email).toBe(`deployer@${project}.serviceaccounts.latchkey`);
    expect((await client.serviceAccounts.get(project, "deployer")).id).toBe(sa.id);
    expect(
      (await client.serviceAccounts.update(project, "deployer", { description: "ships" })).description,
    ).toBe("ships");
    for (const name of ["a-one", "a-two", "a-three"]) await client.serviceAccounts.create(project, { name });
    const names: string[] = [];
    for await (const account of paginate((cursor) =>
      client.serviceAccounts.list(project, { limit: 1, cursor }),
    )) {
      names.push(account.name);
    }
    expect(names).toEqual(["a-one", "a-three", "a-two", "deployer"]);

    const issued = await client.tokens.create(project, "deployer", {
      name: "ci",
      format: "jwt",
      audiences: [AUDIENCE],
      ttl_seconds: 3600,
      labels: { env: "test" },
    });
    expect(issued.token).toMatch(/^ey/);
    expect((await client.tokens.get(issued.id)).state).toBe("active");
    expect((await client.tokens.update(issued.id, { owner: "team" })).owner).toBe("team");
    expect((await client.tokens.list(project, "deployer", { state: "active" })).items).toHaveLength(1);
    const rotated = await client.tokens.rotate(issued.id, { previous_expires_in_seconds: 60 });
    expect(rotated.rotated_from).toBe(issued.id);
    expect(rotated.previous.rotated_to).toBe(rotated.id);
    await client.tokens.revoke(rotated.id);
    expect((await client.tokens.get(rotated.id)).state).toBe("revoked");

    // Across projects, filtered and sorted; and an account created with its first token in one call.
    const everywhere = await client.tokens.listAll({
      project,
      state: "revoked",
      sort: "-created_at",
      limit: 10,
    });
    expect(everywhere.items.map((t) => t.id)).toEqual([rotated.id]);
    const withToken = await client.serviceAccounts.create(project, {
      name: "a-four",
      token: { name: "first", ttl_seconds: 3600 },
    });
    expect(withToken.token?.token).toMatch(/^lk_/);
    expect((await client.tokens.listAll({ project, service_account: "a-four" })).items).toHaveLength(1);

    // Self-service, as the token itself.
    const own = await client.tokens.create(project, "deployer", { name: "self" });
    let current = own.token;
    const self = createAdminClient({ url: server.url, token: () => current, fetch: recordingFetch });
    const renewed = await self.tokens.rotateSelf();
    current = renewed.token;
    expect((await self.whoami()).token_id).toBe(renewed.id);
    await self.tokens.revokeSelf();

    const object = await client.boundObjects.put(project, "Job", "build-1", { uid: "uid-1" });
    expect(object).toMatchObject({ project, kind: "Job", name: "build-1", uid: "uid-1" });
    const requested = await client.tokenRequests.create(project, "deployer", {
      audiences: [AUDIENCE],
      expiration_seconds: 600,
      bound_object_ref: { kind: "Job", name: "build-1" },
    });
    expect(requested.bound_object_ref).toEqual({ kind: "Job", name: "build-1", uid: "uid-1" });
    await client.boundObjects.delete(project, "Job", "build-1");

    for (const name of ["deployer", "a-one", "a-two", "a-three", "a-four"])
      await client.serviceAccounts.delete(project, name);
    await client.projects.delete(project);
  });

  it("reads audit events and signing keys", async () => {
    const since = new Date(Date.now() - 60_000);
    const page = await client.auditEvents.list({ action: "token.create", since, limit: 5 });
    expect(page.items.length).toBeGreaterThan(0);
    expect(page.items.every((e) => e.action === "token.create")).toBe(true);
    expect(await client.auditEvents.verify()).toMatchObject({ valid: true });
    const before = await client.signingKeys.list();
    const key = await client.signingKeys.rotate();
    expect(key.active).toBe(true);
    const after = await client.signingKeys.list();
    expect(after.items.map((k) => k.kid)).toEqual([key.kid, ...before.items.map((k) => k.kid)]);
  });

  it("turns problems into LatchkeyApiError with the server's status and code", async () => {
    const missing = await rejection(client.projects.get("no-such-project"));
    expect(missing).toBeInstanceOf(LatchkeyApiError);
    expect(missing).toMatchObject({ status: 404, code: "not_found", requestId: expect.any(String) });

    const invalid = (await rejection(
      client.serviceAccounts.create("default", { name: "Not A Label" }),
    )) as LatchkeyApiError;
    expect(invalid.status).toBe(400);
    expect(invalid.code).toBe("validation_failed");
    expect(invalid.errors.map((e) => e.field)).toContain("name");

    const revoked = await client.tokens.create("default", "bootstrap", {
      name: unique("gone"),
      ttl_seconds: 600,
    });
    await client.tokens.revoke(revoked.id);
    expect(await rejection(client.tokens.rotate(revoked.id))).toMatchObject({
      status: 409,
      code: "token_not_active",
    });

    const stranger = createAdminClient({ url: server.url, token: "lk_wrong", fetch: recordingFetch });
    expect(await rejection(stranger.whoami())).toMatchObject({ status: 401, code: "token_invalid" });

    const nowhere = createAdminClient({ url: `http://127.0.0.1:${await freePort()}`, token: "x" });
    expect(await rejection(nowhere.whoami())).toBeInstanceOf(ConnectionError);
    await expect(client.tokens.get("..")).rejects.toThrow(TypeError);
  });

  it("exercised every route of the client, and every request and answer matches the document", () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    ajv.addSchema({ $id: "https://latchkey.test/openapi.json", ...(closed(doc) as object) });
    const pointer = (...parts: string[]) =>
      `https://latchkey.test/openapi.json#/${parts.map((p) => p.replace(/~/g, "~0").replace(/\//g, "~1")).join("/")}`;

    const called = new Set(exchanges.map((e) => `${e.method} ${e.template}`));
    const notCalled = Object.values(ADMIN_ROUTES)
      .map(([method, path]) => `${method} ${path}`)
      .filter((route) => !called.has(route));
    expect(notCalled).toEqual([]);

    const problems: string[] = [];
    for (const e of exchanges) {
      const where = `${e.method} ${e.template} → ${e.status}`;
      const operation = doc.paths[e.template]?.[e.method.toLowerCase()];
      if (!operation) {
        problems.push(`${where}: not in the document`);
        continue;
      }
      const declared = (operation.parameters ?? []).filter((p) => p.in === "query").map((p) => p.name);
      for (const name of e.query)
        if (!declared.includes(name)) problems.push(`${where}: undeclared ?${name}`);
      // A 400 is the answer to a request made invalid on purpose.
      if (e.requestBody !== undefined && e.status !== 400) {
        const validate = ajv.getSchema(
          pointer(
            "paths",
            e.template,
            e.method.toLowerCase(),
            "requestBody",
            "content",
            "application/json",
            "schema",
          ),
        );
        if (!validate) problems.push(`${where}: no request body in the document`);
        else if (!validate(e.requestBody))
          problems.push(`${where}: request ${ajv.errorsText(validate.errors)}`);
      }
      const response = operation.responses[String(e.status)];
      if (!response) {
        problems.push(`${where}: status not in the document`);
        continue;
      }
      if (e.body === undefined) continue;
      const validate = ajv.getSchema(
        pointer(
          "paths",
          e.template,
          e.method.toLowerCase(),
          "responses",
          String(e.status),
          "content",
          "application/json",
          "schema",
        ),
      );
      if (!validate) problems.push(`${where}: an answer body the document does not describe`);
      else if (!validate(e.body)) problems.push(`${where}: ${ajv.errorsText(validate.errors)}`);
    }
    expect(problems).toEqual([]);
    expect(exchanges.length).toBeGreaterThan(40);
  });
});
