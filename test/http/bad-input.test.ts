import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/lib/clock.ts";
import { type ErrorCode, errorCodes } from "../../src/lib/errors.ts";
import { type ApiResponse, rowCounts, startServer, type TestServer } from "../helpers/server.ts";
import { allRows } from "../helpers/store.ts";

/**
 * Bad input and failure: every malformed request to a write endpoint (and to the list queries and
 * path parameters) gets a 4xx problem+json that names the problem, and leaves the database exactly
 * as it was. No client input produces a 5xx.
 */

// ---------------------------------------------------------------------------------------------
// The table of bad requests
// ---------------------------------------------------------------------------------------------

interface Case {
  name: string;
  method: "GET" | "POST" | "PATCH" | "DELETE";
  /** `{token}` stands for the id of a live token (the fixture). */
  path: string;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as is: text (with `contentType`, or fetch's text/plain) or bytes (no content type unless given). */
  raw?: string | Uint8Array<ArrayBuffer>;
  contentType?: string;
  /** Bearer token; undefined is the bootstrap owner, null sends no Authorization. */
  token?: string | null;
  status: number;
  code: ErrorCode;
  /** The field at fault: named in errors[].field (or a sub-field of it) and in the detail. */
  field?: string;
}

type Bad = [label: string, value: unknown, code?: ErrorCode];

const JSON_TYPE = "application/json";
const TEN_K = "x".repeat(10_000);
const MAX_TTL = 366 * 86400;

const notAString: Bad[] = [
  ["a number", 42],
  ["null", null],
  ["an array", ["x"]],
  ["an object", { x: "y" }],
  ["a boolean", true],
];
const notANumber: Bad[] = [
  ["a numeric string", "3600"],
  ["null", null],
  ["an array", [3600]],
  ["an object", { seconds: 3600 }],
  ["a boolean", true],
];
const notABoolean: Bad[] = [
  ["a string", "true"],
  ["a number", 1],
  ["null", null],
  ["an array", [true]],
];
const controlCharacters: Bad[] = [
  ["a NUL (\\u0000)", "a\u0000b"],
  ["a newline (\\n)", "a\nb"],
  ["a DEL (\\u007f)", "a\u007fb"],
];

const dnsLabel: Bad[] = [
  ["an emoji", "build-🔥"],
  ...controlCharacters,
  ["10,000 characters", "a".repeat(10_000)],
  ["64 characters", "a".repeat(64)],
  ["uppercase", "Builder"],
  ["an empty string", ""],
  ["a leading hyphen", "-build"],
  ["an underscore", "build_bot"],
  ...notAString,
];
const tokenName: Bad[] = [
  ["an emoji", "ci 🔥"],
  ...controlCharacters,
  ["10,000 characters", TEN_K],
  ["129 characters", "a".repeat(129)],
  ["an empty string", ""],
  ["a leading space", " ci"],
  ...notAString,
];
const freeText = (max: number): Bad[] => [
  ...controlCharacters,
  ["a C1 control (\\u0085)", "a\u0085b"],
  ["a lone surrogate (\\ud800)", "a\ud800b"],
  ["10,000 characters", TEN_K],
  [`${max + 1} characters`, "x".repeat(max + 1)],
  ...notAString,
];
const labels: Bad[] = [
  ["an array", ["team=x"]],
  ["a string", "team=x"],
  ["null", null],
  ["a number", 1],
  ["an uppercase key", { Team: "x" }],
  ["an emoji key", { "🔥": "x" }],
  ["an empty key", { "": "x" }],
  ["a 64-character key", { ["k".repeat(64)]: "x" }],
  ["a number value", { team: 1 }],
  ["a null value", { team: null }],
  ["an object value", { team: { a: "b" } }],
  ["a control character in a value", { team: "a\u0000" }],
  ["a 10,000-character value", { team: TEN_K }],
  ["65 keys", Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, "v"]))],
];
const role: Bad[] = [
  ["an unknown role", "superuser"],
  ["uppercase", "OWNER"],
  ["an empty string", ""],
  ["a number", 3],
  ["null", null],
  ["an array", ["owner"]],
];
const scope: Bad[] = [
  ["an unknown scope", "galaxy"],
  ["capitalised", "Project"],
  ["null", null],
  ["a number", 1],
];
const access: Bad[] = [
  ["an unknown level", "admin"],
  ["uppercase", "READ-WRITE"],
  ["an empty string", ""],
  ["a number", 42],
  ["null", null],
];
const format: Bad[] = [
  ["an unknown format", "pem"],
  ["uppercase", "OPAQUE"],
  ["null", null],
  ["a number", 1],
];
const audiences: Bad[] = [
  ["a string", "api"],
  ["a number item", [1]],
  ["duplicate items", ["api", "api"]],
  ["an empty item", [""]],
  ["whitespace in an item", ["my api"]],
  ["a control character in an item", ["api\u0000"]],
  ["a 257-character item", ["a".repeat(257)]],
  ["21 items", Array.from({ length: 21 }, (_, i) => `aud-${i}`)],
  ["null", null],
  ["an object", { api: true }],
];
const ttlSeconds: Bad[] = [
  ["negative", -1, "ttl_out_of_range"],
  ["zero", 0, "ttl_out_of_range"],
  ["below the minimum (599)", 599, "ttl_out_of_range"],
  ["above the maximum", MAX_TTL + 1, "ttl_out_of_range"],
  ["huge (1e308)", 1e308, "ttl_out_of_range"],
  ["hugely negative (-1e308)", -1e308, "ttl_out_of_range"],
  ["fractional (600.5)", 600.5],
  ["fractional (0.5)", 0.5],
  ["a duration string", "90d"],
  ...notANumber,
];
const previousExpiresInSeconds: Bad[] = [
  ["negative", -1],
  ["huge (1e308)", 1e308],
  ["above 366 days", MAX_TTL + 1],
  ["fractional (0.5)", 0.5],
  ["fractional (59.9)", 59.9],
  ...notANumber,
];
const previousExpiresAt: Bad[] = [
  ["not a date", "tomorrow"],
  ["month 13", "2030-13-01T00:00:00Z"],
  ["a leap second JavaScript cannot represent", "2030-06-30T23:59:60Z"],
  ["in the past", "2029-12-31T23:59:59Z"],
  ["without a time zone", "2030-06-01T00:00:00"],
  ["an empty string", ""],
  ...notAString,
];

