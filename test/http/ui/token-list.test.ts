import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/lib/clock.ts";
import { accountWithToken, rowCounts, startServer, type TestServer } from "../../helpers/server.ts";
import { asBrowser, browserFor } from "./helpers.ts";

/**
 * GET /v1/tokens: tokens across projects, with filters, sort orders and keyset paging. Each answer
 * is compared with an oracle computed here from the per-account lists (the long-standing API).
 */

const T0 = "2030-01-01T00:00:00.000Z";
const DAY = 86400;

interface TokenView {
  id: string;
  name: string;
  description: string;
  owner: string;
  service_account: { project: string; name: string };
  created_at: string;
  expires_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
  state: "active" | "expired" | "revoked";
}

const SORTS = ["name", "created_at", "expires_at", "last_used_at", "project", "service_account"] as const;
type Sort = (typeof SORTS)[number];

function keyOf(t: TokenView, sort: Sort): string {
  if (sort === "project") return t.service_account.project;
  if (sort === "service_account") return t.service_account.name;
  if (sort === "last_used_at") return t.last_used_at ?? "";
  return t[sort];
}

/** The documented order: by the key, then by id; "-" reverses both. Never-used sorts first ascending. */
function sorted(tokens: TokenView[], sortParam: string): TokenView[] {
  const descending = sortParam.startsWith("-");
  const sort = (descending ? sortParam.slice(1) : sortParam) as Sort;
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const out = [...tokens].sort((a, b) => cmp(keyOf(a, sort), keyOf(b, sort)) || cmp(a.id, b.id));
  return descending ? out.reverse() : out;
}

