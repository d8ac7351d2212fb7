/**
 * The authorization matrix: every action of the POLICY table, performed over real HTTP by every kind of
 * caller (role × token access × scope) against every kind of target (role × scope × own/other project).
 *
 * The expected outcome of each case comes from `specAllows` in ./oracle.ts, written from SPEC.md §1–§2 and §4 in
 * the SPEC's own words. It deliberately does not call `decide` (or read POLICY's minRole/ceiling): the
 * implementation is checked against the SPEC, not against itself. POLICY is used only for its keys, so
 * that a new action without a SPEC rule and an HTTP request here fails the type check and this test.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Action, POLICY } from "../../../src/auth/policy.ts";
import { type ApiResponse, startServer, type TestServer } from "../../helpers/server.ts";
import {
  ACCESS,
  type Access,
  type Case,
  type Caller,
  effectiveRole,
  expectedOutcome,
  LOCATIONS,
  type Outcome,
  ROLES,
  SCOPES,
  type Scope,
  specAllows,
  type TargetAccount,
} from "./oracle.ts";

// ---------------------------------------------------------------------------------------------------
// The cases.

const CALLERS: Caller[] = ROLES.flatMap((role) =>
  SCOPES.flatMap((scope) => ACCESS.map((access) => ({ role, scope, access }))),
);
const TARGETS: TargetAccount[] = ROLES.flatMap((role) => SCOPES.map((scope) => ({ role, scope })));
const ACTIONS = Object.keys(POLICY) as Action[];

function buildCases(): Case[] {
  const cases: Case[] = [];
  const add = (c: Omit<Case, "n">) => cases.push({ n: cases.length, ...c });
  for (const action of ACTIONS) {
    const { kind } = specAllows[action];
    for (const caller of CALLERS) {
      if (kind === "organization") add({ action, caller });
      else if (kind === "ceiling") {
        for (const location of LOCATIONS)
          for (const target of TARGETS) add({ action, caller, location, target });
      } else for (const location of LOCATIONS) add({ action, caller, location });
    }
  }
  return cases;
}
const CASES = buildCases();

/**
 * 16 callers × (4 organization-level + 2 × 5 project/readable + 2 × 8 × 7 ceiling) actions = 2000.
 * A smaller table fails this test.
 */
const MIN_CASES = 2000;

// ---------------------------------------------------------------------------------------------------
// Fixtures: one server; callers in project HOME; targets in HOME and AWAY.

const HOME = "matrix-home";
const AWAY = "matrix-away";
const short = (scope: Scope) => (scope === "project" ? "p" : "o");
const callerKey = (c: Caller) => `${c.role}/${c.scope}/${c.access}`;
const sharedAccount = (t: TargetAccount) => `t-${t.role}-${short(t.scope)}`;
const projectOf = (c: Case) => (c.location === "other" ? AWAY : HOME);

let server: TestServer;
const callerTokens = new Map<string, { token: string; tokenId: string; name: string }>();
/** A long-lived token of each shared target account, by `${project}/${account}`: read and update. */
const sharedTokens = new Map<string, string>();

/** Fixture calls go through the bootstrap owner and must succeed. */
async function admin(method: string, path: string, body?: unknown): Promise<ApiResponse> {
  const res = await server.api(method, path, { body });
  if (res.status >= 300) throw new Error(`fixture ${method} ${path}: ${res.status} ${res.text}`);
  return res;
}

async function createAccount(project: string, name: string, t: TargetAccount): Promise<void> {
  await admin("POST", `/v1/projects/${project}/service-accounts`, { name, role: t.role, scope: t.scope });
}

async function createToken(project: string, account: string, access: Access = "read-write") {
  const res = await admin("POST", `/v1/projects/${project}/service-accounts/${account}/tokens`, {
    name: `${account}-token`,
    access,
  });
  return { token: res.body.token as string, tokenId: res.body.id as string };
}

const targetOf = (c: Case): TargetAccount => c.target ?? { role: "viewer", scope: "project" };

interface Performed {
  res: ApiResponse;
  /** After the request: checks the change happened exactly when it was allowed. */
  check?: (allowed: boolean) => Promise<void>;
}

type Perform = (c: Case, token: string) => Promise<Performed>;

