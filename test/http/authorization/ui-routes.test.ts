/**
 * The routes added for the web UI, over real HTTP, for every kind of caller (role × token access ×
 * scope): GET /v1/tokens (visibility), creating a service account together with its first token
 * (the ceilings of both service_account.create and token.create), and web UI sessions (which act
 * with exactly the signing-in token's rights). Expected outcomes come from the SPEC oracle shared
 * with policy-matrix.test.ts (oracle.ts), not from src/auth/policy.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiResponse, rowCounts, startServer, type TestServer } from "../../helpers/server.ts";
import {
  ACCESS,
  type Caller,
  LOCATIONS,
  type Location,
  manageAccount,
  ROLES,
  SCOPES,
  type Scope,
  type TargetAccount,
  withinCeiling,
} from "./oracle.ts";

/**
 * Creating an account with its first token needs both service_account.create (manageAccount) and
 * token.create (withinCeiling, which manageAccount includes).
 */
const mayCreateWithToken = (c: Caller, t: TargetAccount): boolean =>
  manageAccount(c, t) && withinCeiling(c, t);

type Outcome = "allowed" | "denied" | "hidden";
function expected(c: Caller, t: TargetAccount, location: Location): Outcome {
  // §4 "a resource outside the caller's scope 404 (same as a missing one)".
  if (location === "other" && c.scope === "project") return "hidden";
  return mayCreateWithToken(c, t) ? "allowed" : "denied";
}

const CALLERS: Caller[] = ROLES.flatMap((role) =>
  SCOPES.flatMap((scope) => ACCESS.map((access) => ({ role, scope, access }))),
);
const TARGETS: TargetAccount[] = ROLES.flatMap((role) => SCOPES.map((scope) => ({ role, scope })));

const HOME = "ui-home";
const AWAY = "ui-away";
const short = (s: Scope) => (s === "project" ? "p" : "o");
const key = (c: Caller) => `${c.role}/${c.scope}/${c.access}`;