interface WriteEndpoint {
  route: string;
  method: "POST" | "PATCH";
  path: string;
  /** The smallest valid body; bad values are set on top of it. */
  base: Record<string, unknown>;
  fields: Record<string, Bad[]>;
  /** Fields the endpoint does not have (some exist elsewhere). */
  unknown: string[];
}

const PROJECT = "/v1/projects/acme";
const ACCOUNTS = `${PROJECT}/service-accounts`;
const ACCOUNT = `${ACCOUNTS}/builder`;
const TOKENS = `${ACCOUNT}/tokens`;
const TOKEN = "/v1/tokens/{token}";

const rotateFields = {
  ttl_seconds: ttlSeconds,
  previous_expires_in_seconds: previousExpiresInSeconds,
  previous_expires_at: previousExpiresAt,
  retire_previous_on_first_use: notABoolean,
};

const writeEndpoints: WriteEndpoint[] = [
  {
    route: "POST /v1/projects",
    method: "POST",
    path: "/v1/projects",
    base: { name: "fresh" },
    fields: { name: dnsLabel, description: freeText(1024), labels },
    unknown: ["owner", "id", "is_admin"],
  },
  {
    route: "PATCH /v1/projects/{project}",
    method: "PATCH",
    path: PROJECT,
    base: {},
    fields: { description: freeText(1024), labels },
    unknown: ["name", "created_by"],
  },
  {
    route: "POST /v1/projects/{project}/service-accounts",
    method: "POST",
    path: ACCOUNTS,
    base: { name: "fresh" },
    fields: {
      name: dnsLabel,
      description: freeText(1024),
      owner: freeText(256),
      role,
      scope,
      labels,
    },
    unknown: ["disabled", "email", "project"],
  },
  {
    route: "PATCH /v1/projects/{project}/service-accounts/{name}",
    method: "PATCH",
    path: ACCOUNT,
    base: {},
    fields: {
      description: freeText(1024),
      owner: freeText(256),
      role,
      scope,
      disabled: notABoolean,
      labels,
    },
    unknown: ["name", "id"],
  },
  {
    route: "POST /v1/projects/{project}/service-accounts/{name}/tokens",
    method: "POST",
    path: TOKENS,
    base: { name: "fresh" },
    fields: {
      name: tokenName,
      description: freeText(1024),
      owner: freeText(256),
      access,
      format,
      audiences,
      ttl_seconds: ttlSeconds,
      labels,
    },
    unknown: ["token", "expires_at", "rotated_from"],
  },
  {
    route: "PATCH /v1/tokens/{id}",
    method: "PATCH",
    path: TOKEN,
    base: {},
    fields: { name: tokenName, description: freeText(1024), owner: freeText(256), labels },
    unknown: ["access", "ttl_seconds", "revoked_at"],
  },
  {
    route: "POST /v1/tokens/{id}/rotate",
    method: "POST",
    path: `${TOKEN}/rotate`,
    base: {},
    fields: rotateFields,
    unknown: ["name", "expires_at"],
  },
  {
    route: "POST /v1/tokens/self/rotate",
    method: "POST",
    path: "/v1/tokens/self/rotate",
    base: {},
    fields: rotateFields,
    unknown: ["name", "token"],
  },
];