/** The real HTTP request of each action, and the status it answers with when allowed. */
const REQUESTS: Record<Action, { ok: number; perform: Perform }> = {
  "signing_key.read": {
    ok: 200,
    perform: async (_c, token) => ({ res: await server.api("GET", "/v1/signing-keys", { token }) }),
  },
  "signing_key.rotate": {
    ok: 201,
    perform: async (_c, token) => {
      const before = (await server.api("GET", "/v1/signing-keys")).body.items.length as number;
      const res = await server.api("POST", "/v1/signing-keys/rotate", { token });
      return {
        res,
        check: async (allowed) => {
          const after = (await server.api("GET", "/v1/signing-keys")).body.items.length as number;
          expect(after).toBe(before + (allowed ? 1 : 0));
        },
      };
    },
  },
  "bound_object.write": {
    ok: 200,
    perform: async (c, token) => ({
      res: await server.api("PUT", `/v1/projects/${projectOf(c)}/bound-objects/Pod/case-${c.n}`, {
        token,
        body: { uid: `uid-${c.n}` },
      }),
    }),
  },
  "project.read": {
    ok: 200,
    perform: async (c, token) => ({
      res: await server.api("GET", `/v1/projects/${projectOf(c)}`, { token }),
    }),
  },
  "project.create": {
    ok: 201,
    perform: async (c, token) => {
      const name = `created-${c.n}`;
      const res = await server.api("POST", "/v1/projects", { token, body: { name } });
      return {
        res,
        check: async (allowed) => {
          expect((await server.api("GET", `/v1/projects/${name}`)).status).toBe(allowed ? 200 : 404);
        },
      };
    },
  },
  "project.update": {
    ok: 200,
    perform: async (c, token) => ({
      res: await server.api("PATCH", `/v1/projects/${projectOf(c)}`, {
        token,
        body: { description: `case ${c.n}` },
      }),
    }),
  },
  "project.delete": {
    ok: 204,
    perform: async (c, token) => {
      // "other": a fresh empty project. "own": the caller's own project, which is never empty (the
      // caller lives there), so an allowed delete gets past authorization to 409 project_not_empty.
      const name = c.location === "other" ? `doomed-${c.n}` : HOME;
      if (c.location === "other") await admin("POST", "/v1/projects", { name });
      const res = await server.api("DELETE", `/v1/projects/${name}`, { token });
      return {
        res,
        check: async (allowed) => {
          const gone = allowed && c.location === "other";
          expect((await server.api("GET", `/v1/projects/${name}`)).status).toBe(gone ? 404 : 200);
        },
      };
    },
  },
  "service_account.read": {
    ok: 200,
    perform: async (c, token) => ({
      res: await server.api(
        "GET",
        `/v1/projects/${projectOf(c)}/service-accounts/${sharedAccount(targetOf(c))}`,
        {
          token,
        },
      ),
    }),
  },
  "service_account.create": {
    ok: 201,
    perform: async (c, token) => {
      const t = targetOf(c);
      const name = `new-${c.n}`;
      const path = `/v1/projects/${projectOf(c)}/service-accounts`;
      const res = await server.api("POST", path, { token, body: { name, role: t.role, scope: t.scope } });
      return {
        res,
        check: async (allowed) => {
          const after = await server.api("GET", `${path}/${name}`);
          expect(after.status).toBe(allowed ? 200 : 404);
          if (allowed) expect(after.body).toMatchObject({ role: t.role, scope: t.scope });
        },
      };
    },
  },
  "service_account.update": {
    ok: 200,
    perform: async (c, token) => ({
      res: await server.api(
        "PATCH",
        `/v1/projects/${projectOf(c)}/service-accounts/${sharedAccount(targetOf(c))}`,
        { token, body: { description: `case ${c.n}` } },
      ),
    }),
  },
  "service_account.delete": {
    ok: 204,
    perform: async (c, token) => {
      const name = `gone-${c.n}`;
      const path = `/v1/projects/${projectOf(c)}/service-accounts/${name}`;
      await createAccount(projectOf(c), name, targetOf(c));
      const res = await server.api("DELETE", path, { token });
      return {
        res,
        check: async (allowed) => {
          expect((await server.api("GET", path)).status).toBe(allowed ? 404 : 200);
        },
      };
    },
  },
  "token.read": {
    ok: 200,
    perform: async (c, token) => {
      const id = sharedTokens.get(`${projectOf(c)}/${sharedAccount(targetOf(c))}`)!;
      return { res: await server.api("GET", `/v1/tokens/${id}`, { token }) };
    },
  },
  "token.create": {
    ok: 201,
    perform: async (c, token) => {
      const path = `/v1/projects/${projectOf(c)}/service-accounts/${sharedAccount(targetOf(c))}/tokens`;
      const res = await server.api("POST", path, { token, body: { name: `minted-${c.n}` } });
      return {
        res,
        check: async (allowed) => {
          const list = await server.api("GET", `${path}?name=minted-${c.n}`);
          expect(list.body.items).toHaveLength(allowed ? 1 : 0);
        },
      };
    },
  },
  "token.update": {
    ok: 200,
    perform: async (c, token) => {
      const id = sharedTokens.get(`${projectOf(c)}/${sharedAccount(targetOf(c))}`)!;
      const res = await server.api("PATCH", `/v1/tokens/${id}`, {
        token,
        body: { description: `case ${c.n}` },
      });
      return {
        res,
        check: async (allowed) => {
          const after = await server.api("GET", `/v1/tokens/${id}`);
          expect(after.body.description === `case ${c.n}`).toBe(allowed);
        },
      };
    },
  },
  "token.rotate": {
    ok: 201,
    perform: async (c, token) => {
      const { tokenId } = await createToken(projectOf(c), sharedAccount(targetOf(c)));
      const res = await server.api("POST", `/v1/tokens/${tokenId}/rotate`, { token, body: {} });
      return {
        res,
        check: async (allowed) => {
          const after = await server.api("GET", `/v1/tokens/${tokenId}`);
          expect(after.body.rotated_to !== null).toBe(allowed);
        },
      };
    },
  },
  "token.revoke": {
    ok: 204,
    perform: async (c, token) => {
      const { tokenId } = await createToken(projectOf(c), sharedAccount(targetOf(c)));
      const res = await server.api("DELETE", `/v1/tokens/${tokenId}`, { token });
      return {
        res,
        check: async (allowed) => {
          const after = await server.api("GET", `/v1/tokens/${tokenId}`);
          expect(after.body.state).toBe(allowed ? "revoked" : "active");
        },
      };
    },
  },
  "audit.read": {
    ok: 200,
    perform: async (_c, token) => ({ res: await server.api("GET", "/v1/audit-events?limit=1", { token }) }),
  },
  "audit.verify": {
    ok: 200,
    perform: async (_c, token) => ({
      res: await server.api("GET", "/v1/audit-events?verify=true", { token }),
    }),
  },
};

