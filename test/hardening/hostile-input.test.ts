/**
 * The hostile input catalogue: inputs crafted to confuse parsers, displays and comparisons, sent over
 * real HTTP to a real server. Each is either refused with a 4xx that names the field (and leaves the
 * database exactly as it was: every row of every table compared), or accepted and normalised where
 * that is the documented decision (docs/reliability.md, "Hostile input"). Never a 5xx.
 *
 * test/http/bad-input.test.ts covers wrong types, lengths and ranges field by field; this file covers
 * the parser-level and Unicode attacks: truncated JSON, byte-order marks, 10,000-deep nesting,
 * duplicate names, prototype keys (Object.prototype unchanged), right-to-left overrides, NUL and lone
 * surrogates, normalisation twins, 1e309 and 2^53, and tokens in query strings (refused and never
 * logged, checked against the real process).
 */
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/lib/clock.ts";
import { type ErrorCode, errorCodes } from "../../src/lib/errors.ts";
import { http, type ServerProcess, startServerProcess } from "../helpers/process.ts";
import { type ApiResponse, startServer, type TestServer } from "../helpers/server.ts";
import { allRows } from "../helpers/store.ts";

const PROJECTS = "/v1/projects";
const ACCOUNTS = "/v1/projects/hostile/service-accounts";
const TOKENS = `${ACCOUNTS}/builder/tokens`;
const REQUESTS = `${ACCOUNTS}/builder/token-requests`;
const DEEP = 10_000;

interface Case {
  name: string;
  method: string;
  path: string;
  /** JSON text or bytes, sent as application/json. */
  raw?: string | Uint8Array<ArrayBuffer>;
  body?: unknown;
  status: number;
  code: ErrorCode;
  /** The field the answer must name (errors[].field), when there is one. */
  field?: string;
}

const refuse = (
  name: string,
  path: string,
  send: { raw?: string | Uint8Array<ArrayBuffer>; body?: unknown },
  code: ErrorCode,
  field?: string,
  method = "POST",
): Case => ({
  name,
  method,
  path,
  ...send,
  status: code === "invalid_json" ? 400 : errorCodes[code].status,
  code,
  field,
});

const nested = (open: string, close: string, inner: string) => open.repeat(DEEP) + inner + close.repeat(DEEP);

// ---------------------------------------------------------------------------------------------------
// The catalogue

const VALID_PROJECT = '{"name":"truncated","description":"a project","labels":{"team":"infra"}}';

const truncated: Case[] = [];
for (let cut = 1; cut < VALID_PROJECT.length; cut++) {
  truncated.push(
    refuse(`truncated JSON at ${cut}`, PROJECTS, { raw: VALID_PROJECT.slice(0, cut) }, "invalid_json"),
  );
}

const deep: Case[] = [
  refuse(
    "10,000 nested arrays as the body",
    PROJECTS,
    { raw: nested("[", "]", "") },
    "validation_failed",
    "body",
  ),
  refuse(
    "10,000 nested objects as the body",
    PROJECTS,
    { raw: nested('{"a":', "}", "1") },
    "validation_failed",
  ),
  refuse(
    "10,000 nested arrays in a label",
    PROJECTS,
    { raw: `{"name":"deep","labels":{"a":${nested("[", "]", "")}}}` },
    "validation_failed",
    "labels.a",
  ),
  refuse(
    "10,000 nested objects in a description",
    TOKENS,
    { raw: `{"name":"deep","description":${nested('{"a":', "}", '"x"')}}` },
    "validation_failed",
    "description",
  ),
  refuse(
    "10,000 nested arrays in audiences",
    TOKENS,
    { raw: `{"name":"deep","audiences":${nested("[", "]", "")}}` },
    "validation_failed",
  ),
  refuse("10,000 nested arrays, truncated", PROJECTS, { raw: "[".repeat(DEEP) }, "invalid_json"),
];

const duplicates: Case[] = [
  refuse(
    "a duplicate name",
    PROJECTS,
    { raw: '{"name":"dup-a","name":"dup-b"}' },
    "validation_failed",
    "name",
  ),
  refuse(
    "a duplicate name spelled with an escape",
    PROJECTS,
    { raw: '{"name":"dup-a","n\\u0061me":"dup-b"}' },
    "validation_failed",
    "name",
  ),
  refuse(
    "a duplicate label key",
    PROJECTS,
    { raw: '{"name":"dup","labels":{"team":"a","env":"x","team":"b"}}' },
    "validation_failed",
    "labels.team",
  ),
  refuse(
    "a duplicate role (escalation by a parser that keeps the last)",
    ACCOUNTS,
    { raw: '{"name":"dup","role":"viewer","role":"owner"}' },
    "validation_failed",
    "role",
  ),
  refuse(
    "a duplicate access on a token",
    TOKENS,
    { raw: '{"name":"dup","access":"read-only","access":"read-write"}' },
    "validation_failed",
    "access",
  ),
];