const problem = (code: ErrorCode, field?: string) => ({ status: errorCodes[code].status, code, field });

/** The base body with one more member, written as raw JSON text. */
const withMember = (base: object, member: string): string => {
  const json = JSON.stringify(base);
  return json === "{}" ? `{${member}}` : `${json.slice(0, -1)},${member}}`;
};

function writeCases(e: WriteEndpoint): Case[] {
  const at = { method: e.method, path: e.path };
  const json = (
    name: string,
    raw: string | Uint8Array<ArrayBuffer>,
    code: ErrorCode,
    field?: string,
  ): Case => ({
    name: `${e.route}: ${name}`,
    ...at,
    raw,
    contentType: JSON_TYPE,
    ...problem(code, field),
  });
  const cases: Case[] = [];

  for (const [field, bads] of Object.entries(e.fields)) {
    for (const [label, value, code] of bads) {
      cases.push({
        name: `${e.route}: ${field} is ${label}`,
        ...at,
        body: { ...e.base, [field]: value },
        ...problem(code ?? "validation_failed", field),
      });
    }
  }
  for (const field of e.unknown) {
    cases.push({
      name: `${e.route}: unknown field ${field}`,
      ...at,
      body: { ...e.base, [field]: "x" },
      ...problem("validation_failed", field),
    });
  }
  if ("ttl_seconds" in e.fields) {
    cases.push(
      json(
        "ttl_seconds is 1e309 (Infinity, not a number JSON can carry)",
        withMember(e.base, `"ttl_seconds":1e309`),
        "validation_failed",
        "ttl_seconds",
      ),
    );
    cases.push(
      json("ttl_seconds is -0", withMember(e.base, `"ttl_seconds":-0`), "ttl_out_of_range", "ttl_seconds"),
    );
  }
  if ("previous_expires_at" in e.fields) {
    cases.push({
      name: `${e.route}: both previous_expires_at and previous_expires_in_seconds`,
      ...at,
      body: { previous_expires_at: "2030-06-01T00:00:00Z", previous_expires_in_seconds: 60 },
      ...problem("validation_failed", "previous_expires_at"),
    });
  }
  if ("name" in e.base) {
    cases.push({ name: `${e.route}: no body`, ...at, ...problem("validation_failed", "name") });
    cases.push(json("an empty JSON body", "", "validation_failed", "name"));
    cases.push({ name: `${e.route}: {}`, ...at, body: {}, ...problem("validation_failed", "name") });
    cases.push({
      name: `${e.route}: name missing`,
      ...at,
      body: { description: "no name" },
      ...problem("validation_failed", "name"),
    });
  }

  // JSON that is not an object
  for (const [label, raw] of [
    ["null", "null"],
    ["an array", "[]"],
    ["an array holding a valid body", JSON.stringify([e.base])],
    ["a string", '"name=fresh"'],
    ["a number", "42"],
    ["true", "true"],
  ] as const) {
    cases.push(json(`the body is ${label}`, raw, "validation_failed", "body"));
  }
  // Malformed JSON
  for (const [label, raw] of [
    ["truncated", `${JSON.stringify({ ...e.base, description: "x" }).slice(0, -2)}`],
    ["single quotes", "{'name': 'fresh'}"],
    ["an unquoted key", "{name: 1}"],
    ["a trailing comma", withMember(e.base, `"description":"x",`)],
    ["two documents", "{}{}"],
    ["NaN", '{"ttl_seconds": NaN}'],
    ["a comment", "{/* hi */}"],
    ["whitespace only", "   \n"],
    ["a lone brace", "{"],
  ] as const) {
    cases.push(json(`malformed JSON (${label})`, raw, "invalid_json"));
  }
  cases.push(
    json(
      "invalid UTF-8 in a string",
      Buffer.concat([Buffer.from('{"description":"caf'), Buffer.from([0xe9]), Buffer.from('"}')]),
      "invalid_json",
    ),
  );
  // Prototype pollution attempts
  for (const [label, member] of [
    ["__proto__", '"__proto__":{"role":"owner","is_admin":true}'],
    ["__proto__ written with an escape", '"\\u005f_proto__":{"is_admin":true}'],
    ["constructor.prototype", '"constructor":{"prototype":{"is_admin":true}}'],
    ["__proto__ inside labels", '"labels":{"__proto__":{"team":"x"}}'],
  ] as const) {
    cases.push(json(`a ${label} key`, withMember(e.base, member), "invalid_json"));
  }
  // Wrong content type
  const valid = JSON.stringify(e.base);
  for (const [label, contentType, raw] of [
    ["text/plain", "text/plain", valid],
    ["form-urlencoded", "application/x-www-form-urlencoded", "name=fresh"],
    ["multipart/form-data", "multipart/form-data; boundary=x", '--x\r\n\r\n{"name":"fresh"}\r\n--x--'],
    ["application/xml", "application/xml", "<name>fresh</name>"],
    ["application/problem+json", "application/problem+json", valid],
  ] as const) {
    cases.push({
      name: `${e.route}: content type ${label}`,
      ...at,
      raw,
      contentType,
      ...problem("unsupported_media_type"),
    });
  }
  cases.push({
    name: `${e.route}: a body with no content type`,
    ...at,
    raw: new TextEncoder().encode(valid),
    ...problem("unsupported_media_type"),
  });
  // Oversized body (the limit is 64 KiB)
  cases.push({
    name: `${e.route}: a 70 KiB description`,
    ...at,
    body: { ...e.base, description: "x".repeat(70 * 1024) },
    ...problem("payload_too_large"),
  });
  cases.push(json("valid JSON padded past 64 KiB", `${valid}${" ".repeat(64 * 1024)}`, "payload_too_large"));
  return cases;
}