describe("web UI routes in the authorization model (SPEC §2, §4)", () => {
  let server: TestServer;
  const callers = new Map<string, { token: string; tokenId: string }>();

  async function admin(method: string, path: string, body?: unknown): Promise<ApiResponse> {
    const res = await server.api(method, path, { body });
    if (res.status >= 300) throw new Error(`fixture ${method} ${path}: ${res.status} ${res.text}`);
    return res;
  }

  /** Every token id in `project`, from the per-account lists (the long-standing API). */
  async function tokenIdsIn(project: string): Promise<string[]> {
    const ids: string[] = [];
    const accounts = await admin("GET", `/v1/projects/${project}/service-accounts?limit=500`);
    for (const a of accounts.body.items) {
      const page = await admin("GET", `/v1/projects/${project}/service-accounts/${a.name}/tokens?limit=500`);
      ids.push(...page.body.items.map((t: { id: string }) => t.id));
    }
    return ids;
  }

  async function listAll(token: string, query = ""): Promise<{ status: number; ids: string[] }> {
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const res: ApiResponse = await server.api(
        "GET",
        `/v1/tokens?limit=200${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
        { token },
      );
      if (res.status !== 200) return { status: res.status, ids };
      ids.push(...res.body.items.map((t: { id: string }) => t.id));
      cursor = res.body.next_cursor;
    } while (cursor);
    return { status: 200, ids };
  }

  beforeAll(async () => {
    server = await startServer();
    for (const project of [HOME, AWAY]) {
      await admin("POST", "/v1/projects", { name: project });
      await admin("POST", `/v1/projects/${project}/service-accounts`, { name: "resident" });
      await admin("POST", `/v1/projects/${project}/service-accounts/resident/tokens`, { name: "resident" });
    }
    for (const role of ROLES) {
      for (const scope of SCOPES) {
        const name = `caller-${role}-${short(scope)}`;
        await admin("POST", `/v1/projects/${HOME}/service-accounts`, { name, role, scope });
        for (const access of ACCESS) {
          const res = await admin("POST", `/v1/projects/${HOME}/service-accounts/${name}/tokens`, {
            name: access,
            access,
          });
          callers.set(key({ role, scope, access }), { token: res.body.token, tokenId: res.body.id });
        }
      }
    }
  });
  afterAll(() => server?.close());

  describe("GET /v1/tokens: every caller may list; a project-scoped caller sees its own project only", () => {
    for (const c of CALLERS) {
      it(key(c), async () => {
        const { token } = callers.get(key(c))!;
        const home = await tokenIdsIn(HOME);
        const everywhere = [...home, ...(await tokenIdsIn(AWAY)), ...(await tokenIdsIn("default"))];
        const listed = await listAll(token);
        expect(listed.status).toBe(200);
        expect(listed.ids.sort()).toEqual((c.scope === "organization" ? everywhere : home).sort());
        const away = await listAll(token, `&project=${AWAY}`);
        if (c.scope === "organization") {
          expect(away.status).toBe(200);
          expect(away.ids.sort()).toEqual((await tokenIdsIn(AWAY)).sort());
        } else {
          expect(away.status).toBe(404);
        }
      });
    }
  });

  describe("POST …/service-accounts with `token`: both ceilings; denied or hidden creates nothing", () => {
    let n = 0;
    for (const c of CALLERS)
      for (const location of LOCATIONS)
        for (const t of TARGETS) {
          const outcome = expected(c, t, location);
          it(`${key(c)} creates ${t.role}/${t.scope} with a token in ${location} project → ${outcome}`, async () => {
            const { token, tokenId } = callers.get(key(c))!;
            const project = location === "own" ? HOME : AWAY;
            const name = `made-${++n}`;
            const before = await rowCounts(server);
            const res = await server.api("POST", `/v1/projects/${project}/service-accounts`, {
              token,
              body: { name, role: t.role, scope: t.scope, token: { name: "first" } },
            });
            const status = { allowed: 201, denied: 403, hidden: 404 }[outcome];
            expect(res.status, res.text).toBe(status);
            const after = await server.api("GET", `/v1/projects/${project}/service-accounts/${name}`);
            if (outcome === "allowed") {
              expect(res.body.token.token).toMatch(/^lk_/);
              expect(after.status).toBe(200);
              expect(await rowCounts(server)).toEqual({
                ...before,
                service_accounts: before.service_accounts! + 1,
                tokens: before.tokens! + 1,
                audit_events: before.audit_events! + 2,
              });
            } else {
              expect(after.status).toBe(404);
              // A denial (and a hidden project: outside the caller's scope) leaves its audit event only.
              expect(await rowCounts(server)).toEqual({ ...before, audit_events: before.audit_events! + 1 });
              const denial = await server.latchkey.deps.db
                .selectFrom("audit_events")
                .selectAll()
                .where("request_id", "=", res.headers.get("x-request-id"))
                .executeTakeFirstOrThrow();
              expect(denial).toMatchObject({ outcome: "denied", actor_token_id: tokenId });
            }
          });
        }
  });

  describe("a web UI session has exactly its token's rights", () => {
    for (const c of CALLERS) {
      it(key(c), async () => {
        const { token } = callers.get(key(c))!;
        const signIn = await server.api("POST", "/ui/session", {
          token: null,
          body: { token },
          headers: { origin: server.url },
        });
        expect(signIn.status).toBe(201);
        const cookie = /^(latchkey_session=[^;]+)/.exec(signIn.headers.get("set-cookie") ?? "")![1]!;
        const headers = { cookie, origin: server.url, "x-csrf-token": signIn.body.csrf_token };
        const bearerWho = await server.api("GET", "/v1/whoami", { token });
        const sessionWho = await server.api("GET", "/v1/whoami", { token: null, headers });
        expect(sessionWho.body).toEqual(bearerWho.body);
        expect(signIn.body.whoami).toEqual(bearerWho.body);
        // One write at the edge of the ceiling: an account of the caller's own role and scope.
        const target = { role: c.role, scope: c.scope };
        const res = await server.api("POST", `/v1/projects/${HOME}/service-accounts`, {
          token: null,
          headers,
          body: { name: `session-${c.role}-${short(c.scope)}-${c.access}`, ...target },
        });
        expect(res.status, res.text).toBe(expected(c, target, "own") === "allowed" ? 201 : 403);
      });
    }
  });
});