const prototypes: Case[] = [
  refuse(
    "__proto__ at the top",
    PROJECTS,
    { raw: '{"name":"proto","__proto__":{"polluted":"yes"}}' },
    "invalid_json",
  ),
  refuse(
    "__proto__ in labels",
    PROJECTS,
    { raw: '{"name":"proto","labels":{"__proto__":"x"}}' },
    "invalid_json",
  ),
  refuse(
    "constructor.prototype",
    ACCOUNTS,
    { raw: '{"name":"proto","constructor":{"prototype":{"polluted":"yes"}}}' },
    "invalid_json",
  ),
  refuse(
    "__proto__ spelled with an escape",
    PROJECTS,
    { raw: '{"name":"proto","\\u005f_proto__":{"polluted":"yes"}}' },
    "invalid_json",
  ),
  refuse(
    "a plain constructor key",
    PROJECTS,
    { raw: '{"name":"proto","constructor":"x"}' },
    "validation_failed",
    "constructor",
  ),
  refuse(
    "__proto__ in the query",
    "/v1/tokens?__proto__[polluted]=yes",
    {},
    "validation_failed",
    undefined,
    "GET",
  ),
  refuse(
    "constructor in the query",
    "/v1/tokens?constructor[prototype][polluted]=yes",
    {},
    "validation_failed",
    undefined,
    "GET",
  ),
];

const RLO = "\u202e";
const bidi: Case[] = [
  refuse("RLO in a project name", PROJECTS, { body: { name: `ab${RLO}cd` } }, "validation_failed", "name"),
  refuse("RLO in an account name", ACCOUNTS, { body: { name: `ab${RLO}cd` } }, "validation_failed", "name"),
  refuse("RLO in a token name", TOKENS, { body: { name: `ci${RLO}fdp.exe` } }, "validation_failed", "name"),
  refuse(
    "RLO in a description",
    PROJECTS,
    { body: { name: "bidi", description: `safe ${RLO}txt.exe` } },
    "validation_failed",
    "description",
  ),
  refuse(
    "RLO in an owner",
    ACCOUNTS,
    { body: { name: "bidi", owner: `ops${RLO}` } },
    "validation_failed",
    "owner",
  ),
  refuse(
    "RLO in a label value",
    PROJECTS,
    { body: { name: "bidi", labels: { team: `a${RLO}b` } } },
    "validation_failed",
    "labels.team",
  ),
  refuse(
    "RLI (an isolate) in a description",
    TOKENS,
    { body: { name: "bidi", description: "a\u2067b\u2069" } },
    "validation_failed",
    "description",
  ),
  refuse(
    "LRE (an embedding) in a label value",
    TOKENS,
    { body: { name: "bidi", labels: { x: "\u202ab" } } },
    "validation_failed",
    "labels.x",
  ),
];

const nulAndSurrogates: Case[] = [
  refuse("NUL in a project name", PROJECTS, { raw: '{"name":"a\\u0000b"}' }, "validation_failed", "name"),
  refuse(
    "NUL in a description",
    PROJECTS,
    { raw: '{"name":"nul","description":"a\\u0000b"}' },
    "validation_failed",
    "description",
  ),
  refuse(
    "NUL in a label value",
    ACCOUNTS,
    { raw: '{"name":"nul","labels":{"k":"\\u0000"}}' },
    "validation_failed",
    "labels.k",
  ),
  refuse(
    "NUL in a label key",
    ACCOUNTS,
    { raw: '{"name":"nul","labels":{"k\\u0000":"v"}}' },
    "validation_failed",
    "labels",
  ),
  refuse(
    "a lone high surrogate in a description",
    PROJECTS,
    { raw: '{"name":"sur","description":"a\\ud800b"}' },
    "validation_failed",
    "description",
  ),
  refuse(
    "a lone low surrogate in an owner",
    ACCOUNTS,
    { raw: '{"name":"sur","owner":"\\udc00"}' },
    "validation_failed",
    "owner",
  ),
  refuse(
    "a lone surrogate in a label",
    TOKENS,
    { raw: '{"name":"sur","labels":{"k":"\\udbff"}}' },
    "validation_failed",
    "labels.k",
  ),
  refuse(
    "a lone surrogate in a token name",
    TOKENS,
    { raw: '{"name":"a\\ud800"}' },
    "validation_failed",
    "name",
  ),
  refuse(
    "a surrogate encoded in UTF-8 bytes (CESU-8)",
    PROJECTS,
    {
      raw: new Uint8Array([
        ...Buffer.from('{"name":"x","description":"'),
        0xed,
        0xa0,
        0x80,
        ...Buffer.from('"}'),
      ]),
    },
    "invalid_json",
  ),
  refuse(
    "an overlong UTF-8 NUL",
    PROJECTS,
    { raw: new Uint8Array([...Buffer.from('{"name":"'), 0xc0, 0x80, ...Buffer.from('"}')]) },
    "invalid_json",
  ),
];