const NIL_UUID = "00000000-0000-0000-0000-000000000000";

const queryCases: Case[] = [
  ...(
    [
      ["GET /v1/projects", "/v1/projects"],
      ["GET /v1/projects/{project}/service-accounts", ACCOUNTS],
      ["GET …/service-accounts/{name}/tokens", TOKENS],
      ["GET /v1/audit-events", "/v1/audit-events"],
    ] as const
  ).flatMap(([route, path]): Case[] => [
    ...(
      [
        ["0", "0"],
        ["negative", "-1"],
        ["fractional", "1.5"],
        ["not a number", "abc"],
        ["above 500", "501"],
        ["1e308", "1e308"],
        ["empty", ""],
        ["given twice", "1&limit=2"],
      ] as const
    ).map(([label, value]): Case => ({
      name: `${route}: limit ${label}`,
      method: "GET",
      path: `${path}?limit=${value}`,
      ...problem("validation_failed", "limit"),
    })),
    {
      name: `${route}: a cursor that is not base64 JSON`,
      method: "GET",
      path: `${path}?cursor=%25%25not-a-cursor`,
      ...problem("invalid_cursor", "cursor"),
    },
    {
      name: `${route}: a cursor of the wrong shape`,
      method: "GET",
      path: `${path}?cursor=${Buffer.from(JSON.stringify({ z: [1] })).toString("base64url")}`,
      ...problem("invalid_cursor", "cursor"),
    },
    {
      name: `${route}: a cursor of 1025 characters`,
      method: "GET",
      path: `${path}?cursor=${"a".repeat(1025)}`,
      ...problem("validation_failed", "cursor"),
    },
    {
      name: `${route}: an unknown parameter`,
      method: "GET",
      path: `${path}?sort=name`,
      ...problem("validation_failed", "sort"),
    },
    {
      name: `${route}: a __proto__ parameter`,
      method: "GET",
      path: `${path}?__proto__=x`,
      ...problem("validation_failed", "__proto__"),
    },
  ]),
  ...(
    [
      ["state", "bogus"],
      ["state", "ACTIVE"],
      ["state", ""],
      ["state", "active&state=revoked"],
      ["name", encodeURIComponent("ci 🔥")],
      ["name", "a%00b"],
      ["name", "a".repeat(129)],
    ] as const
  ).map(([field, value]): Case => ({
    name: `GET …/tokens: ${field}=${value.slice(0, 30)}`,
    method: "GET",
    path: `${TOKENS}?${field}=${value}`,
    ...problem("validation_failed", field),
  })),
  ...(
    [
      ["since", "yesterday"],
      ["since", "2030-06-30T23:59:60Z"],
      ["until", "2030-12-31T23:59:60%2B00:00"],
      ["until", "2030-02-30T00:00:00Z"],
      ["outcome", "maybe"],
      ["verify", "maybe"],
      ["action", "a".repeat(129)],
      ["project", "p".repeat(64)],
    ] as const
  ).map(([field, value]): Case => ({
    name: `GET /v1/audit-events: ${field}=${value.slice(0, 30)}`,
    method: "GET",
    path: `/v1/audit-events?${field}=${value}`,
    ...problem("validation_failed", field),
  })),
];

