import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type HttpOptions,
  type HttpResponse,
  http,
  type ServerProcess,
  startServerProcess,
} from "../helpers/process.ts";

/**
 * The canary (SPEC §1: the secret "is never stored in clear, never returned again, never logged,
 * never in an audit event"). Against the real process with debug logs, every secret created here
 * is pushed through the API in every way a client might get wrong; afterwards no response body or
 * header, audit event, list or get view, /metrics page or log line may hold any of them. The
 * create and rotate responses are the one exception, and only in their `token` field.
 */

const TOKEN_SHAPE = /lk_[0-9A-Za-z]{49}/g;
/** Any run of this many characters of a secret's random part counts as a leak (catches truncation). */
const WINDOW = 16;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const count = (haystack: string, needle: string) => haystack.split(needle).length - 1;

interface Secret {
  label: string;
  token: string;
  id: string;
}

interface Place {
  place: string;
  text: string;
}

/** The same secret with a wrong (but base62) last character: a look-alike the server must refuse. */
function mutated(token: string): string {
  const last = token.at(-1) === "A" ? "B" : "A";
  return token.slice(0, -1) + last;
}

/** Where a secret shows up in `places`, by full value, by its 49 characters after lk_, or by a window. */
function leaksOf(secret: Secret, places: Place[]): string[] {
  const body = secret.token.slice(3);
  const windows: string[] = [];
  for (let i = 0; i + WINDOW <= body.length; i++) windows.push(body.slice(i, i + WINDOW));
  const found: string[] = [];
  for (const { place, text } of places) {
    if (text.includes(secret.token)) found.push(`${secret.label}: full secret in ${place}`);
    else if (text.includes(body)) found.push(`${secret.label}: 49-char body in ${place}`);
    else {
      const window = windows.find((w) => text.includes(w));
      if (window) found.push(`${secret.label}: "${window}" (part of the secret) in ${place}`);
    }
  }
  return found;
}

