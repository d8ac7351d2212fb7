/**
 * Privilege escalation: every route of the running server (enumerated from /openapi.json, and from
 * Fastify's own route table for what the document hides) called by every kind of caller (role ×
 * scope × token access) against its own project and a foreign one, with existing, random and deleted
 * ids. The expected answer of each call comes from the authorization oracle written from the SPEC
 * (test/http/authorization/oracle.ts, shared with the policy matrix); 0 mismatches. Every 403 is
 * found in the audit log as a denial of the right action by the calling token.
 *
 * A route that this file does not know fails the test: a new route must say what guards it.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Action } from "../../../src/auth/policy.ts";
import {
  ACCESS,
  type Caller,
  effectiveRole,
  expectedOutcome,
  type Outcome,
  ROLES,
  SCOPES,
  type TargetAccount,
} from "../../http/authorization/oracle.ts";
import { type ApiResponse, startServer, type TestServer } from "../../helpers/server.ts";

type Location = "own" | "other";
/** existing: a live target; random: one that never existed; deleted: one that existed. */
type Variant = "existing" | "random" | "deleted";

interface Call {
  caller: Caller;
  token: string;
  tokenId: string;
  location: Location;
  variant: Variant;
  target: TargetAccount;
  n: number;
}

interface Prepared {
  method: string;
  path: string;
  body?: unknown;
  /** A path that must answer 404 after an allowed call and 200 after a refused one (deletes). */
  goneAfter?: string;
}

/** How a route is guarded. */
type Rule =
  /** Anyone, no credentials: discovery, health. */
  | { kind: "public"; path: string; ok: number }
  /** Any valid bearer token, whatever its role. */
  | { kind: "authenticated"; prepare: (c: Call) => Promise<Prepared>; ok: number }
  /** The calling token itself: read-write tokens only (SPEC §2 Self-service). */
  | { kind: "self"; prepare: (c: Call) => Promise<Prepared>; ok: number }
  /** A POLICY action on a target in a project (or the organization), decided by the oracle. */
  | {
      kind: "action";
      action: Action;
      /** Organization-level (no project), project, readable, or bounded by the target account (ceiling). */
      scope: "organization" | "project" | "ceiling";
      /** Which id the variants change: none (organization-level or create), project, account, token. */
      ids: "none" | "project" | "account" | "token";
      prepare: (c: Call) => Promise<Prepared>;
      ok: number | number[];
      /**
       * A token of a deleted account is not gone: it stays, revoked, as history (and as the id a
       * Terraform import reads). Calls on it are decided like calls on any revoked token (the
       * ghost account's role and scope bound them), and answered with this status when allowed.
       */
      onDeleted?: number;
    }
  /** Guarded by something other than a bearer token; covered where named. */
  | { kind: "elsewhere"; reason: string };

// ---------------------------------------------------------------------------------------------------
// Fixtures: callers in HOME; targets in HOME and AWAY.

const HOME = "priv-home";
const AWAY = "priv-away";
const LONG = process.env.LATCHKEY_HARDENING === "long";
/**
 * The target accounts that bound ceiling actions: the lowest and the highest in the short form,
 * every role × scope in the long form.
 */
const TARGETS: TargetAccount[] = LONG
  ? ROLES.flatMap((role) => SCOPES.map((scope) => ({ role, scope })))
  : [
      { role: "viewer", scope: "project" },
      { role: "owner", scope: "organization" },
    ];
/** The deleted account of each project (and its token, revoked with it). */
const GHOST: TargetAccount = { role: "viewer", scope: "project" };
const CALLERS: Caller[] = ROLES.flatMap((role) =>
  SCOPES.flatMap((scope) => ACCESS.map((access) => ({ role, scope, access }))),
);

let server: TestServer;
const callers = new Map<string, { token: string; tokenId: string }>();
const shared = new Map<string, { tokenId: string }>();
const gone = new Map<string, { project: string; account: string; tokenId: string }>();
let fresh = 0;

const key = (c: Caller) => `${c.role}/${c.scope}/${c.access}`;
const accountName = (t: TargetAccount) => `t-${t.role}-${t.scope === "project" ? "p" : "o"}`;
const projectOf = (c: Call) => (c.location === "own" ? HOME : AWAY);

async function admin(method: string, path: string, body?: unknown): Promise<ApiResponse> {
  const res = await server.api(method, path, { body });
  if (res.status >= 300) throw new Error(`fixture ${method} ${path}: ${res.status} ${res.text}`);
  return res;
}