const pathCases: Case[] = [
  ...(
    [
      ["not a UUID", "not-a-uuid"],
      ["a UUID with one character more", "{token}0"],
      ["a UUID without hyphens", "0123456789abcdef0123456789abcdef"],
      ["a NUL", "%00"],
      ["an SQL injection attempt", encodeURIComponent("' OR 1=1 --")],
      ["a path traversal attempt", "..%2F..%2Fetc%2Fpasswd"],
    ] as const
  ).flatMap(([label, id]): Case[] => [
    {
      name: `DELETE /v1/tokens/{id}: id is ${label}`,
      method: "DELETE",
      path: `/v1/tokens/${id}`,
      ...problem("validation_failed", "id"),
    },
    {
      name: `GET /v1/tokens/{id}: id is ${label}`,
      method: "GET",
      path: `/v1/tokens/${id}`,
      ...problem("validation_failed", "id"),
    },
    {
      name: `PATCH /v1/tokens/{id}: id is ${label}`,
      method: "PATCH",
      path: `/v1/tokens/${id}`,
      body: { description: "x" },
      ...problem("validation_failed", "id"),
    },
    {
      name: `POST /v1/tokens/{id}/rotate: id is ${label}`,
      method: "POST",
      path: `/v1/tokens/${id}/rotate`,
      body: {},
      ...problem("validation_failed", "id"),
    },
  ]),
  {
    name: "DELETE /v1/tokens/{id}: a malformed percent-encoding",
    method: "DELETE",
    path: "/v1/tokens/%ZZ",
    ...problem("validation_failed"),
  },
  {
    name: "DELETE /v1/tokens/{id}: a 10,000-character id",
    method: "DELETE",
    path: `/v1/tokens/${"a".repeat(10_000)}`,
    ...problem("validation_failed"),
  },
  {
    name: "DELETE /v1/tokens/{id}: a well-formed id that does not exist",
    method: "DELETE",
    path: `/v1/tokens/${NIL_UUID}`,
    ...problem("not_found"),
  },
  {
    name: "POST /v1/tokens/{id}/rotate: a well-formed id that does not exist",
    method: "POST",
    path: `/v1/tokens/${NIL_UUID}/rotate`,
    body: {},
    ...problem("not_found"),
  },
  ...(
    [
      ["uppercase", "ACME"],
      ["an emoji", encodeURIComponent("acme🔥")],
      ["a newline", "ac%0Ame"],
      ["a NUL", "%00"],
      ["an encoded slash", "ac%2Fme"],
      ["64 characters", "a".repeat(64)],
    ] as const
  ).flatMap(([label, project]): Case[] => [
    {
      name: `DELETE /v1/projects/{project}: project is ${label}`,
      method: "DELETE",
      path: `/v1/projects/${project}`,
      ...problem("validation_failed", "project"),
    },
    {
      name: `PATCH /v1/projects/{project}: project is ${label}`,
      method: "PATCH",
      path: `/v1/projects/${project}`,
      body: { description: "x" },
      ...problem("validation_failed", "project"),
    },
    {
      name: `POST /v1/projects/{project}/service-accounts: project is ${label}`,
      method: "POST",
      path: `/v1/projects/${project}/service-accounts`,
      body: { name: "fresh" },
      ...problem("validation_failed", "project"),
    },
  ]),
  {
    name: "DELETE /v1/projects/{project}: a 10,000-character name",
    method: "DELETE",
    path: `/v1/projects/${"a".repeat(10_000)}`,
    ...problem("validation_failed"),
  },
  {
    name: "DELETE /v1/projects/{project}: a malformed percent-encoding",
    method: "DELETE",
    path: "/v1/projects/%E0%A4%A",
    ...problem("validation_failed"),
  },
  ...(
    [
      ["uppercase", "Builder"],
      ["an emoji", encodeURIComponent("builder🔥")],
      ["a DEL", "builder%7F"],
      ["64 characters", "b".repeat(64)],
    ] as const
  ).flatMap(([label, name]): Case[] => [
    {
      name: `DELETE …/service-accounts/{name}: name is ${label}`,
      method: "DELETE",
      path: `${ACCOUNTS}/${name}`,
      ...problem("validation_failed", "name"),
    },
    {
      name: `PATCH …/service-accounts/{name}: name is ${label}`,
      method: "PATCH",
      path: `${ACCOUNTS}/${name}`,
      body: { description: "x" },
      ...problem("validation_failed", "name"),
    },
    {
      name: `POST …/service-accounts/{name}/tokens: name is ${label}`,
      method: "POST",
      path: `${ACCOUNTS}/${name}/tokens`,
      body: { name: "fresh" },
      ...problem("validation_failed", "name"),
    },
  ]),
];