/** The status an allowed case answers with (see project.delete: the own project is not empty). */
const allowedStatus = (c: Case): number =>
  c.action === "project.delete" && c.location === "own" ? 409 : REQUESTS[c.action].ok;

const statusOf: Record<Outcome, (c: Case) => number> = {
  allowed: allowedStatus,
  denied: () => 403,
  hidden: () => 404,
};

function title(c: Case): string {
  const who = `${c.caller.role}/${c.caller.scope}/${c.caller.access}`;
  const where = c.location ? ` in ${c.location} project` : "";
  const what = c.target ? ` on ${c.target.role}/${c.target.scope} SA` : "";
  return `#${c.n} ${c.action} by ${who}${what}${where} → ${expectedOutcome(c)}`;
}

// ---------------------------------------------------------------------------------------------------

describe("authorization policy matrix (SPEC §2, §4) over HTTP", () => {
  let ran = 0;
  /** Every 403: the request id to find its audit event by, and what the event must say. */
  const denials: { requestId: string; action: Action; tokenId: string; n: number }[] = [];
  let started = 0;

  beforeAll(async () => {
    started = Date.now();
    server = await startServer();
    for (const project of [HOME, AWAY]) {
      await admin("POST", "/v1/projects", { name: project });
      for (const t of TARGETS) {
        await createAccount(project, sharedAccount(t), t);
        const { tokenId } = await createToken(project, sharedAccount(t));
        sharedTokens.set(`${project}/${sharedAccount(t)}`, tokenId);
      }
    }
    for (const role of ROLES) {
      for (const scope of SCOPES) {
        const name = `caller-${role}-${short(scope)}`;
        await createAccount(HOME, name, { role, scope });
        for (const access of ACCESS) {
          const issued = await createToken(HOME, name, access);
          callerTokens.set(callerKey({ role, scope, access }), { ...issued, name });
          // The server agrees on who the caller is before anything is decided for it.
          const who = await server.api("GET", "/v1/whoami", { token: issued.token });
          expect(who.body.effective_role).toBe(effectiveRole({ role, scope, access }));
        }
      }
    }
  });
  afterAll(() => server?.close());

  it("has a SPEC rule and an HTTP request for every action of the POLICY table", () => {
    expect(Object.keys(specAllows).sort()).toEqual([...ACTIONS].sort());
    expect(Object.keys(REQUESTS).sort()).toEqual([...ACTIONS].sort());
    for (const action of ACTIONS) expect(CASES.some((c) => c.action === action)).toBe(true);
  });

  for (const c of CASES) {
    it(title(c), async () => {
      const caller = callerTokens.get(callerKey(c.caller))!;
      const outcome = expectedOutcome(c);
      const { res, check } = await REQUESTS[c.action].perform(c, caller.token);
      expect(res.status, `${title(c)}: ${res.text}`).toBe(statusOf[outcome](c));
      if (outcome === "denied") {
        expect(res.body.code).toMatch(/^(permission_denied|role_ceiling_exceeded|scope_ceiling_exceeded)$/);
        denials.push({
          requestId: res.headers.get("x-request-id")!,
          action: c.action,
          tokenId: caller.tokenId,
          n: c.n,
        });
      }
      if (outcome === "hidden") expect(res.body.code).toBe("not_found");
      await check?.(outcome === "allowed");
      ran += 1;
    });
  }

  it("ran the whole matrix", () => {
    console.log(`policy matrix: ${ran} cases in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(ran).toBe(CASES.length);
    expect(ran).toBeGreaterThanOrEqual(MIN_CASES);
    for (const outcome of ["allowed", "denied", "hidden"] as const) {
      expect(CASES.some((c) => expectedOutcome(c) === outcome)).toBe(true);
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
        event &&
        event.outcome === "denied" &&
        event.action === d.action &&
        event.actor.token_id === d.tokenId
      );
    });
    expect(missing.map((d) => `#${d.n} ${d.action}`)).toEqual([]);
  });
});