describe("GET /v1/tokens", () => {
  const clock = new ManualClock(T0);
  let server: TestServer;
  let everything: TokenView[] = [];
  let viewerAlpha: string;
  let viewerOrg: string;

  async function all(token: string, query: string, limit = 3): Promise<TokenView[]> {
    const items: TokenView[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const sep = query ? "&" : "";
      const path: string = `/v1/tokens?${query}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
      const res = await server.api("GET", path, { token });
      expect(res.status, `${path}: ${res.text}`).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(limit);
      items.push(...res.body.items);
      cursor = res.body.next_cursor;
      if (++pages > 200) throw new Error("paging does not end");
    } while (cursor);
    return items;
  }

  /** Every token of every live account, from the per-account lists. */
  async function groundTruth(): Promise<TokenView[]> {
    const out: TokenView[] = [];
    const projects = await server.api("GET", "/v1/projects?limit=500");
    for (const p of projects.body.items) {
      const accounts = await server.api("GET", `/v1/projects/${p.name}/service-accounts?limit=500`);
      for (const a of accounts.body.items) {
        const tokens = await server.api(
          "GET",
          `/v1/projects/${p.name}/service-accounts/${a.name}/tokens?limit=500`,
        );
        out.push(...tokens.body.items);
      }
    }
    return out;
  }

  const ids = (tokens: TokenView[]) => tokens.map((t) => t.id);

  beforeAll(async () => {
    server = await startServer({ clock });
    const make = async (project: string, account: string, body: Record<string, unknown>) => {
      const res = await server.api("POST", `/v1/projects/${project}/service-accounts/${account}/tokens`, {
        body,
      });
      if (res.status !== 201) throw new Error(res.text);
      return res.body as TokenView & { token: string };
    };
    for (const name of ["alpha", "beta"]) await server.api("POST", "/v1/projects", { body: { name } });
    for (const [project, sa] of [
      ["alpha", "builder"],
      ["alpha", "reader"],
      ["beta", "deployer"],
      ["beta", "gone"],
    ]) {
      await server.api("POST", `/v1/projects/${project}/service-accounts`, { body: { name: sa! } });
    }
    const specs: [string, string, Record<string, unknown>][] = [
      [
        "alpha",
        "builder",
        { name: "ci main", description: "Builds the MAIN branch", owner: "team-x", ttl_seconds: 3 * DAY },
      ],
      ["alpha", "builder", { name: "ci nightly", owner: "Team-Y", ttl_seconds: 20 * DAY }],
      ["alpha", "reader", { name: "dashboard", description: "100% read_only", ttl_seconds: 90 * DAY }],
      ["alpha", "reader", { name: "short", ttl_seconds: 600 }],
      ["beta", "deployer", { name: "deploy prod", owner: "ops", ttl_seconds: 6 * DAY }],
      ["beta", "deployer", { name: "deploy staging", ttl_seconds: 200 * DAY }],
      ["beta", "deployer", { name: "Zeta", ttl_seconds: 10 * DAY }],
      ["beta", "gone", { name: "orphan", ttl_seconds: 10 * DAY }],
    ];
    const made: Record<string, TokenView & { token: string }> = {};
    for (const [i, [project, sa, body]] of specs.entries()) {
      // Two tokens share a creation instant: the id decides their order.
      if (i !== 5) clock.advance(60);
      made[body.name as string] = await make(project, sa, body);
    }
    // Uses at different moments (last_used_at), a revocation, an expiry, a deleted account.
    clock.advance(120);
    await server.api("GET", "/v1/whoami", { token: made["ci nightly"]!.token });
    clock.advance(120);
    await server.api("GET", "/v1/whoami", { token: made["deploy prod"]!.token });
    await server.api("DELETE", `/v1/tokens/${made["deploy staging"]!.id}`);
    await server.api("DELETE", "/v1/projects/beta/service-accounts/gone");
    clock.advance(600); // "short" has expired
    viewerAlpha = (await accountWithToken(server, { project: "alpha", name: "viewer-a", role: "viewer" }))
      .token;
    viewerOrg = (
      await accountWithToken(server, {
        project: "beta",
        name: "viewer-o",
        role: "viewer",
        scope: "organization",
      })
    ).token;
    everything = await groundTruth();
    expect(everything.length).toBeGreaterThanOrEqual(10);
  });
  afterAll(() => server?.close());

  it("lists every token of live accounts across projects, newest last by default", async () => {
    const listed = await all(server.bootstrapToken, "");
    expect(ids(listed)).toEqual(ids(sorted(everything, "created_at")));
    // Exactly the per-account views: same shape, no secret.
    for (const t of listed) {
      expect(t).toEqual(everything.find((e) => e.id === t.id));
      expect(t).not.toHaveProperty("token");
    }
    expect(listed.map((t) => t.name)).not.toContain("orphan");
  });

  for (const sortParam of [...SORTS, ...SORTS.map((s) => `-${s}`)]) {
    it(`sort=${sortParam}, paged by 2 and by 200`, async () => {
      const expected = ids(sorted(everything, sortParam));
      expect(ids(await all(server.bootstrapToken, `sort=${sortParam}`, 2))).toEqual(expected);
      expect(ids(await all(server.bootstrapToken, `sort=${sortParam}`, 200))).toEqual(expected);
    });
  }

  it("filters: project, service account, state, expiring_within_days, q (combined with sorts)", async () => {
    const now = clock.now().toISOString();
    const within = (days: number) => new Date(clock.now().getTime() + days * DAY * 1000).toISOString();
    const cases: [string, (t: TokenView) => boolean][] = [
      ["project=alpha", (t) => t.service_account.project === "alpha"],
      ["project=beta&service_account=deployer", (t) => t.service_account.name === "deployer"],
      ["state=active", (t) => t.state === "active"],
      ["state=expired", (t) => t.state === "expired"],
      ["state=revoked", (t) => t.state === "revoked"],
      ["expiring_within_days=7", (t) => t.state === "active" && t.expires_at <= within(7)],
      [
        "expiring_within_days=30&project=alpha",
        (t) => t.state === "active" && t.expires_at <= within(30) && t.service_account.project === "alpha",
      ],
      ["q=MAIN", (t) => t.name === "ci main"],
      ["q=team-", (t) => t.owner.toLowerCase().startsWith("team-")],
      ["q=deploy", (t) => t.service_account.name === "deployer"],
      ["q=100%25", (t) => t.name === "dashboard"],
      ["q=ci_", () => false],
      ["q=%25", (t) => t.description.includes("%")],
      ["q=read_", (t) => t.description.includes("read_")],
      ["q=nothing-like-this", () => false],
      ["state=expired&expiring_within_days=30", () => false],
    ];
    for (const [query, keep] of cases) {
      for (const sortParam of ["created_at", "-expires_at", "name"]) {
        const listed = await all(server.bootstrapToken, `${query}&sort=${sortParam}`, 2);
        expect(ids(listed), `${query}&sort=${sortParam} at ${now}`).toEqual(
          ids(sorted(everything.filter(keep), sortParam)),
        );
      }
    }
    // The filters do find something: the cases above are not all empty answers.
    expect((await all(server.bootstrapToken, "expiring_within_days=7")).length).toBe(2);
    expect((await all(server.bootstrapToken, "state=revoked")).length).toBe(1);
    expect((await all(server.bootstrapToken, "state=expired")).length).toBe(1);
  });

  it("a project-scoped caller sees its own project only; an organization-scoped viewer sees all", async () => {
    const own = await all(viewerAlpha, "sort=name");
    expect(ids(own)).toEqual(
      ids(
        sorted(
          everything.filter((t) => t.service_account.project === "alpha"),
          "name",
        ),
      ),
    );
    const hidden = await server.api("GET", "/v1/tokens?project=beta", { token: viewerAlpha });
    expect(hidden.status).toBe(404);
    expect(hidden.body.code).toBe("not_found");
    const org = await all(viewerOrg, "sort=name");
    expect(ids(org)).toEqual(ids(sorted(everything, "name")));
  });

  it("works with a web UI session (a viewer can read)", async () => {
    const browser = await browserFor(server, viewerAlpha);
    const res = await asBrowser(server, browser, "GET", "/v1/tokens?sort=-created_at&limit=200");
    expect(res.status, res.text).toBe(200);
    expect(res.body.items.every((t: TokenView) => t.service_account.project === "alpha")).toBe(true);
  });

  it("refuses bad queries with 400 naming the parameter, and changes nothing", async () => {
    const before = await rowCounts(server);
    const cursor = (await server.api("GET", "/v1/tokens?limit=1&sort=name")).body.next_cursor;
    expect(cursor).toEqual(expect.any(String));
    const cases: [string, string, string][] = [
      ["service_account=deployer", "validation_failed", "service_account"],
      ["sort=color", "validation_failed", "sort"],
      ["sort=--name", "validation_failed", "sort"],
      ["limit=0", "validation_failed", "limit"],
      ["limit=201", "validation_failed", "limit"],
      ["limit=1.5", "validation_failed", "limit"],
      ["state=dormant", "validation_failed", "state"],
      ["expiring_within_days=0", "validation_failed", "expiring_within_days"],
      ["expiring_within_days=367", "validation_failed", "expiring_within_days"],
      ["project=Not_A_Label", "validation_failed", "project"],
      ["q=" + "x".repeat(129), "validation_failed", "q"],
      ["color=blue", "validation_failed", "color"],
      ["cursor=garbage", "invalid_cursor", "cursor"],
      [`sort=created_at&cursor=${encodeURIComponent(cursor)}`, "invalid_cursor", "cursor"],
    ];
    for (const [query, code, field] of cases) {
      const res = await server.api("GET", `/v1/tokens?${query}`);
      expect(res.status, `${query}: ${res.text}`).toBe(400);
      expect(res.body.code, query).toBe(code);
      expect(
        res.body.errors.map((e: { field: string }) => e.field),
        query,
      ).toContain(field);
    }
    expect(await rowCounts(server)).toEqual(before);
    const missing = await server.api("GET", "/v1/tokens?project=nowhere");
    expect(missing.status).toBe(404);
    const noAccount = await server.api("GET", "/v1/tokens?project=alpha&service_account=nobody");
    expect(noAccount.status).toBe(404);
  });

  it("needs authentication", async () => {
    const res = await server.api("GET", "/v1/tokens", { token: null });
    expect(res.status).toBe(401);
  });
});