const credentialCases: Case[] = [
  {
    name: "POST /v1/projects: no Authorization",
    method: "POST",
    path: "/v1/projects",
    body: { name: "fresh" },
    token: null,
    ...problem("unauthenticated"),
  },
  {
    name: "POST /v1/projects: a token that is not a Latchkey token",
    method: "POST",
    path: "/v1/projects",
    body: { name: "fresh" },
    token: "not-a-token",
    ...problem("token_invalid"),
  },
  {
    name: "DELETE /v1/tokens/{id}: a 10,000-character bearer token",
    method: "DELETE",
    path: TOKEN,
    token: TEN_K,
    ...problem("token_invalid"),
  },
];

const cases: Case[] = [
  ...writeEndpoints.flatMap(writeCases),
  ...queryCases,
  ...pathCases,
  ...credentialCases,
];

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

/** Every row of every table (migrations included), in storage order. */
async function dump(server: TestServer): Promise<Record<string, unknown[]>> {
  return allRows(server.latchkey.deps.db);
}

async function snapshot(server: TestServer) {
  return { counts: await rowCounts(server), rows: await dump(server) };
}

/** RFC 9457 with our extensions, a registered code, and a detail that names the problem. */
function expectProblem(res: ApiResponse, code?: ErrorCode, field?: string): void {
  expect(res.status, res.text).toBeGreaterThanOrEqual(400);
  expect(res.status, res.text).toBeLessThan(500);
  expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json\b/);
  const body = res.body;
  expect(Object.keys(errorCodes)).toContain(body.code);
  if (code) expect(body.code).toBe(code);
  const registered = errorCodes[body.code as ErrorCode];
  expect(body).toMatchObject({
    type: `urn:latchkey:problem:${body.code}`,
    title: registered.title,
    status: res.status,
  });
  expect(res.status).toBe(registered.status);
  expect(body.detail).toEqual(expect.any(String));
  expect(body.detail.length).toBeGreaterThan(0);
  expect(body.request_id).toEqual(expect.any(String));
  // A problem never echoes a huge input back.
  expect(res.text.length).toBeLessThan(4096);
  if (body.errors !== undefined) {
    expect(body.errors.length).toBeGreaterThan(0);
    for (const e of body.errors)
      expect(e).toEqual({ field: expect.any(String), message: expect.any(String) });
  }
  if (field) {
    const fields: string[] = (body.errors ?? []).map((e: { field: string }) => e.field);
    expect(
      fields.some((f) => f === field || f.startsWith(`${field}.`)),
      `errors[].field names ${field}: ${res.text}`,
    ).toBe(true);
    expect(body.detail).toContain(field);
  }
}

