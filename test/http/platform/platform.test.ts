import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/lib/clock.ts";
import { startServer, type TestServer } from "../../helpers/server.ts";

describe("health, metrics and the API description", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.close());

  it("answers liveness and readiness without credentials", async () => {
    expect((await server.api("GET", "/healthz", { token: null })).body).toEqual({ status: "ok" });
    expect((await server.api("GET", "/readyz", { token: null })).body).toEqual({ status: "ready" });
  });

  it("exposes Prometheus metrics labelled by route pattern", async () => {
    await server.api("GET", "/v1/whoami");
    await server.api("GET", "/v1/whoami", { token: "lk_nope" });
    const res = await server.api("GET", "/metrics", { token: null });
    expect(res.headers.get("content-type")).toContain("text/plain");
    expect(res.text).toMatch(
      /latchkey_http_requests_total\{method="GET",route="\/v1\/whoami",status="200"\} \d+/,
    );
    expect(res.text).toMatch(/latchkey_authentications_total\{result="success"\} \d+/);
    expect(res.text).toMatch(/latchkey_authentications_total\{result="token_invalid"\} \d+/);
    expect(res.text).toContain("latchkey_process_cpu_seconds_total");
  });

  it("describes every route in OpenAPI 3 and serves a browsable page", async () => {
    const res = await server.api("GET", "/openapi.json", { token: null });
    expect(res.status).toBe(200);
    expect(res.body.openapi).toMatch(/^3\./);
    const paths = res.body.paths as Record<string, Record<string, unknown>>;
    const expected: [string, string[]][] = [
      ["/healthz", ["get"]],
      ["/readyz", ["get"]],
      ["/v1/whoami", ["get"]],
      ["/v1/projects", ["get", "post"]],
      ["/v1/projects/{project}", ["get", "patch", "delete"]],
      ["/v1/projects/{project}/service-accounts", ["get", "post"]],
      ["/v1/projects/{project}/service-accounts/{name}", ["get", "patch", "delete"]],
      ["/v1/projects/{project}/service-accounts/{name}/tokens", ["get", "post"]],
      ["/v1/tokens/{id}", ["get", "patch", "delete"]],
      ["/v1/tokens/{id}/rotate", ["post"]],
      ["/v1/tokens/self/rotate", ["post"]],
      ["/v1/tokens/self", ["delete"]],
      ["/v1/audit-events", ["get"]],
    ];
    for (const [path, methods] of expected) {
      expect(Object.keys(paths[path] ?? {}).sort(), path).toEqual([...methods].sort());
    }
    const create = paths["/v1/projects/{project}/service-accounts/{name}/tokens"]?.post as any;
    const schema = create.requestBody.content["application/json"].schema;
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining([
        "name",
        "description",
        "owner",
        "access",
        "format",
        "audiences",
        "ttl_seconds",
        "labels",
      ]),
    );
    expect(schema.additionalProperties).toBe(false);
    const docs = await fetch(`${server.url}/docs/`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain("swagger");
  });

  it("answers unknown routes with a problem", async () => {
    const res = await server.api("GET", "/v2/nothing", { token: null });
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(res.body.code).toBe("route_not_found");
  });
});

describe("failed authentications", () => {
  it("are limited per client address: 429 with Retry-After, until the window ends", async () => {
    const clock = new ManualClock();
    const server = await startServer({ clock, failedAuthLimit: { maxFailures: 5, windowSeconds: 60 } });
    try {
      for (let i = 0; i < 5; i++) {
        expect((await server.api("GET", "/v1/whoami", { token: `lk_guess${i}` })).status).toBe(401);
      }
      clock.advance(10);
      const limited = await server.api("GET", "/v1/whoami", { token: "lk_guess" });
      expect(limited.status).toBe(429);
      expect(limited.body.code).toBe("too_many_failed_authentications");
      expect(limited.headers.get("retry-after")).toBe("50");
      // Even a good token waits: the address is blocked, not the token.
      expect((await server.api("GET", "/v1/whoami")).status).toBe(429);
      clock.advance(50);
      expect((await server.api("GET", "/v1/whoami")).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it("successful requests never count", async () => {
    const server = await startServer({ failedAuthLimit: { maxFailures: 3, windowSeconds: 60 } });
    try {
      for (let i = 0; i < 20; i++) expect((await server.api("GET", "/v1/whoami")).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it("are told apart: missing, malformed, unknown", async () => {
    const server = await startServer();
    try {
      const missing = await server.api("GET", "/v1/whoami", { token: null });
      expect(missing.status).toBe(401);
      expect(missing.body.code).toBe("unauthenticated");
      expect(missing.headers.get("www-authenticate")).toBe("Bearer");
      const last = server.bootstrapToken.slice(-1);
      const changed = `${server.bootstrapToken.slice(0, -1)}${last === "x" ? "y" : "x"}`;
      const malformed = await server.api("GET", "/v1/whoami", { token: changed });
      expect(malformed.body.code).toBe("token_invalid");
      expect(malformed.body.detail).toContain("checksum");
    } finally {
      await server.close();
    }
  });
});
