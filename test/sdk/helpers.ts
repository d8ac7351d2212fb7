import { type TestServer } from "../helpers/server.ts";

export const AUDIENCE = "https://orders.example";

let n = 0;
/** A name no other test in the process has used. */
export const unique = (prefix: string) => `${prefix}-${process.pid}-${++n}`;

/** A service account of role `role` in `default`, with one opaque token that may be used as a client secret. */
export async function account(
  server: TestServer,
  opts: { role?: string; audiences?: string[] } = {},
): Promise<{ name: string; email: string; id: string; secret: string; secretId: string }> {
  const name = unique("sdk");
  const sa = await server.api("POST", "/v1/projects/default/service-accounts", {
    body: { name, role: opts.role ?? "viewer" },
  });
  if (sa.status !== 201) throw new Error(`creating ${name}: ${sa.status} ${sa.text}`);
  const token = await server.api("POST", `/v1/projects/default/service-accounts/${name}/tokens`, {
    body: { name: "secret", ...(opts.audiences ? { audiences: opts.audiences } : {}) },
  });
  if (token.status !== 201) throw new Error(`token for ${name}: ${token.status} ${token.text}`);
  return { name, email: sa.body.email, id: sa.body.id, secret: token.body.token, secretId: token.body.id };
}

/** A JWT-format token (`format: jwt`) for `audiences`; returns the JWT and its id (= its jti). */
export async function jwtFormatToken(
  server: TestServer,
  accountName: string,
  audiences: string[] = [AUDIENCE],
): Promise<{ jwt: string; id: string }> {
  const res = await server.api("POST", `/v1/projects/default/service-accounts/${accountName}/tokens`, {
    body: { name: unique("jwt"), format: "jwt", audiences },
  });
  if (res.status !== 201) throw new Error(`jwt token: ${res.status} ${res.text}`);
  return { jwt: res.body.token, id: res.body.id };
}

/** A token-request JWT (Kubernetes TokenRequest semantics), optionally bound to an object. */
export async function requestedToken(
  server: TestServer,
  accountName: string,
  body: Record<string, unknown> = { audiences: [AUDIENCE] },
): Promise<string> {
  const res = await server.api(
    "POST",
    `/v1/projects/default/service-accounts/${accountName}/token-requests`,
    {
      body,
    },
  );
  if (res.status !== 201) throw new Error(`token request: ${res.status} ${res.text}`);
  return res.body.token;
}

/** An OAuth 2.0 client_credentials JWT: the client is the account's email, the secret its opaque token. */
export async function clientCredentialsToken(
  server: TestServer,
  client: { email: string; secret: string },
  audience = AUDIENCE,
): Promise<string> {
  const response = await fetch(`${server.url}/oauth2/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "client_credentials",
      client_id: client.email,
      client_secret: client.secret,
      audience,
    }),
  });
  const body = (await response.json()) as { access_token?: string };
  if (response.status !== 200 || !body.access_token) {
    throw new Error(`client_credentials: ${response.status} ${JSON.stringify(body)}`);
  }
  return body.access_token;
}

/** Revokes any token through RFC 7009, as the bootstrap owner. */
export async function oauthRevoke(server: TestServer, token: string): Promise<number> {
  const response = await fetch(`${server.url}/oauth2/revoke`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${server.bootstrapToken}`,
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ token }),
  });
  await response.arrayBuffer();
  return response.status;
}

/** Polls `check` until it returns a value other than undefined, or throws after `limitMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, limitMs = 2000): Promise<T> {
  const start = performance.now();
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (performance.now() - start > limitMs) throw new Error(`not within ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** What `promise` rejected with (fails the test if it resolved). */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}