describe("bad input", () => {
  let server: TestServer;
  let tokenId: string;

  beforeAll(async () => {
    // A clock that stands still: last_used_at is written once, so a full dump is stable.
    server = await startServer({ clock: new ManualClock() });
    const setup: Array<[string, string, unknown]> = [
      ["POST", "/v1/projects", { name: "acme", description: "fixture", labels: { team: "infra" } }],
      ["POST", ACCOUNTS, { name: "builder", role: "contributor" }],
    ];
    for (const [method, path, body] of setup) {
      const res = await server.api(method, path, { body });
      expect(res.status, res.text).toBe(201);
    }
    const token = await server.api("POST", TOKENS, { body: { name: "ci", labels: { env: "prod" } } });
    expect(token.status, token.text).toBe(201);
    tokenId = token.body.id;
  });
  afterAll(() => server?.close());

  async function send(c: Case): Promise<ApiResponse> {
    const path = c.path.replaceAll("{token}", tokenId);
    if (c.raw instanceof Uint8Array) {
      const headers: Record<string, string> = { authorization: `Bearer ${server.bootstrapToken}` };
      if (c.contentType) headers["content-type"] = c.contentType;
      const response = await fetch(server.url + path, { method: c.method, headers, body: c.raw });
      const text = await response.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // keep the text
      }
      return { status: response.status, headers: response.headers, body, text };
    }
    return server.api(c.method, path, {
      token: c.token,
      body: c.body,
      rawBody: c.raw,
      headers: c.contentType ? { "content-type": c.contentType } : undefined,
    });
  }

  it("has a case for every kind of bad input on every write endpoint", () => {
    expect(cases.length).toBeGreaterThan(500);
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
    for (const e of writeEndpoints) expect(cases.some((c) => c.name.startsWith(`${e.route}:`))).toBe(true);
  });

  for (const c of cases) {
    it(`${c.name} → ${c.status} ${c.code}`, async () => {
      const before = await snapshot(server);
      const res = await send(c);
      expect(res.status, res.text).toBe(c.status);
      expectProblem(res, c.code, c.field);
      expect(await snapshot(server)).toEqual(before);
    });
  }

  it("accepts what is printable, emoji and other scripts included, and stores it exactly", async () => {
    const description = "deploys 🚀 from CI — ключ 鍵 مفتاح 👩🏽‍💻";
    const res = await server.api("POST", TOKENS, {
      body: { name: "printable", description, owner: "Zoë 🛠", labels: { team: "naïve ☕" } },
    });
    expect(res.status, res.text).toBe(201);
    const stored = await server.api("GET", `/v1/tokens/${res.body.id}`);
    expect(stored.body).toMatchObject({ description, owner: "Zoë 🛠", labels: { team: "naïve ☕" } });
  });

  // -------------------------------------------------------------------------------------------
  // Fuzz: random bodies never cause a 5xx; a rejected one changes nothing; an accepted one is
  // stored exactly as sent.
  // -------------------------------------------------------------------------------------------

  type FuzzInput = { json: unknown } | { raw: string };

  const anyJson = fc.jsonValue({ maxDepth: 2 });
  const text = fc.oneof(
    { weight: 3, arbitrary: fc.string({ unit: "grapheme", maxLength: 16 }) },
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 16 }) },
  );
  /** Mostly a valid value, sometimes anything at all. */
  const mostly = <T>(valid: fc.Arbitrary<T>, ...junk: fc.Arbitrary<unknown>[]) =>
    fc.oneof({ weight: 5, arbitrary: valid as fc.Arbitrary<unknown> }, ...junk, anyJson);
  const labelMap = mostly(
    fc.dictionary(fc.stringMatching(/^[a-z0-9]{1,8}$/), text, { maxKeys: 3 }),
    fc.dictionary(text, anyJson, { maxKeys: 3 }),
  );
  /** Valid JSON with a few characters spliced in: mostly malformed, sometimes not. */
  const mangled = fc
    .tuple(anyJson, fc.nat(), fc.string({ unit: "binary", minLength: 1, maxLength: 3 }))
    .map(([value, at, junk]): FuzzInput => {
      const json = JSON.stringify(value);
      const i = at % (json.length + 1);
      return { raw: json.slice(0, i) + junk + json.slice(i) };
    });
  /** Plausible records (now and then with a field the endpoint does not have), and anything else. */
  const fuzz = (model: Record<string, fc.Arbitrary<unknown>>) => {
    const record = fc
      .tuple(fc.record(model, { requiredKeys: ["name"] }), fc.nat(9), anyJson)
      .map(([body, n, extra]): FuzzInput => ({ json: n === 0 ? { ...body, is_admin: extra } : body }));
    return fc.oneof(
      { weight: 6, arbitrary: record },
      { weight: 1, arbitrary: anyJson.map((json): FuzzInput => ({ json })) },
      { weight: 1, arbitrary: fc.dictionary(text, anyJson).map((json): FuzzInput => ({ json })) },
      { weight: 1, arbitrary: mangled },
    );
  };

  const tokenBodies = fuzz({
    name: mostly(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9 ._:@/+-]{0,16}$/), text),
    description: mostly(text),
    owner: mostly(text),
    access: mostly(fc.constantFrom("read-only", "read-write"), fc.constant("admin")),
    format: mostly(fc.constant("opaque"), fc.constantFrom("jwt", "pem")),
    audiences: mostly(
      fc.uniqueArray(fc.stringMatching(/^[a-z:/.]{1,10}$/), { maxLength: 3 }),
      fc.array(text),
    ),
    ttl_seconds: mostly(
      fc.integer({ min: 600, max: MAX_TTL }),
      fc.integer(),
      fc.double(),
      fc.constantFrom(0, 599, MAX_TTL + 1, 1e308, -1e308),
    ),
    labels: labelMap,
  });

  const accountBodies = fuzz({
    name: mostly(fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?$/), text),
    description: mostly(text),
    owner: mostly(text),
    role: mostly(fc.constantFrom("viewer", "contributor", "admin", "owner"), fc.constant("root")),
    scope: mostly(fc.constantFrom("project", "organization"), fc.constant("world")),
    labels: labelMap,
  });

  async function fuzzEndpoint(
    path: string,
    bodies: fc.Arbitrary<FuzzInput>,
    storedPath: (res: ApiResponse) => string,
    fields: string[],
  ): Promise<{ accepted: number; rejected: number }> {
    let baseline = await dump(server);
    const tally = { accepted: 0, rejected: 0 };
    await fc.assert(
      fc.asyncProperty(bodies, async (input) => {
        const res =
          "raw" in input
            ? await server.api("POST", path, { rawBody: input.raw, headers: { "content-type": JSON_TYPE } })
            : await server.api("POST", path, { body: input.json });
        expect(res.status, res.text).toBeLessThan(500);
        const after = await dump(server);
        if (res.status >= 400) {
          tally.rejected++;
          expectProblem(res);
          expect(after).toEqual(baseline);
          return;
        }
        tally.accepted++;
        expect(res.status, res.text).toBe(201);
        const sent = ("raw" in input ? JSON.parse(input.raw) : input.json) as Record<string, unknown>;
        const stored = await server.api("GET", storedPath(res));
        expect(stored.status, stored.text).toBe(200);
        for (const field of fields) {
          if (sent[field] !== undefined) expect(stored.body[field], field).toEqual(sent[field]);
        }
        baseline = await dump(server);
      }),
      { numRuns: 150 },
    );
    return tally;
  }

  it("fuzz: 150 random bodies to create-token", async () => {
    const tally = await fuzzEndpoint(TOKENS, tokenBodies, (res) => `/v1/tokens/${res.body.id}`, [
      "name",
      "description",
      "owner",
      "access",
      "audiences",
      "labels",
    ]);
    expect(tally.rejected).toBeGreaterThan(0);
    expect(tally.accepted).toBeGreaterThan(0);
  }, 120_000);

  it("fuzz: 150 random bodies to create-service-account", async () => {
    const tally = await fuzzEndpoint(ACCOUNTS, accountBodies, (res) => `${ACCOUNTS}/${res.body.name}`, [
      "name",
      "description",
      "owner",
      "role",
      "scope",
      "labels",
    ]);
    expect(tally.rejected).toBeGreaterThan(0);
    expect(tally.accepted).toBeGreaterThan(0);
  }, 120_000);
});
