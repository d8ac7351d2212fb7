import {
  ConnectionError,
  createIntrospectionClient,
  IntrospectionFailedError,
  type IntrospectionResponse,
} from "@latchkey/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, startServer, type TestServer } from "../helpers/server.ts";
import {
  account,
  AUDIENCE,
  clientCredentialsToken,
  jwtFormatToken,
  rejection,
  requestedToken,
} from "./helpers.ts";

describe("the introspection client", () => {
  let server: TestServer;
  let caller: Awaited<ReturnType<typeof account>>;
  beforeAll(async () => {
    server = await startServer();
    caller = await account(server, { role: "contributor" });
  });
  afterAll(() => server.close());

  const withBearer = () =>
    createIntrospectionClient({ issuer: server.url, credentials: { token: caller.secret } });

  it("describes an active opaque token", async () => {
    const other = await account(server);
    const result = await withBearer().introspect(other.secret);
    expect(result).toEqual<IntrospectionResponse>({
      active: true,
      token_type: "Bearer",
      scope: "read write",
      client_id: other.email,
      username: other.email,
      sub: other.id,
      aud: [],
      iss: server.url,
      jti: other.secretId,
      iat: expect.any(Number),
      exp: expect.any(Number),
      project: "default",
      service_account: other.name,
      access: "read-write",
      token_format: "opaque",
    });
  });

  it("describes JWT-format, token-request and client_credentials JWTs", async () => {
    const client = withBearer();
    const { jwt, id } = await jwtFormatToken(server, caller.name);
    expect(await client.introspect(jwt)).toMatchObject({
      active: true,
      jti: id,
      token_format: "jwt",
      aud: [AUDIENCE],
    });
    expect(await client.introspect(await requestedToken(server, caller.name))).toMatchObject({
      active: true,
      sub: caller.id,
    });
    expect(await client.introspect(await clientCredentialsToken(server, caller))).toMatchObject({
      active: true,
      client_id: caller.email,
    });
  });

  it("answers exactly { active: false } for revoked, unknown and malformed tokens", async () => {
    const client = withBearer();
    const other = await account(server);
    expect((await server.api("DELETE", `/v1/tokens/${other.secretId}`)).status).toBe(204);
    expect(await client.introspect(other.secret)).toEqual({ active: false });
    expect(await client.introspect("lk_not-a-token")).toEqual({ active: false });
    expect(await client.introspect("")).toEqual({ active: false });
  });

  it("authenticates with client_secret_basic as well", async () => {
    const client = createIntrospectionClient({
      issuer: server.url,
      credentials: { clientId: caller.email, clientSecret: caller.secret },
    });
    expect(await client.introspect(caller.secret)).toMatchObject({ active: true, sub: caller.id });
    const byId = createIntrospectionClient({
      issuer: server.url,
      credentials: { clientId: caller.id, clientSecret: caller.secret },
    });
    expect(await byId.introspect(caller.secret)).toMatchObject({ active: true });
  });

  it("reports refused credentials as IntrospectionFailedError with the OAuth error", async () => {
    const client = createIntrospectionClient({
      issuer: server.url,
      credentials: { clientId: caller.email, clientSecret: "lk_wrong" },
    });
    const error = await rejection(client.introspect(caller.secret));
    expect(error).toBeInstanceOf(IntrospectionFailedError);
    expect(error).toMatchObject({ status: 401, error: "invalid_client", code: "ERR_INTROSPECTION_FAILED" });
  });

  it("reports an unreachable server as ConnectionError", async () => {
    const client = createIntrospectionClient({
      issuer: `http://127.0.0.1:${await freePort()}`,
      credentials: { token: caller.secret },
    });
    expect(await rejection(client.introspect(caller.secret))).toBeInstanceOf(ConnectionError);
  });
});
