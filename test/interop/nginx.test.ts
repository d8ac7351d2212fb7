import { type IncomingHttpHeaders, type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateOpaqueToken } from "../../src/tokens/format.ts";
import { type Latchkey, revokeToken, startLatchkey } from "./helpers/latchkey.ts";
import { type Nginx, startNginx } from "./helpers/nginx.ts";
import { docSnippet } from "./helpers/snippets.ts";

/**
 * nginx (Debian's package) in front of a small application, with `auth_request` asking Latchkey's
 * `/v1/auth/check`: the server block is the one docs/verifying-tokens.md shows, read from it, with
 * only the ports changed.
 */

interface Seen {
  path: string;
  headers: IncomingHttpHeaders;
}

/** The protected application: answers 200 with what nginx forwarded, and remembers each request. */
async function startApplication(): Promise<{ server: Server; port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    seen.push({ path: req.url ?? "", headers: req.headers });
    const latchkey = Object.fromEntries(
      Object.entries(req.headers).filter(([k]) => k.startsWith("x-latchkey-")),
    );
    res
      .writeHead(200, { "content-type": "application/json" })
      .end(JSON.stringify({ path: req.url, latchkey }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port, seen };
}

const REPORTS_AUDIENCE = "https://reports.example.com";

describe("nginx auth_request in front of an application, asking Latchkey", () => {
  let lk: Latchkey;
  let nginx: Nginx;
  let app: Awaited<ReturnType<typeof startApplication>>;
  let accountId: string;
  const tokens: Record<string, { token: string; id: string }> = {};

  const get = async (path: string, token?: string, headers: Record<string, string> = {}) => {
    const res = await fetch(nginx.url + path, {
      headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: res.status === 200 ? JSON.parse(text) : text };
  };

  beforeAll(async () => {
    lk = await startLatchkey();
    app = await startApplication();
    const account = await lk.api("POST", "/v1/projects/default/service-accounts", {
      name: "orders-client",
      role: "viewer",
    });
    expect(account.status).toBe(201);
    accountId = account.body.id;
    const make = async (name: string, body: Record<string, unknown>) => {
      const res = await lk.api("POST", "/v1/projects/default/service-accounts/orders-client/tokens", {
        name,
        ...body,
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      tokens[name] = { token: res.body.token, id: res.body.id };
    };
    await make("read-write", { access: "read-write" });
    await make("read-only", { access: "read-only" });
    await make("jwt", { format: "jwt", access: "read-write" });
    await make("jwt-reports", { format: "jwt", access: "read-only", audiences: [REPORTS_AUDIENCE] });
    await make("to-revoke", {});
    await make("jwt-to-revoke", { format: "jwt" });

    const site = docSnippet("nginx");
    expect(site).toContain("auth_request /_latchkey;");
    nginx = await startNginx(
      (port) =>
        site
          .replaceAll("127.0.0.1:8080", `127.0.0.1:${new URL(lk.url).port}`)
          .replaceAll("127.0.0.1:3000", `127.0.0.1:${app.port}`)
          .replaceAll("127.0.0.1:8000", `127.0.0.1:${port}`),
      "/healthz",
    );
  });

  afterAll(async () => {
    await nginx?.stop();
    await lk?.close();
    await new Promise((resolve) => app?.server.close(resolve));
  });

  const identity = (name: string, access: string) => ({
    "x-latchkey-subject": accountId,
    "x-latchkey-project": "default",
    "x-latchkey-service-account": "orders-client",
    "x-latchkey-email": "orders-client@default.serviceaccounts.latchkey",
    "x-latchkey-token-id": tokens[name]!.id,
    "x-latchkey-access": access,
  });

  it("lets a valid token through with the caller's identity, replacing identity headers a client sent", async () => {
    const res = await get("/orders/42", tokens["read-write"]!.token, {
      "X-Latchkey-Subject": "someone-else",
      "X-Latchkey-Access": "read-write",
    });
    expect(res.status, nginx.errorLog()).toBe(200);
    expect(res.body).toEqual({ path: "/orders/42", latchkey: identity("read-write", "read-write") });
  });

  it("lets a JWT-format token through the same way", async () => {
    const res = await get("/orders", tokens.jwt!.token);
    expect(res.status).toBe(200);
    expect(res.body.latchkey).toEqual(identity("jwt", "read-write"));
  });

  it("answers 401 with WWW-Authenticate: Bearer for no token, a bad one or an unknown one; the application never sees them", async () => {
    const before = app.seen.length;
    const attempts: Array<[string, Record<string, string>]> = [
      ["no Authorization header", {}],
      ["another scheme", { authorization: "Basic b3JkZXJzOnNlY3JldA==" }],
      ["a malformed token", { authorization: "Bearer not-a-token" }],
      [
        "a checksum that does not match",
        { authorization: `Bearer ${tokens["read-write"]!.token.slice(0, -1)}x` },
      ],
      ["a well-formed token Latchkey never issued", { authorization: `Bearer ${generateOpaqueToken()}` }],
      ["a JWT with a broken signature", { authorization: `Bearer ${tokens.jwt!.token.slice(0, -4)}AAAA` }],
    ];
    for (const [what, headers] of attempts) {
      const res = await get("/orders", undefined, headers);
      expect(res.status, what).toBe(401);
      expect(res.headers.get("www-authenticate"), what).toBe("Bearer");
    }
    expect(app.seen.length).toBe(before);
  });

  it("refuses a revoked token on the very next request (opaque and JWT-format)", async () => {
    for (const name of ["to-revoke", "jwt-to-revoke"]) {
      const { token, id } = tokens[name]!;
      expect((await get("/orders", token)).status, `${name} before`).toBe(200);
      await revokeToken(lk, id);
      expect((await get("/orders", token)).status, `${name} after`).toBe(401);
    }
  });

  it("?access=read-write on /admin/: 403 for a read-only token, whatever the client's query says; 200 for read-write", async () => {
    const before = app.seen.length;
    expect((await get("/admin/orders", tokens["read-only"]!.token)).status).toBe(403);
    expect((await get("/admin/orders?access=read-only", tokens["read-only"]!.token)).status).toBe(403);
    expect((await get("/admin/orders", tokens["jwt-reports"]!.token)).status).toBe(401);
    expect(app.seen.length).toBe(before);
    const res = await get("/admin/orders", tokens["read-write"]!.token);
    expect(res.status).toBe(200);
    expect(res.body.latchkey["x-latchkey-access"]).toBe("read-write");
    // Elsewhere, read-only is enough.
    expect((await get("/orders", tokens["read-only"]!.token)).status).toBe(200);
  });

  it("?audience= on /reports/: a JWT for that audience passes there and not elsewhere", async () => {
    const reportsJwt = tokens["jwt-reports"]!.token;
    const res = await get("/reports/daily", reportsJwt);
    expect(res.status).toBe(200);
    expect(res.body.latchkey).toEqual(identity("jwt-reports", "read-only"));
    expect((await get("/orders", reportsJwt)).status, "a JWT for another audience").toBe(401);
    expect((await get("/reports/daily", tokens.jwt!.token)).status, "a JWT for Latchkey's own issuer").toBe(
      401,
    );
    expect((await get("/reports/daily", tokens["read-only"]!.token)).status, "an opaque token").toBe(200);
  });

  it("passes no identity to a public location, not even one a client made up", async () => {
    const res = await get("/healthz", undefined, { "X-Latchkey-Subject": "made-up" });
    expect(res.status).toBe(200);
    expect(res.body.latchkey).toEqual({});
  });

  it("keeps the check location internal", async () => {
    expect((await get("/_latchkey", tokens["read-write"]!.token)).status).toBe(404);
  });

  // Last: it stops Latchkey.
  it("fails closed when Latchkey is down: 500, and the application sees nothing", async () => {
    await lk.stop();
    const before = app.seen.length;
    expect((await get("/orders", tokens["read-write"]!.token)).status).toBe(500);
    expect(app.seen.length).toBe(before);
  });
});