async function account(project: string, name: string, t: TargetAccount): Promise<void> {
  await admin("POST", `/v1/projects/${project}/service-accounts`, { name, role: t.role, scope: t.scope });
}

async function token(project: string, name: string, access = "read-write") {
  const res = await admin("POST", `/v1/projects/${project}/service-accounts/${name}/tokens`, {
    name: `${name}-${++fresh}`,
    access,
  });
  return { token: res.body.token as string, tokenId: res.body.id as string };
}

/** The project, account and token names the variant asks for. */
function names(c: Call) {
  const project = projectOf(c);
  if (c.variant === "random") {
    return { project: `nx-${c.n}`, account: `nx-${c.n}`, tokenId: randomUUID() };
  }
  if (c.variant === "deleted") {
    const g = gone.get(project)!;
    return { project: `gone-${c.location}`, account: g.account, tokenId: g.tokenId, liveProject: project };
  }
  const account = accountName(c.target);
  return { project, account, tokenId: shared.get(`${project}/${account}`)!.tokenId };
}

// ---------------------------------------------------------------------------------------------------
// The route table: every METHOD and path of the server, and what guards it.

const saPath = (p: string, a: string) => `/v1/projects/${p}/service-accounts/${a}`;

const ROUTES: Record<string, Rule> = {
  "GET /healthz": { kind: "public", path: "/healthz", ok: 200 },
  "GET /readyz": { kind: "public", path: "/readyz", ok: 200 },
  "GET /metrics": { kind: "public", path: "/metrics", ok: 200 },
  "GET /openapi.json": { kind: "public", path: "/openapi.json", ok: 200 },
  "GET /.well-known/jwks.json": { kind: "public", path: "/.well-known/jwks.json", ok: 200 },
  "GET /.well-known/openid-configuration": {
    kind: "public",
    path: "/.well-known/openid-configuration",
    ok: 200,
  },
  "GET /.well-known/oauth-authorization-server": {
    kind: "public",
    path: "/.well-known/oauth-authorization-server",
    ok: 200,
  },
  "GET /v1/whoami": {
    kind: "authenticated",
    ok: 200,
    prepare: async () => ({ method: "GET", path: "/v1/whoami" }),
  },
  "GET /v1/auth/check": {
    kind: "authenticated",
    ok: 200,
    prepare: async () => ({ method: "GET", path: "/v1/auth/check" }),
  },
  "POST /apis/authentication.k8s.io/v1/tokenreviews": {
    kind: "authenticated",
    ok: 201,
    prepare: async () => ({
      method: "POST",
      path: "/apis/authentication.k8s.io/v1/tokenreviews",
      body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token: "lk_nothing" } },
    }),
  },
  "GET /v1/revocations/stream": {
    kind: "authenticated",
    ok: 200,
    prepare: async () => ({ method: "GET", path: "/v1/revocations/stream" }),
  },
  // Listing is reading: every caller may list, and sees only what it may see (checked below).
  "GET /v1/projects": {
    kind: "authenticated",
    ok: 200,
    prepare: async () => ({ method: "GET", path: "/v1/projects" }),
  },
  "GET /v1/tokens": {
    kind: "authenticated",
    ok: 200,
    prepare: async () => ({ method: "GET", path: "/v1/tokens" }),
  },
  "POST /v1/tokens/self/rotate": {
    kind: "self",
    ok: 201,
    prepare: async () => ({ method: "POST", path: "/v1/tokens/self/rotate", body: {} }),
  },
  "DELETE /v1/tokens/self": {
    kind: "self",
    ok: 204,
    prepare: async () => ({ method: "DELETE", path: "/v1/tokens/self" }),
  },
  "POST /v1/projects": {
    kind: "action",
    action: "project.create",
    scope: "organization",
    ids: "none",
    ok: 201,
    prepare: async (c) => ({ method: "POST", path: "/v1/projects", body: { name: `made-${c.n}` } }),
  },
  "GET /v1/projects/{project}": {
    kind: "action",
    action: "project.read",
    scope: "project",
    ids: "project",
    ok: 200,
    prepare: async (c) => ({ method: "GET", path: `/v1/projects/${names(c).project}` }),
  },
  "PATCH /v1/projects/{project}": {
    kind: "action",
    action: "project.update",
    scope: "project",
    ids: "project",
    ok: 200,
    prepare: async (c) => ({
      method: "PATCH",
      path: `/v1/projects/${names(c).project}`,
      body: { description: `case ${c.n}` },
    }),
  },
  "DELETE /v1/projects/{project}": {
    kind: "action",
    action: "project.delete",
    scope: "project",
    ids: "project",
    // The own project is never empty (the caller lives there): an allowed delete meets 409.
    ok: [204, 409],
    prepare: async (c) => {
      if (c.variant !== "existing" || c.location === "own") {
        return { method: "DELETE", path: `/v1/projects/${names(c).project}` };
      }
      const name = `doomed-${c.n}`;
      await admin("POST", "/v1/projects", { name });
      // Foreign: an empty project of its own is made visible... only to organization-scoped callers.
      return { method: "DELETE", path: `/v1/projects/${name}`, goneAfter: `/v1/projects/${name}` };
    },
  },
  "GET /v1/projects/{project}/service-accounts": {
    kind: "action",
    action: "service_account.read",
    scope: "project",
    ids: "project",
    ok: 200,
    prepare: async (c) => ({ method: "GET", path: `/v1/projects/${names(c).project}/service-accounts` }),
  },
  "POST /v1/projects/{project}/service-accounts": {
    kind: "action",
    action: "service_account.create",
    scope: "ceiling",
    ids: "project",
    ok: 201,
    prepare: async (c) => ({
      method: "POST",
      path: `/v1/projects/${names(c).project}/service-accounts`,
      body: { name: `new-${c.n}`, role: c.target.role, scope: c.target.scope },
    }),
  },
  "GET /v1/projects/{project}/service-accounts/{name}": {
    kind: "action",
    action: "service_account.read",
    scope: "project",
    ids: "account",
    ok: 200,
    prepare: async (c) => ({ method: "GET", path: saPath(projectOf(c), names(c).account) }),
  },
  "PATCH /v1/projects/{project}/service-accounts/{name}": {
    kind: "action",
    action: "service_account.update",
    scope: "ceiling",
    ids: "account",
    ok: 200,
    prepare: async (c) => ({
      method: "PATCH",
      path: saPath(projectOf(c), names(c).account),
      body: { description: `case ${c.n}` },
    }),
  },
  "DELETE /v1/projects/{project}/service-accounts/{name}": {
    kind: "action",
    action: "service_account.delete",
    scope: "ceiling",
    ids: "account",
    ok: 204,
    prepare: async (c) => {
      if (c.variant !== "existing") {
        return { method: "DELETE", path: saPath(projectOf(c), names(c).account) };
      }
      const name = `doomed-${c.n}`;
      await account(projectOf(c), name, c.target);
      const path = saPath(projectOf(c), name);
      return { method: "DELETE", path, goneAfter: path };
    },
  },
  "GET /v1/projects/{project}/service-accounts/{name}/tokens": {
    kind: "action",
    action: "token.read",
    scope: "project",
    ids: "account",
    ok: 200,
    prepare: async (c) => ({ method: "GET", path: `${saPath(projectOf(c), names(c).account)}/tokens` }),
  },
  "POST /v1/projects/{project}/service-accounts/{name}/tokens": {
    kind: "action",
    action: "token.create",
    scope: "ceiling",
    ids: "account",
    ok: 201,
    prepare: async (c) => ({
      method: "POST",
      path: `${saPath(projectOf(c), names(c).account)}/tokens`,
      body: { name: `minted-${c.n}` },
    }),
  },
  "POST /v1/projects/{project}/service-accounts/{name}/token-requests": {
    kind: "action",
    action: "token.create",
    scope: "ceiling",
    ids: "account",
    ok: 201,
    prepare: async (c) => ({
      method: "POST",
      path: `${saPath(projectOf(c), names(c).account)}/token-requests`,
      body: { audiences: ["https://priv.example"] },
    }),
  },
  "GET /v1/tokens/{id}": {
    kind: "action",
    action: "token.read",
    scope: "project",
    ids: "token",
    onDeleted: 200,
    ok: 200,
    prepare: async (c) => ({ method: "GET", path: `/v1/tokens/${names(c).tokenId}` }),
  },
  "PATCH /v1/tokens/{id}": {
    kind: "action",
    action: "token.update",
    scope: "ceiling",
    ids: "token",
    onDeleted: 200,
    ok: 200,
    prepare: async (c) => ({
      method: "PATCH",
      path: `/v1/tokens/${names(c).tokenId}`,
      body: { description: `case ${c.n}` },
    }),
  },
  "DELETE /v1/tokens/{id}": {
    kind: "action",
    action: "token.revoke",
    scope: "ceiling",
    ids: "token",
    onDeleted: 204,
    ok: 204,
    prepare: async (c) => {
      if (c.variant !== "existing") return { method: "DELETE", path: `/v1/tokens/${names(c).tokenId}` };
      const { tokenId } = await token(projectOf(c), accountName(c.target));
      return { method: "DELETE", path: `/v1/tokens/${tokenId}` };
    },
  },
  "POST /v1/tokens/{id}/rotate": {
    kind: "action",
    action: "token.rotate",
    scope: "ceiling",
    ids: "token",
    onDeleted: 409,
    ok: 201,
    prepare: async (c) => {
      if (c.variant !== "existing") {
        return { method: "POST", path: `/v1/tokens/${names(c).tokenId}/rotate`, body: {} };
      }
      const { tokenId } = await token(projectOf(c), accountName(c.target));
      return { method: "POST", path: `/v1/tokens/${tokenId}/rotate`, body: {} };
    },
  },
  "GET /v1/audit-events": {
    kind: "action",
    action: "audit.read",
    scope: "organization",
    ids: "none",
    ok: 200,
    prepare: async () => ({ method: "GET", path: "/v1/audit-events?limit=1" }),
  },
  "GET /v1/signing-keys": {
    kind: "action",
    action: "signing_key.read",
    scope: "organization",
    ids: "none",
    ok: 200,
    prepare: async () => ({ method: "GET", path: "/v1/signing-keys" }),
  },
  "POST /v1/signing-keys/rotate": {
    kind: "action",
    action: "signing_key.rotate",
    scope: "organization",
    ids: "none",
    ok: 201,
    prepare: async () => ({ method: "POST", path: "/v1/signing-keys/rotate" }),
  },
  "PUT /v1/projects/{project}/bound-objects/{kind}/{name}": {
    kind: "action",
    action: "bound_object.write",
    scope: "project",
    ids: "project",
    ok: [200, 201],
    prepare: async (c) => ({
      method: "PUT",
      path: `/v1/projects/${names(c).project}/bound-objects/Pod/obj-${c.n}`,
      body: { uid: `uid-${c.n}` },
    }),
  },
  "DELETE /v1/projects/{project}/bound-objects/{kind}/{name}": {
    kind: "action",
    action: "bound_object.write",
    scope: "project",
    ids: "project",
    ok: 204,
    prepare: async (c) => {
      if (c.variant !== "existing") {
        return { method: "DELETE", path: `/v1/projects/${names(c).project}/bound-objects/Pod/shared` };
      }
      const path = `/v1/projects/${projectOf(c)}/bound-objects/Pod/doomed-${c.n}`;
      await admin("PUT", path, { uid: `uid-${c.n}` });
      return { method: "DELETE", path };
    },
  },
  "POST /oauth2/token": {
    kind: "elsewhere",
    reason: "OAuth client authentication (the SA's own token as client secret): test/http/verification",
  },
  "POST /oauth2/introspect": {
    kind: "elsewhere",
    reason: "RFC 7662, any authenticated client: test/http/verification/oauth.test.ts",
  },
  "POST /oauth2/revoke": {
    kind: "elsewhere",
    reason: "RFC 7009 with its own admin rule: test/http/verification/oauth.test.ts",
  },
  // Hidden from /openapi.json: the browsable docs, the web UI (cookie sessions, test/http/ui).
  "GET /docs": { kind: "elsewhere", reason: "static API docs page" },
  "GET /docs/": { kind: "elsewhere", reason: "static API docs page" },
  "GET /docs/static/index.html": { kind: "elsewhere", reason: "static API docs page" },
  "GET /docs/static/swagger-initializer.js": { kind: "elsewhere", reason: "static API docs page" },
  "GET /docs/*": { kind: "elsewhere", reason: "static API docs assets" },
  "GET /docs/json": { kind: "elsewhere", reason: "the OpenAPI document again" },
  "GET /docs/yaml": { kind: "elsewhere", reason: "the OpenAPI document again" },
  "GET /ui": { kind: "elsewhere", reason: "web UI page: cookie session, test/http/ui" },
  // Fastify prints /ui/* (pages and assets) as a wildcard child of /ui.
  "GET /ui*": { kind: "elsewhere", reason: "web UI pages and assets: cookie session, test/http/ui" },
  "POST /ui/session": { kind: "elsewhere", reason: "web UI sign-in with a token: test/http/ui" },
  "GET /ui/session": { kind: "elsewhere", reason: "web UI session: test/http/ui" },
  "DELETE /ui/session": { kind: "elsewhere", reason: "web UI sign-out: test/http/ui" },
  "POST /ui*": { kind: "elsewhere", reason: "web UI catch-all (404 or 405)" },
  "PUT /ui*": { kind: "elsewhere", reason: "web UI catch-all (404 or 405)" },
  "PATCH /ui*": { kind: "elsewhere", reason: "web UI catch-all (404 or 405)" },
  "DELETE /ui*": { kind: "elsewhere", reason: "web UI catch-all (404 or 405)" },
};

