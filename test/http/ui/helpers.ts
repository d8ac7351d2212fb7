import { expect } from "vitest";
import type { ApiResponse, TestServer } from "../../helpers/server.ts";

/** A signed-in browser, reduced to what it sends: the session cookie and the CSRF token. */
export interface Browser {
  /** `latchkey_session=<id>`, as the Cookie header. */
  cookie: string;
  sessionId: string;
  csrf: string;
  /** The sign-in response. */
  signIn: ApiResponse;
}

/** The Set-Cookie header of a response, one string (there is at most one in these tests). */
export const setCookieOf = (res: ApiResponse): string => res.headers.get("set-cookie") ?? "";

/** POST /ui/session with `token`, as a browser at the server's own origin would. */
export async function signIn(
  server: TestServer,
  token: string,
  headers: Record<string, string> = {},
): Promise<ApiResponse> {
  return server.api("POST", "/ui/session", {
    token: null,
    body: { token },
    headers: { origin: server.url, ...headers },
  });
}

/** Signs in and checks that it worked. */
export async function browserFor(server: TestServer, token: string): Promise<Browser> {
  const res = await signIn(server, token);
  expect(res.status, res.text).toBe(201);
  const match = /^latchkey_session=([^;]+)/.exec(setCookieOf(res));
  expect(match, setCookieOf(res)).not.toBeNull();
  const sessionId = match![1]!;
  return { cookie: `latchkey_session=${sessionId}`, sessionId, csrf: res.body.csrf_token, signIn: res };
}

export interface CookieRequest {
  body?: unknown;
  /** The X-CSRF-Token header: the browser's by default, none when null, or this value. */
  csrf?: string | null;
  origin?: string | null;
  headers?: Record<string, string>;
}

/** A request with the session cookie and no Authorization header, as the web UI makes it. */
export function asBrowser(
  server: TestServer,
  browser: Pick<Browser, "cookie" | "csrf">,
  method: string,
  path: string,
  o: CookieRequest = {},
): Promise<ApiResponse> {
  const headers: Record<string, string> = { cookie: browser.cookie, ...o.headers };
  const csrf = o.csrf === undefined ? browser.csrf : o.csrf;
  if (csrf !== null) headers["x-csrf-token"] = csrf;
  const origin = o.origin === undefined ? server.url : o.origin;
  if (origin !== null) headers.origin = origin;
  return server.api(method, path, { token: null, body: o.body, headers });
}

/** Live UI sessions in the store. */
export async function sessionCount(server: TestServer): Promise<number> {
  const db = server.latchkey.deps.db.withTables<{ ui_sessions: { id_digest: string } }>();
  const row = await db
    .selectFrom("ui_sessions")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Audit events of one request, by its X-Request-Id. */
export async function eventsOf(server: TestServer, res: ApiResponse): Promise<any[]> {
  const requestId = res.headers.get("x-request-id");
  const rows = await server.latchkey.deps.db
    .selectFrom("audit_events")
    .selectAll()
    .where("request_id", "=", requestId)
    .orderBy("seq")
    .execute();
  return rows.map((r) => ({ ...r, details: JSON.parse(r.details) }));
}