/**
 * Names that are unique (projects, service accounts in a project, label keys) are lowercase ASCII
 * DNS labels and token names are ASCII: no two spellings of one name after NFC or NFKC can both be
 * accepted. Each twin of an existing name ("hostile", "builder") is refused, not created beside it.
 */
const twins: Case[] = [
  refuse(
    "a fullwidth twin of a project name (NFKC)",
    PROJECTS,
    { body: { name: "ｈｏｓｔｉｌｅ" } },
    "validation_failed",
    "name",
  ),
  refuse(
    "a ligature twin (NFKC: ﬁ → fi)",
    PROJECTS,
    { body: { name: "proﬁle" } },
    "validation_failed",
    "name",
  ),
  refuse(
    "a Kelvin-sign twin (NFKC: K → k)",
    PROJECTS,
    { body: { name: "\u212aey" } },
    "validation_failed",
    "name",
  ),
  refuse(
    "a combining-accent twin (NFC: e + ◌́ → é)",
    ACCOUNTS,
    { body: { name: "cafe\u0301" } },
    "validation_failed",
    "name",
  ),
  refuse(
    "a fullwidth twin of an account name",
    ACCOUNTS,
    { body: { name: "ｂuilder" } },
    "validation_failed",
    "name",
  ),
  refuse(
    "a mathematical-bold twin of a token name",
    TOKENS,
    { body: { name: "\u{1d41c}i" } },
    "validation_failed",
    "name",
  ),
  refuse(
    "a fullwidth label key",
    PROJECTS,
    { body: { name: "twin", labels: { ｔeam: "a" } } },
    "validation_failed",
    "labels",
  ),
  refuse(
    "a dotless-i twin (case folding)",
    ACCOUNTS,
    { body: { name: "bu\u0131lder" } },
    "validation_failed",
    "name",
  ),
];

const numbers: Case[] = [
  refuse(
    "ttl_seconds 1e309 (Infinity)",
    TOKENS,
    { raw: '{"name":"n","ttl_seconds":1e309}' },
    "validation_failed",
    "ttl_seconds",
  ),
  refuse(
    "ttl_seconds -1e309",
    TOKENS,
    { raw: '{"name":"n","ttl_seconds":-1e309}' },
    "validation_failed",
    "ttl_seconds",
  ),
  refuse(
    "ttl_seconds 2^53",
    TOKENS,
    { raw: '{"name":"n","ttl_seconds":9007199254740992}' },
    "ttl_out_of_range",
    "ttl_seconds",
  ),
  refuse(
    "ttl_seconds 2^53 + 1 (not representable)",
    TOKENS,
    { raw: '{"name":"n","ttl_seconds":9007199254740993}' },
    "ttl_out_of_range",
    "ttl_seconds",
  ),
  refuse(
    "ttl_seconds 1e400 as a fraction-free exponent",
    TOKENS,
    { raw: '{"name":"n","ttl_seconds":1E400}' },
    "validation_failed",
    "ttl_seconds",
  ),
  refuse(
    "ttl_seconds 4e-324 (denormal)",
    TOKENS,
    { raw: '{"name":"n","ttl_seconds":4e-324}' },
    "validation_failed",
    "ttl_seconds",
  ),
  refuse(
    "ttl_seconds -0",
    TOKENS,
    { raw: '{"name":"n","ttl_seconds":-0}' },
    "ttl_out_of_range",
    "ttl_seconds",
  ),
  refuse(
    "expiration_seconds 1e309",
    REQUESTS,
    { raw: '{"expiration_seconds":1e309}' },
    "validation_failed",
    "expiration_seconds",
  ),
  refuse(
    "previous_expires_in_seconds 2^53",
    "/v1/tokens/{token}/rotate",
    { raw: '{"previous_expires_in_seconds":9007199254740992}' },
    "validation_failed",
    "previous_expires_in_seconds",
  ),
  refuse("limit=1e309 in the query", "/v1/tokens?limit=1e309", {}, "validation_failed", "limit", "GET"),
  refuse(
    "limit=2^53 in the query",
    "/v1/projects?limit=9007199254740992",
    {},
    "validation_failed",
    "limit",
    "GET",
  ),
  refuse(
    "expiring_within_days=Infinity",
    "/v1/tokens?expiring_within_days=Infinity",
    {},
    "validation_failed",
    "expiring_within_days",
    "GET",
  ),
];

