import { type AddressInfo } from "node:net";
import type { Server } from "node:http";
import { createIntrospectionClient, createVerifier, type Verifier } from "@latchkey/sdk";
import { latchkeyMiddleware } from "@latchkey/sdk/express";
import { latchkeyPlugin, latchkeyPreHandler } from "@latchkey/sdk/fastify";
import express from "express";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, startServer, type TestServer } from "../helpers/server.ts";
import { account, AUDIENCE, clientCredentialsToken, eventually, jwtFormatToken } from "./helpers.ts";

let latchkey: TestServer;
let verifier: Verifier;
let caller: Awaited<ReturnType<typeof account>>;

beforeAll(async () => {
  latchkey = await startServer();
  caller = await account(latchkey, { role: "contributor" });
  verifier = createVerifier({
    issuer: latchkey.url,
    audience: AUDIENCE,
    revocationFeed: { token: latchkey.bootstrapToken },
  });
  await verifier.ready;
});
afterAll(async () => {
  await verifier.close();
  await latchkey.close();
});

const get = async (url: string, token?: string) => {
  const response = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await response.text();
  return {
    status: response.status,
    challenge: response.headers.get("www-authenticate"),
    type: response.headers.get("content-type"),
    body: text ? JSON.parse(text) : undefined,
  };
};

/** The same expectations for both frameworks: 200 with claims, 401 with a Bearer challenge, 503 undecided. */
function behavesAsGuard(base: () => string, offline: () => string) {
  it("answers 401 with a bare Bearer challenge when there is no token", async () => {
    const res = await get(`${base()}/api/me`);
    expect(res.status).toBe(401);
    expect(res.challenge).toBe('Bearer realm="latchkey"');
    expect(res.type).toContain("application/problem+json");
    expect(res.body).toMatchObject({ status: 401, code: "unauthenticated" });
  });

  it("answers 401 with error=invalid_token for a token that does not verify", async () => {
    for (const token of ["garbage", caller.secret]) {
      const res = await get(`${base()}/api/me`, token);
      expect(res.status).toBe(401);
      expect(res.challenge).toMatch(
        /^Bearer realm="latchkey", error="invalid_token", error_description="[^"]+"$/,
      );
      expect(res.body.code).toBe("token_invalid");
    }
    const other = await jwtFormatToken(latchkey, caller.name, ["https://someone-else.example"]);
    expect((await get(`${base()}/api/me`, other.jwt)).status).toBe(401);
  });

  it("answers 200 and hands the claims to the route for a good JWT, and 401 once it is revoked", async () => {
    const { jwt, id } = await jwtFormatToken(latchkey, caller.name);
    const ok = await get(`${base()}/api/me`, jwt);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ sub: caller.id, jti: id, service_account: caller.name, aud: [AUDIENCE] });
    expect((await get(`${base()}/api/me`, await clientCredentialsToken(latchkey, caller))).status).toBe(200);

    expect((await latchkey.api("DELETE", `/v1/tokens/${id}`)).status).toBe(204);
    const refused = await eventually(async () => {
      const res = await get(`${base()}/api/me`, jwt);
      return res.status === 401 ? res : undefined;
    }, 1000);
    expect(refused.body.code).toBe("token_revoked");
    expect(refused.challenge).toContain('error="invalid_token"');
  });

  it("leaves public routes alone", async () => {
    expect((await get(`${base()}/public`)).status).toBe(200);
  });

  it("answers 503, not 401, when the token cannot be checked (issuer unreachable)", async () => {
    const { jwt } = await jwtFormatToken(latchkey, caller.name);
    const res = await get(`${offline()}/api/me`, jwt);
    expect(res.status).toBe(503);
    expect(res.challenge).toBeNull();
    expect(res.body.code).toBe("unavailable");
  });
}

describe("the Fastify plugin", () => {
  let app: FastifyInstance;
  let unreachable: FastifyInstance;
  let introspecting: FastifyInstance;

  const build = async (options: Parameters<typeof latchkeyPreHandler>[0]) => {
    const server = Fastify();
    server.get("/public", async () => ({ public: true }));
    await server.register(async (api) => {
      await api.register(latchkeyPlugin, options);
      api.get("/api/me", async (request) => request.latchkey);
    });
    // Route-level use, without the plugin.
    server.get(
      "/route-level",
      { preHandler: latchkeyPreHandler(options) },
      async (request) => request.latchkey,
    );
    await server.listen({ host: "127.0.0.1", port: 0 });
    return server;
  };
  const urlOf = (server: FastifyInstance) =>
    `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;

  beforeAll(async () => {
    app = await build({ verifier });
    unreachable = await build({
      verifier: createVerifier({ issuer: `http://127.0.0.1:${await freePort()}`, audience: AUDIENCE }),
    });
    introspecting = await build({
      introspection: createIntrospectionClient({
        issuer: latchkey.url,
        credentials: { token: caller.secret },
      }),
      audience: AUDIENCE,
    });
  });
  afterAll(async () => {
    await Promise.all([app.close(), unreachable.close(), introspecting.close()]);
  });

  behavesAsGuard(
    () => urlOf(app),
    () => urlOf(unreachable),
  );

  it("works as a route's preHandler too", async () => {
    const { jwt } = await jwtFormatToken(latchkey, caller.name);
    expect((await get(`${urlOf(app)}/route-level`)).status).toBe(401);
    expect((await get(`${urlOf(app)}/route-level`, jwt)).body).toMatchObject({ sub: caller.id });
  });

  it("with introspection, accepts opaque tokens and refuses revoked ones at once", async () => {
    const other = await account(latchkey);
    const ok = await get(`${urlOf(introspecting)}/api/me`, other.secret);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ sub: other.id, jti: other.secretId, aud: [] });
    expect((await latchkey.api("DELETE", `/v1/tokens/${other.secretId}`)).status).toBe(204);
    const refused = await get(`${urlOf(introspecting)}/api/me`, other.secret);
    expect(refused.status).toBe(401);
    expect(refused.body.code).toBe("token_invalid");
    // A JWT for another audience is refused by introspection mode as well.
    const foreign = await jwtFormatToken(latchkey, caller.name, ["https://someone-else.example"]);
    expect((await get(`${urlOf(introspecting)}/api/me`, foreign.jwt)).status).toBe(401);
  });
});

describe("the Express middleware", () => {
  let app: Server;
  let unreachable: Server;

  const build = async (options: Parameters<typeof latchkeyMiddleware>[0]) => {
    const server = express();
    server.get("/public", (_req, res) => {
      res.json({ public: true });
    });
    server.use("/api", latchkeyMiddleware(options));
    server.get("/api/me", (req, res) => {
      res.json(req.latchkey);
    });
    const listening = server.listen(0, "127.0.0.1");
    await new Promise<void>((resolve) => listening.once("listening", () => resolve()));
    return listening;
  };
  const urlOf = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = (server: Server) =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });

  beforeAll(async () => {
    app = await build({ verifier });
    unreachable = await build({
      verifier: createVerifier({ issuer: `http://127.0.0.1:${await freePort()}`, audience: AUDIENCE }),
    });
  });
  afterAll(async () => {
    await Promise.all([close(app), close(unreachable)]);
  });

  behavesAsGuard(
    () => urlOf(app),
    () => urlOf(unreachable),
  );
});
