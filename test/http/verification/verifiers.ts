import * as jose from "jose";
import type { TestServer } from "../../helpers/server.ts";

/** The JWT's header and claims, unverified (tests read what the server wrote). */
export function decode(token: string): {
  header: jose.ProtectedHeaderParameters;
  claims: Record<string, any>;
} {
  return { header: jose.decodeProtectedHeader(token), claims: jose.decodeJwt(token) };
}

/** `POST …/token-requests` for `name` in `project`, as `token` (default: the bootstrap owner). */
export async function tokenRequest(
  server: TestServer,
  name: string,
  body: Record<string, unknown> = {},
  opts: { project?: string; token?: string } = {},
) {
  return server.api(
    "POST",
    `/v1/projects/${opts.project ?? "default"}/service-accounts/${name}/token-requests`,
    {
      token: opts.token,
      body,
    },
  );
}

/** RFC 7662 introspection with the bootstrap token as the caller: the parsed body and its exact text. */
export async function introspect(server: TestServer, token: string, caller = server.bootstrapToken) {
  const res = await fetch(`${server.url}/oauth2/introspect`, {
    method: "POST",
    headers: { authorization: `Bearer ${caller}` },
    body: new URLSearchParams({ token }),
  });
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text) as Record<string, any> };
}

/** A Kubernetes TokenReview, as kube-apiserver's webhook sends it; returns the response's status. */
export async function review(server: TestServer, token: string, audiences?: string[]) {
  const res = await server.api("POST", "/apis/authentication.k8s.io/v1/tokenreviews", {
    body: {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenReview",
      metadata: { creationTimestamp: null },
      spec: { token, ...(audiences ? { audiences } : {}) },
    },
  });
  if (res.status !== 201) throw new Error(`TokenReview: ${res.status} ${res.text}`);
  return res.body.status as {
    authenticated: boolean;
    user?: { username: string; uid: string; groups: string[]; extra: Record<string, string[]> };
    audiences?: string[];
    error?: string;
  };
}

/** `GET /v1/auth/check` as a reverse proxy calls it. */
export async function check(server: TestServer, token: string | null, query = "") {
  const res = await fetch(`${server.url}/v1/auth/check${query}`, {
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
  });
  const body = await res.text();
  return { status: res.status, headers: res.headers, body };
}

/** Whether every verification surface accepts the token (or every one refuses it): never a mix. */
export async function acceptedEverywhere(server: TestServer, token: string): Promise<boolean> {
  const [i, r, c, w] = await Promise.all([
    introspect(server, token),
    review(server, token),
    check(server, token),
    server.api("GET", "/v1/whoami", { token }),
  ]);
  const verdicts = [i.body.active === true, r.authenticated, c.status === 200, w.status === 200];
  if (verdicts.every(Boolean)) return true;
  if (verdicts.every((v) => !v)) {
    if (i.text !== '{"active":false}') throw new Error(`introspection of a refused token said ${i.text}`);
    return false;
  }
  throw new Error(`the surfaces disagree: introspect, review, check, whoami = ${verdicts.join(", ")}`);
}