/** Every METHOD and path of Fastify's route table (HEAD left out: it follows GET). */
function routeTable(printed: string): string[] {
  const out: string[] = [];
  const stack: string[] = [];
  for (const line of printed.split("\n")) {
    const m = /^((?:[│ ] {3})*)[├└]── (\S+) \(([^)]*)\)/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    stack.length = depth;
    const path = (depth > 0 ? stack[depth - 1]! : "") + m[2]!;
    stack[depth] = path;
    for (const method of m[3]!.split(", ")) {
      if (method !== "HEAD") out.push(`${method} ${path.replace(/:(\w+)/g, "{$1}")}`);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------

interface Mismatch {
  route: string;
  call: string;
  expected: string;
  got: string;
}

describe("privilege escalation: every route × every caller × own/foreign × existing/random/deleted", () => {
  let operations: string[] = [];
  let hidden: string[] = [];
  const mismatches: Mismatch[] = [];
  const denials: { requestId: string; action: Action; tokenId: string; what: string }[] = [];
  const tally = new Map<Outcome | "public" | "self" | "missing", number>();
  let calls = 0;
  let n = 0;

  beforeAll(async () => {
    server = await startServer();
    const doc = (await server.api("GET", "/openapi.json")).body;
    operations = Object.entries<any>(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    const all = routeTable(server.latchkey.app.printRoutes({ commonPrefix: false }));
    hidden = all.filter((r) => !operations.includes(r));
    for (const project of [HOME, AWAY]) {
      await admin("POST", "/v1/projects", { name: project });
      for (const t of TARGETS) {
        await account(project, accountName(t), t);
        shared.set(`${project}/${accountName(t)}`, await token(project, accountName(t)));
      }
      // A deleted account (and its token) in each project; a deleted project for each location.
      await account(project, "ghost", GHOST);
      const ghost = await token(project, "ghost");
      await admin("DELETE", saPath(project, "ghost"));
      gone.set(project, { project, account: "ghost", tokenId: ghost.tokenId });
      await admin("PUT", `/v1/projects/${project}/bound-objects/Pod/shared`, { uid: "shared" });
    }
    for (const location of ["own", "other"]) {
      await admin("POST", "/v1/projects", { name: `gone-${location}` });
      await admin("DELETE", `/v1/projects/gone-${location}`);
    }
    for (const role of ROLES) {
      for (const scope of SCOPES) {
        const name = `caller-${role}-${scope === "project" ? "p" : "o"}`;
        await account(HOME, name, { role, scope });
        for (const access of ACCESS) {
          const issued = await token(HOME, name, access);
          callers.set(key({ role, scope, access }), issued);
        }
      }
    }
  }, 120_000);

  afterAll(() => server?.close());

  it("knows every route of the server (a new route must say what guards it)", () => {
    expect(operations.length).toBeGreaterThan(30);
    const unknown = [...operations, ...hidden].filter((r) => !(r in ROUTES));
    expect(unknown, "routes missing from the ROUTES table of this file").toEqual([]);
    const stale = Object.keys(ROUTES).filter((r) => !operations.includes(r) && !hidden.includes(r));
    expect(stale, "routes in the table that the server no longer has").toEqual([]);
  });

  const record = (route: string, call: string, expected: string, got: string) => {
    calls += 1;
    if (expected !== got) mismatches.push({ route, call, expected, got });
  };

  /** The status class the oracle expects: allowed → the route's own, denied → 403, hidden → 404. */
  function expectedStatus(rule: Extract<Rule, { kind: "action" }>, c: Call): [string, Outcome | "missing"] {
    const location = rule.scope === "organization" ? undefined : c.location;
    const revoked = c.variant === "deleted" && rule.onDeleted !== undefined;
    const outcome = expectedOutcome({
      n: c.n,
      action: rule.action,
      caller: c.caller,
      location,
      target: rule.scope !== "ceiling" ? undefined : revoked ? GHOST : c.target,
    });
    if (outcome === "hidden") return ["404", "hidden"];
    if (revoked) return outcome === "denied" ? ["403", "denied"] : [String(rule.onDeleted), "allowed"];
    if (c.variant !== "existing" && rule.ids !== "none") return ["404", "missing"];
    if (outcome === "denied") return ["403", "denied"];
    const ok = Array.isArray(rule.ok) ? rule.ok : [rule.ok];
    return [ok.join("|"), "allowed"];
  }

  async function send(p: Prepared, token: string | null): Promise<ApiResponse> {
    if (p.path === "/v1/revocations/stream") {
      // A stream does not end: the status line is the answer.
      const controller = new AbortController();
      const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
      const res = await fetch(server.url + p.path, { headers, signal: controller.signal });
      controller.abort();
      return { status: res.status, headers: res.headers, body: undefined, text: "" };
    }
    return server.api(p.method, p.path, { token, body: p.body });
  }

  it("answers every call as the oracle says (0 mismatches)", async () => {
    const started = Date.now();
    for (const [route, rule] of Object.entries(ROUTES)) {
      if (!operations.includes(route) && !hidden.includes(route)) continue;
      if (rule.kind === "elsewhere") continue;
      if (rule.kind === "public") {
        for (const token of [null, callers.get("viewer/project/read-only")!.token]) {
          const res = await send({ method: "GET", path: rule.path }, token);
          record(route, token ? "viewer" : "no token", String(rule.ok), String(res.status));
          tally.set("public", (tally.get("public") ?? 0) + 1);
        }
        continue;
      }
      const base = { target: TARGETS[0]!, location: "own" as Location, variant: "existing" as Variant };
      // Without a token, and with a well-formed unknown one: 401 on every guarded route.
      {
        const c: Call = { ...base, caller: CALLERS[0]!, token: "", tokenId: "", n: ++n };
        const p = await rule.prepare(c);
        const none = await send(p, null);
        record(route, "no token", "401", String(none.status));
      }
      if (rule.kind === "authenticated" || rule.kind === "self") {
        for (const caller of CALLERS) {
          // Self-service retires the caller's token: each call gets a fresh one of the same kind.
          const who =
            rule.kind === "self"
              ? await token(
                  HOME,
                  `caller-${caller.role}-${caller.scope === "project" ? "p" : "o"}`,
                  caller.access,
                )
              : callers.get(key(caller))!;
          const c: Call = { ...base, caller, token: who.token, tokenId: who.tokenId, n: ++n };
          const res = await send(await rule.prepare(c), who.token);
          const allowed = rule.kind === "authenticated" || caller.access === "read-write";
          record(route, key(caller), allowed ? String(rule.ok) : "403", String(res.status));
          if (!allowed && res.status === 403) {
            denials.push({
              requestId: res.headers.get("x-request-id")!,
              action: route.includes("rotate") ? "token.rotate" : "token.revoke",
              tokenId: who.tokenId,
              what: `${route} by ${key(caller)}`,
            });
          }
          tally.set("self", (tally.get("self") ?? 0) + 1);
        }
        continue;
      }
      const targets = rule.scope === "ceiling" ? TARGETS : [TARGETS[0]!];
      const locations: Location[] = rule.scope === "organization" ? ["own"] : ["own", "other"];
      const variants: Variant[] = rule.ids === "none" ? ["existing"] : ["existing", "random", "deleted"];
      for (const caller of CALLERS) {
        const who = callers.get(key(caller))!;
        for (const target of targets) {
          for (const location of locations) {
            for (const variant of variants) {
              const c: Call = {
                caller,
                token: who.token,
                tokenId: who.tokenId,
                location,
                variant,
                target,
                n: ++n,
              };
              const [expected, outcome] = expectedStatus(rule, c);
              const p = await rule.prepare(c);
              const res = await send(p, who.token);
              const got = String(res.status);
              const what = `${key(caller)} on ${target.role}/${target.scope} in ${location} project, ${variant}`;
              record(
                route,
                what,
                expected,
                expected.split("|").includes(got) ? expected : `${got} ${res.text.slice(0, 160)}`,
              );
              tally.set(outcome, (tally.get(outcome) ?? 0) + 1);
              if (res.status === 403) {
                denials.push({
                  requestId: res.headers.get("x-request-id")!,
                  action: rule.action,
                  tokenId: who.tokenId,
                  what: `${route} by ${what}`,
                });
              }
              if (p.goneAfter) {
                const after = await server.api("GET", p.goneAfter);
                const removed = outcome === "allowed" && expected.includes("204") && res.status === 204;
                record(route, `${what}: still there after`, removed ? "404" : "200", String(after.status));
              }
            }
          }
        }
      }
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(
      `privilege escalation: ${calls} checks over ${Object.keys(ROUTES).length} routes in ${seconds} s ` +
        `(${[...tally].map(([k, v]) => `${k} ${v}`).join(", ")}); ${mismatches.length} mismatches; ` +
        `${denials.length} denials`,
    );
    const kinds = new Map<string, number>();
    for (const m of mismatches) {
      const k = `${m.route} [${m.call.replace(/^\S+ /, "").replace(/ on \S+/, "")}] expected ${m.expected} got ${m.got.slice(0, 3)}`;
      kinds.set(k, (kinds.get(k) ?? 0) + 1);
    }
    expect([...kinds].map(([k, v]) => `${v}× ${k}`)).toEqual([]);
    expect(mismatches).toEqual([]);
    expect(calls).toBeGreaterThan(1500);
    // The whoami of every caller agrees with the oracle's effective role.
    for (const caller of CALLERS) {
      const who = await server.api("GET", "/v1/whoami", { token: callers.get(key(caller))!.token });
      expect(who.body.effective_role).toBe(effectiveRole(caller));
    }
  }, 600_000);

  it("lists show a project-scoped caller nothing of a foreign project", async () => {
    const away = (await admin("GET", `/v1/projects/${AWAY}`)).body.id as string;
    for (const caller of CALLERS) {
      const token = callers.get(key(caller))!.token;
      const projects = await server.api("GET", "/v1/projects?limit=200", { token });
      expect(projects.status).toBe(200);
      const names = projects.body.items.map((p: any) => p.name);
      expect(names.includes(AWAY), `${key(caller)} lists ${AWAY}`).toBe(caller.scope === "organization");
      const tokens = await server.api("GET", "/v1/tokens?limit=200", { token });
      expect(tokens.status).toBe(200);
      const foreign = tokens.body.items.filter((t: any) => t.service_account.project === AWAY);
      expect(foreign.length > 0, `${key(caller)} lists tokens of ${AWAY}`).toBe(
        caller.scope === "organization",
      );
      for (const t of tokens.body.items) expect(t).not.toHaveProperty("token");
      const filtered = await server.api("GET", `/v1/tokens?project=${AWAY}`, { token });
      expect(filtered.status, filtered.text).toBe(caller.scope === "organization" ? 200 : 404);
      const audit = await server.api("GET", "/v1/audit-events?limit=500", { token });
      if (audit.status === 200) {
        const leaked = audit.body.items.filter((e: any) => e.project === AWAY || e.target?.id === away);
        expect(
          leaked.length === 0 || caller.scope === "organization",
          `${key(caller)} reads ${AWAY}'s audit`,
        ).toBe(true);
      }
    }
  });

  it('audits every 403 as an event with outcome "denied", the action and the calling token', async () => {
    expect(denials.length).toBeGreaterThan(100);
    const events = new Map<string, any>();
    let cursor: string | null = null;
    do {
      const query: string = `/v1/audit-events?outcome=denied&limit=500${cursor ? `&cursor=${cursor}` : ""}`;
      const page = await admin("GET", query);
      for (const event of page.body.items) if (event.request_id) events.set(event.request_id, event);
      cursor = page.body.next_cursor;
    } while (cursor);
    const missing = denials.filter((d) => {
      const event = events.get(d.requestId);
      return !(
        event?.outcome === "denied" &&
        event.action === d.action &&
        event.actor.token_id === d.tokenId
      );
    });
    expect(missing.map((d) => d.what)).toEqual([]);
  });
});