const CATALOGUE: Record<string, Case[]> = {
  "truncated JSON": truncated,
  "10,000-deep nesting": deep,
  "duplicate names": duplicates,
  "prototype keys": prototypes,
  "bidirectional overrides": bidi,
  "NUL and lone surrogates": nulAndSurrogates,
  "normalisation twins": twins,
  "numbers beyond range and precision": numbers,
};

// ---------------------------------------------------------------------------------------------------

describe("hostile input", () => {
  let server: TestServer;
  let tokenId: string;
  const prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort();

  beforeAll(async () => {
    // A clock that stands still: last_used_at is written once, so a full dump is stable.
    server = await startServer({ clock: new ManualClock() });
    for (const [path, body] of [
      [PROJECTS, { name: "hostile" }],
      [ACCOUNTS, { name: "builder", role: "contributor" }],
    ] as const) {
      const res = await server.api("POST", path, { body });
      expect(res.status, res.text).toBe(201);
    }
    const token = await server.api("POST", TOKENS, { body: { name: "ci" } });
    expect(token.status, token.text).toBe(201);
    tokenId = token.body.id;
    await server.api("GET", "/v1/whoami");
  });
  afterAll(() => server?.close());

  async function send(c: Case): Promise<ApiResponse> {
    const path = c.path.replaceAll("{token}", tokenId);
    const headers: Record<string, string> = { authorization: `Bearer ${server.bootstrapToken}` };
    let body: string | Uint8Array<ArrayBuffer> | undefined = c.raw;
    if (c.body !== undefined) body = JSON.stringify(c.body);
    if (body !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(server.url + path, { method: c.method, headers, body });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // keep the text
    }
    return { status: response.status, headers: response.headers, body: parsed, text };
  }

  for (const [group, cases] of Object.entries(CATALOGUE)) {
    describe(group, () => {
      for (const c of cases) {
        it(`${c.name} → ${c.status} ${c.code}${c.field ? ` naming ${c.field}` : ""}`, async () => {
          const before = await allRows(server.latchkey.deps.db);
          const res = await send(c);
          expect(res.status, res.text).toBe(c.status);
          expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
          expect(res.body.code, res.text).toBe(c.code);
          if (c.field) {
            const fields = (res.body.errors ?? []).map((e: { field: string }) => e.field);
            expect(
              fields.some((f: string) => f === c.field || f.startsWith(`${c.field}.`)),
              res.text,
            ).toBe(true);
            expect(res.body.detail).toContain(c.field);
          }
          expect(await allRows(server.latchkey.deps.db)).toEqual(before);
          expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeBefore);
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        });
      }
    });
  }

  it("a byte-order mark before the body is ignored (RFC 8259 §8.1 lets a parser do so): accepted, nothing of it stored", async () => {
    const res = await send({
      name: "bom",
      method: "POST",
      path: PROJECTS,
      raw: new Uint8Array([0xef, 0xbb, 0xbf, ...Buffer.from('{"name":"bom","description":"after a BOM"}')]),
      status: 201,
      code: "validation_failed",
    });
    expect(res.status, res.text).toBe(201);
    const stored = await server.api("GET", `${PROJECTS}/bom`);
    expect(stored.body).toMatchObject({ name: "bom", description: "after a BOM" });
  });

  it("a byte-order mark inside a name is refused; inside free text it is kept as sent", async () => {
    const named = await server.api("POST", PROJECTS, { body: { name: "\ufeffbom2" } });
    expect(named.status).toBe(400);
    expect(named.body.errors[0].field).toBe("name");
    const text = await server.api("POST", PROJECTS, { body: { name: "bom3", description: "a\ufeffb" } });
    expect(text.status, text.text).toBe(201);
    expect(text.body.description).toBe("a\ufeffb");
  });

  it("free text is stored exactly as sent, not normalised (descriptions are not unique; NFD stays NFD)", async () => {
    const nfd = "cafe\u0301 \ufb01le \uff21"; // decomposed é, a ligature, a fullwidth A
    const res = await server.api("POST", PROJECTS, {
      body: { name: "nfd", description: nfd, labels: { k: nfd } },
    });
    expect(res.status, res.text).toBe(201);
    const stored = await server.api("GET", `${PROJECTS}/nfd`);
    expect(stored.body.description).toBe(nfd);
    expect(stored.body.labels.k).toBe(nfd);
  });

  it("no two spellings of one name exist: every NFC/NFKC/case-folded form of every stored name is the name itself", async () => {
    const names: string[] = [];
    for (const path of [PROJECTS, ACCOUNTS, TOKENS]) {
      const list = await server.api("GET", `${path}?limit=500`);
      names.push(...list.body.items.map((i: { name: string }) => i.name));
    }
    expect(names.length).toBeGreaterThan(3);
    for (const name of names) {
      expect(name.normalize("NFKC").toLowerCase(), name).toBe(name.toLowerCase());
      expect(/^[\x20-\x7e]+$/.test(name), name).toBe(true);
    }
  });

  it("expiration_seconds of 2^53 on a token request is shortened to the policy maximum (SPEC §4, Kubernetes semantics)", async () => {
    const res = await send({
      name: "clamp",
      method: "POST",
      path: REQUESTS,
      raw: '{"expiration_seconds":9007199254740992}',
      status: 201,
      code: "validation_failed",
    });
    expect(res.status, res.text).toBe(201);
    const seconds = (Date.parse(res.body.expiration_timestamp) - new ManualClock().now().getTime()) / 1000;
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThanOrEqual(366 * 86400);
  });

  it("the server is still up and the prototype untouched after the whole catalogue", async () => {
    expect((await server.api("GET", "/healthz")).status).toBe(200);
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeBefore);
    for (const probe of [{}, [], Object.create(null)]) expect((probe as any).polluted).toBeUndefined();
  });
});