describe("secrets canary (real process, debug logs)", () => {
  let server: ServerProcess;
  let boot = "";
  /** Every response, audit page, view and metrics page seen, minus the one legitimate `token` field. */
  const places: Place[] = [];
  /** Every secret created during the test (not the bootstrap token, which has its own rules). */
  const secrets: Secret[] = [];
  const byLabel = new Map<string, Secret>();
  /** JWT-format secrets: checked by full value and by signature, since JWT headers look alike. */
  const jwtSecrets: string[] = [];
  const statuses: Record<string, number> = {};

  const record = (place: string, res: HttpResponse, text = res.text) => {
    statuses[place] = res.status;
    const headers = JSON.stringify(Object.fromEntries(res.headers.entries()));
    places.push({ place, text: `${res.status} ${headers}\n${text}` });
  };

  /** Any call; the bootstrap token authenticates unless `auth` names another one or is null. */
  const api = async (
    place: string,
    method: string,
    path: string,
    options: HttpOptions & { auth?: string | null } = {},
  ): Promise<HttpResponse> => {
    const { auth, ...rest } = options;
    const res = await http(server.url, method, path, {
      ...rest,
      token: auth === null ? undefined : (auth ?? boot),
    });
    record(place, res);
    return res;
  };

  /** A response that legitimately carries a new secret: only its `token` field may hold it. */
  const issued = (label: string, place: string, res: HttpResponse): Secret => {
    statuses[place] = res.status;
    if (res.status !== 201) throw new Error(`${place}: ${res.status} ${res.text}`);
    const { token, ...rest } = res.body as { token: string; id: string };
    expect(token).toMatch(/^lk_[0-9A-Za-z]{49}$/);
    expect(count(res.text, token)).toBe(1);
    record(place, res, JSON.stringify(rest));
    const secret = { label, token, id: rest.id };
    secrets.push(secret);
    byLabel.set(label, secret);
    return secret;
  };
  const get = (label: string): Secret => {
    const secret = byLabel.get(label);
    if (!secret) throw new Error(`no secret ${label}`);
    return secret;
  };

  const createToken = async (
    label: string,
    project: string,
    account: string,
    body: Record<string, unknown>,
    auth?: string,
  ) =>
    issued(
      label,
      `create ${label}`,
      await http(server.url, "POST", `/v1/projects/${project}/service-accounts/${account}/tokens`, {
        token: auth ?? boot,
        body: { name: label, ...body },
      }),
    );

  const rotate = async (label: string, previous: string, body: Record<string, unknown>, auth?: string) =>
    issued(
      label,
      `rotate ${previous} -> ${label}`,
      await http(server.url, "POST", `/v1/tokens/${get(previous).id}/rotate`, { token: auth ?? boot, body }),
    );

  const whoami = (place: string, token: string) => api(place, "GET", "/v1/whoami", { auth: token });

  beforeAll(async () => {
    server = await startServerProcess({ logLevel: "debug" });
    boot = server.stdout().match(TOKEN_SHAPE)?.[0] ?? "";
    expect(boot).not.toBe("");
  });
  afterAll(async () => {
    await server?.stop();
    if (server) rmSync(server.dataDir, { recursive: true, force: true });
  });

  it("creates service accounts and tokens and uses them", async () => {
    expect(
      (await api("create project canary", "POST", "/v1/projects", { body: { name: "canary" } })).status,
    ).toBe(201);
    const accounts = [
      ["default", "alpha", "contributor"],
      ["default", "doomed", "viewer"],
      ["default", "sleepy", "viewer"],
      ["canary", "beta", "viewer"],
      ["canary", "gamma", "admin"],
    ] as const;
    for (const [project, name, role] of accounts) {
      const res = await api(`create sa ${name}`, "POST", `/v1/projects/${project}/service-accounts`, {
        body: { name, role, description: `canary ${name}`, owner: "canary-test" },
      });
      expect(res.status).toBe(201);
    }

    await createToken("alpha-rw", "default", "alpha", { access: "read-write" });
    await createToken("alpha-ro", "default", "alpha", { access: "read-only", ttl_seconds: 600 });
    await createToken("alpha-self", "default", "alpha", { labels: { purpose: "self-rotation" } });
    await createToken("alpha-bye", "default", "alpha", {});
    await createToken("doomed-1", "default", "doomed", {});
    await createToken("sleepy-1", "default", "sleepy", {});
    await createToken("beta-1", "canary", "beta", { audiences: ["https://api.example"] });
    await createToken("gamma-1", "canary", "gamma", { description: "admin token" });
    await createToken("gamma-2", "canary", "gamma", {});
    await createToken("gamma-3", "canary", "gamma", {});
    // A contributor issuing a token: the secret comes from a non-bootstrap caller.
    await createToken("doomed-by-alpha", "default", "doomed", {}, get("alpha-rw").token);

    for (const secret of secrets) {
      const res = await whoami(`whoami ${secret.label}`, secret.token);
      expect(res.status, secret.label).toBe(200);
      expect(res.body.token_id).toBe(secret.id);
    }
    // A contributor reads with its own token.
    const list = await api("alpha lists default", "GET", "/v1/projects/default/service-accounts", {
      auth: get("alpha-rw").token,
    });
    expect(list.status).toBe(200);
    // A read-only token is refused a change (403, audited as a denial).
    const denied = await api("read-only creates", "POST", "/v1/projects/default/service-accounts", {
      auth: get("alpha-ro").token,
      body: { name: "nope" },
    });
    expect(denied.status).toBe(403);
  });

  it("rotates with and without grace, revokes, deletes and disables, then uses the dead tokens", async () => {
    // Grace of an hour: both old and new work.
    await rotate("alpha-rw-2", "alpha-rw", { previous_expires_in_seconds: 3600 });
    expect((await whoami("alpha-rw in grace", get("alpha-rw").token)).status).toBe(200);
    expect((await whoami("alpha-rw-2", get("alpha-rw-2").token)).status).toBe(200);
    // Immediate retirement: the old one is expired at once.
    await rotate("beta-2", "beta-1", {});
    const beta1 = await whoami("beta-1 after immediate rotation", get("beta-1").token);
    expect(beta1.status).toBe(401);
    expect(beta1.body.code).toBe("token_expired");
    // One second of grace, then expired.
    await rotate("gamma-1b", "gamma-1", { previous_expires_in_seconds: 1 });
    expect((await whoami("gamma-1 in 1 s grace", get("gamma-1").token)).status).toBe(200);
    await sleep(1200);
    const gamma1 = await whoami("gamma-1 after grace", get("gamma-1").token);
    expect(gamma1.status).toBe(401);
    expect(gamma1.body.code).toBe("token_expired");
    // A deadline as a timestamp.
    const at = new Date(Date.now() + 7200_000).toISOString();
    await rotate("gamma-2b", "gamma-2", { previous_expires_at: at, ttl_seconds: 86400 });
    expect((await whoami("gamma-2 before its deadline", get("gamma-2").token)).status).toBe(200);
    // Self-rotation that retires the previous token on the new one's first use.
    issued(
      "alpha-self-2",
      "self-rotate alpha-self",
      await http(server.url, "POST", "/v1/tokens/self/rotate", {
        token: get("alpha-self").token,
        body: { retire_previous_on_first_use: true },
      }),
    );
    expect((await whoami("alpha-self still works", get("alpha-self").token)).status).toBe(200);
    expect((await whoami("alpha-self-2 first use", get("alpha-self-2").token)).status).toBe(200);
    const retired = await whoami("alpha-self after successor's first use", get("alpha-self").token);
    expect(retired.status).toBe(401);
    // Rotating twice and rotating a dead token are conflicts.
    const twice = await api("rotate alpha-rw twice", "POST", `/v1/tokens/${get("alpha-rw").id}/rotate`, {
      body: {},
    });
    expect(twice.status).toBe(409);
    const dead = await api("rotate expired beta-1", "POST", `/v1/tokens/${get("beta-1").id}/rotate`, {
      body: {},
    });
    expect(dead.status).toBe(409);

    // Revocation by id and by the token itself.
    expect((await api("revoke gamma-3", "DELETE", `/v1/tokens/${get("gamma-3").id}`)).status).toBe(204);
    expect((await api("revoke gamma-3 again", "DELETE", `/v1/tokens/${get("gamma-3").id}`)).status).toBe(204);
    const revoked = await whoami("gamma-3 after revoke", get("gamma-3").token);
    expect(revoked.status).toBe(401);
    expect(revoked.body.code).toBe("token_revoked");
    expect(
      (await api("alpha-bye revokes itself", "DELETE", "/v1/tokens/self", { auth: get("alpha-bye").token }))
        .status,
    ).toBe(204);
    expect((await whoami("alpha-bye after self-revoke", get("alpha-bye").token)).status).toBe(401);

    // Deleting an account revokes its tokens; disabling one stops them.
    expect(
      (await api("delete sa doomed", "DELETE", "/v1/projects/default/service-accounts/doomed")).status,
    ).toBe(204);
    expect((await whoami("doomed-1 after delete", get("doomed-1").token)).status).toBe(401);
    const disable = await api("disable sleepy", "PATCH", "/v1/projects/default/service-accounts/sleepy", {
      body: { disabled: true },
    });
    expect(disable.status).toBe(200);
    const sleepy = await whoami("sleepy-1 while disabled", get("sleepy-1").token);
    expect(sleepy.status).toBe(401);
    expect(sleepy.body.code).toBe("service_account_disabled");
  });

  it("gets secrets sent in the wrong places and answers without echoing them", async () => {
    const s = get("alpha-rw-2").token;
    const t = get("gamma-2b").token;
    const tokens = "/v1/projects/default/service-accounts/alpha/tokens";

    // In JSON bodies, as values and as field names (a valid caller, so these reach validation).
    const bodies: [string, string, string, unknown, number][] = [
      [
        "token as unknown field",
        "POST",
        "/v1/projects/default/service-accounts",
        { name: "x1", token: s },
        400,
      ],
      [
        "secret as field name",
        "POST",
        "/v1/projects/default/service-accounts",
        { name: "x2", [s]: true },
        400,
      ],
      ["secret as label key", "POST", tokens, { name: "x3", labels: { [s]: "v" } }, 400],
      ["secret as sa name", "POST", "/v1/projects/default/service-accounts", { name: s }, 400],
      ["secret as role", "POST", "/v1/projects/default/service-accounts", { name: "x4", role: s }, 400],
      ["secret as ttl", "POST", tokens, { name: "x5", ttl_seconds: s }, 400],
      ["secret as access", "POST", tokens, { name: "x6", access: s }, 400],
      ["secret as audiences", "POST", tokens, { name: "x7", audiences: [s, s] }, 400],
      ["secret as secret", "POST", tokens, { name: "x8", secret: s, ttl_seconds: 1 }, 400],
      [
        "secret as deadline",
        "POST",
        `/v1/tokens/${get("alpha-ro").id}/rotate`,
        { previous_expires_at: s },
        400,
      ],
      ["secret as disabled", "PATCH", "/v1/projects/default/service-accounts/alpha", { disabled: s }, 400],
      ["secret in nested", "PATCH", `/v1/tokens/${get("alpha-ro").id}`, { labels: { k: { token: s } } }, 400],
    ];
    for (const [place, method, path, body, status] of bodies) {
      expect((await api(place, method, path, { body })).status, place).toBe(status);
    }
    // A field is still named when its name is a secret, just not spelled out.
    const named = await api("secret as field name, again", "PATCH", `/v1/tokens/${get("alpha-ro").id}`, {
      body: { [t]: 1 },
    });
    expect(named.status).toBe(400);
    expect(named.body.errors).toEqual([{ field: "lk_[redacted]", message: "unknown field" }]);

    // Malformed and mistyped bodies.
    const raw: [string, string, Record<string, string>][] = [
      ["truncated json", `{"name":"x9","token":"${s}"`, { "content-type": "application/json" }],
      ["unquoted secret", `{"name":"x9","token":${s}}`, { "content-type": "application/json" }],
      ["bare secret as json", s, { "content-type": "application/json" }],
      [
        "proto pollution",
        `{"name":"x9","__proto__":{"token":"${s}"}}`,
        { "content-type": "application/json" },
      ],
      ["secret as text/plain", s, { "content-type": "text/plain" }],
      ["secret as form", `token=${s}`, { "content-type": "application/x-www-form-urlencoded" }],
    ];
    for (const [place, rawBody, headers] of raw) {
      const res = await api(place, "POST", tokens, { rawBody, headers });
      expect([400, 415], place).toContain(res.status);
    }

    // In the query string (refused on every route: tokens are never taken from a URL) and in the
    // path (a valid caller).
    const queries: [string, string, number][] = [
      ["query access_token", `/v1/whoami?access_token=${s}`, 400],
      ["query token on get", `/v1/tokens/${get("alpha-ro").id}?token=${t}`, 400],
      ["query unknown field", `/v1/projects/default/service-accounts?token=${s}`, 400],
      ["query secret as key", `/v1/projects/default/service-accounts?${s}=1`, 400],
      ["query cursor", `/v1/projects/default/service-accounts?cursor=${s}`, 400],
      ["query token list name", `${tokens}?name=${s}`, 400],
      ["query audit target", `/v1/audit-events?target=${s}`, 400],
      ["query audit actor", `/v1/audit-events?actor=${encodeURIComponent(`Bearer ${s}`)}`, 400],
      ["path token id", `/v1/tokens/${s}`, 400],
      ["path sa name", `/v1/projects/default/service-accounts/${s}`, 400],
      ["path unknown route", `/v1/${s}`, 404],
      ["path rotate", `/v1/tokens/${s}/rotate`, 400],
    ];
    for (const [place, path, status] of queries) {
      const method = place === "path rotate" ? "POST" : "GET";
      expect((await api(place, method, path)).status, place).toBe(status);
    }

    // In the wrong headers or with a wrong scheme; each is a failed authentication (limit: 20/min).
    const headers: [string, Record<string, string>][] = [
      ["basic scheme", { authorization: `Basic ${s}` }],
      ["basic base64", { authorization: `Basic ${Buffer.from(`x:${s}`).toString("base64")}` }],
      ["bearer with extra", { authorization: `Bearer ${s} extra` }],
      ["token scheme", { authorization: `Token ${s}` }],
      ["x-api-key only", { "x-api-key": s }],
      ["mutated checksum", { authorization: `Bearer ${mutated(t)}` }],
    ];
    for (const [place, h] of headers) {
      const res = await api(place, "GET", "/v1/whoami", { auth: null, headers: h });
      expect(res.status, place).toBe(401);
    }
    const queryOnly = await api("query only, no header", "GET", `/v1/whoami?access_token=${s}`, {
      auth: null,
    });
    // Refused before authentication: a token in the URL is never a credential.
    expect(queryOnly.status).toBe(400);

    // Validation errors around tokens.
    const ttl = await api("ttl out of range", "POST", tokens, { body: { name: "x10", ttl_seconds: 599 } });
    expect(ttl.body.code).toBe("ttl_out_of_range");
    // A JWT-format token is a secret too: only its create response's `token` field may hold it.
    const jwt = await http(server.url, "POST", tokens, { token: boot, body: { name: "x11", format: "jwt" } });
    expect(jwt.status).toBe(201);
    const { token: jwtSecret, ...jwtRest } = jwt.body as { token: string };
    expect(count(jwt.text, jwtSecret)).toBe(1);
    record("jwt format", jwt, JSON.stringify(jwtRest));
    jwtSecrets.push(jwtSecret);
    expect((await whoami("jwt-format token used", jwtSecret)).status).toBe(200);
    const both = await api("both deadlines", "POST", `/v1/tokens/${get("alpha-ro").id}/rotate`, {
      body: { previous_expires_in_seconds: 5, previous_expires_at: new Date().toISOString() },
    });
    expect(both.status).toBe(400);
    const ro = await api("read-only self-rotate", "POST", "/v1/tokens/self/rotate", {
      auth: get("alpha-ro").token,
      body: {},
    });
    expect(ro.status).toBe(403);
  });

  it("never shows a secret in views, audit events, /metrics, responses or logs", async () => {
    // Views: projects, accounts and every token of every account, in lists and one by one.
    for (const project of ["default", "canary"]) {
      await api(`get project ${project}`, "GET", `/v1/projects/${project}`);
      const accounts = await api(
        `list sa ${project}`,
        "GET",
        `/v1/projects/${project}/service-accounts?limit=500`,
      );
      expect(accounts.status).toBe(200);
      for (const account of accounts.body.items as { name: string }[]) {
        const base = `/v1/projects/${project}/service-accounts/${account.name}`;
        await api(`get sa ${project}/${account.name}`, "GET", base);
        const list = await api(`list tokens ${project}/${account.name}`, "GET", `${base}/tokens?limit=500`);
        expect(list.status).toBe(200);
        for (const token of list.body.items as { id: string }[]) {
          expect((await api(`get token ${token.id}`, "GET", `/v1/tokens/${token.id}`)).status).toBe(200);
        }
      }
    }
    await api("list projects", "GET", "/v1/projects");
    // Every token created here, by id, including those of the deleted account.
    for (const secret of secrets) {
      const res = await api(`get token ${secret.label} by id`, "GET", `/v1/tokens/${secret.id}`);
      expect([200, 404], secret.label).toContain(res.status);
    }

    // The whole audit log, page by page, and its verification.
    const events: { action: string; outcome: string }[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 100; page++) {
      const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
      const res = await api(`audit page ${page}`, "GET", `/v1/audit-events?limit=20${query}`);
      expect(res.status).toBe(200);
      events.push(...res.body.items);
      cursor = res.body.next_cursor;
      if (cursor === null) break;
    }
    expect(cursor).toBeNull();
    const actions = new Set(events.map((e) => `${e.action}/${e.outcome}`));
    for (const expected of [
      "token.create/success",
      "token.rotate/success",
      "token.revoke/success",
      "token.retire_previous/success",
      "service_account.delete/success",
      "auth.authenticate/denied",
    ]) {
      expect(actions, expected).toContain(expected);
    }
    const verify = await api("audit verify", "GET", "/v1/audit-events?verify=true");
    expect(verify.body.valid).toBe(true);
    expect(verify.body.events_checked).toBe(events.length);

    await api("metrics", "GET", "/metrics", { auth: null });
    await api("healthz", "GET", "/healthz", { auth: null });
    await api("readyz", "GET", "/readyz", { auth: null });
    await api("openapi", "GET", "/openapi.json", { auth: null });

    // Stop first, so every log line is flushed.
    expect(await server.stop()).toBe(0);
    const stdout = server.stdout();
    const stderr = server.stderr();
    expect(stdout).toContain('"msg":"incoming request"');
    expect(stdout).toContain('"msg":"request refused"');

    expect(secrets).toHaveLength(16);
    const everywhere = [...places, { place: "stdout", text: stdout }, { place: "stderr", text: stderr }];
    expect(secrets.flatMap((secret) => leaksOf(secret, everywhere))).toEqual([]);
    expect(jwtSecrets).toHaveLength(1);
    for (const jwtSecret of jwtSecrets) {
      const signature = jwtSecret.split(".")[2] ?? jwtSecret;
      const leaks = everywhere.filter(({ text }) => text.includes(jwtSecret) || text.includes(signature));
      expect(leaks.map((l) => l.place)).toEqual([]);
    }

    // The bootstrap token: once on stdout (the first-start banner), nowhere else.
    expect(count(stdout, boot)).toBe(1);
    expect(count(stdout, boot.slice(3))).toBe(1);
    const banner = stdout.indexOf(boot);
    expect(stdout.slice(Math.max(0, banner - 200), banner)).toContain("Bootstrap token (shown once");
    expect(
      leaksOf({ label: "bootstrap", token: boot, id: "" }, [...places, { place: "stderr", text: stderr }]),
    ).toEqual([]);
    // No token-shaped string at all outside the banner.
    expect(stdout.replace(boot, "").match(TOKEN_SHAPE)).toBeNull();
    expect(places.filter((p) => /lk_[0-9A-Za-z]{49}/.test(p.text)).map((p) => p.place)).toEqual([]);
  });
});