describe("tokens in query strings (the real process): refused, and never logged", () => {
  let proc: ServerProcess;
  let boot = "";

  beforeAll(async () => {
    proc = await startServerProcess({ logLevel: "debug" });
    boot = proc.stdout().match(/lk_[0-9A-Za-z]{49}/)?.[0] ?? "";
    expect(boot).not.toBe("");
  });
  afterAll(async () => {
    await proc?.stop();
    if (proc) rmSync(proc.dataDir, { recursive: true, force: true });
  });

  it("refuses ?access_token=, ?token= and token-shaped values on every kind of route, with or without a header", async () => {
    const minted = await http(proc.url, "POST", "/v1/projects/default/service-accounts/bootstrap/tokens", {
      token: boot,
      body: { name: "in-url" },
    });
    expect(minted.status).toBe(201);
    const secret: string = minted.body.token;
    const jwt = await http(proc.url, "POST", "/v1/projects/default/service-accounts/bootstrap/tokens", {
      token: boot,
      body: { name: "in-url-jwt", format: "jwt" },
    });
    const jwtSecret: string = jwt.body.token;
    const routes = [
      "/v1/whoami",
      "/v1/projects",
      "/v1/projects/default",
      "/v1/tokens",
      "/v1/auth/check",
      "/healthz",
      "/ui",
      "/.well-known/jwks.json",
    ];
    const queries: [string, string][] = [
      [`access_token=${secret}`, "query.access_token"],
      [`token=${encodeURIComponent(secret)}`, "query.token"],
      [`Access_Token=${secret}`, "query.Access_Token"],
      [`token=not-even-a-token`, "query.token"],
      [`q=${secret}`, "query"],
      [`access_token=${jwtSecret}`, "query.access_token"],
      [`x=${jwtSecret}`, "query"],
    ];
    let n = 0;
    for (const route of routes) {
      for (const [query, field] of queries) {
        for (const header of [undefined, boot]) {
          const res = await http(proc.url, "GET", `${route}?${query}`, { token: header });
          expect(res.status, `${route}?${query.slice(0, 20)}: ${res.text}`).toBe(400);
          expect(res.body.code).toBe("validation_failed");
          expect(res.body.errors[0].field).toBe(field);
          expect(res.text).not.toContain(secret);
          expect(res.text).not.toContain(jwtSecret.split(".")[2]);
          n += 1;
        }
      }
    }
    // The token from the URL did not authenticate anything, and was not counted as used.
    const view = await http(proc.url, "GET", `/v1/tokens/${minted.body.id}`, { token: boot });
    expect(view.body.last_used_at).toBeNull();
    expect(await proc.stop()).toBe(0);
    const logs = proc.stdout().replace(boot, "") + proc.stderr();
    expect(logs.length).toBeGreaterThan(1000);
    expect(logs).not.toContain(secret);
    expect(logs).not.toContain(secret.slice(3, 30));
    expect(logs).not.toContain(jwtSecret.split(".")[2]);
    expect(logs).not.toContain("not-even-a-token");
    expect(n).toBe(routes.length * queries.length * 2);
  });
});
