/** The Latchkey API as the browser sees it: same-origin fetch with the session cookie and CSRF header. */

import type { Page, Role, Scope, WhoAmI } from "../../../packages/sdk/src/admin/types.ts";

// The API's shapes, declared once in the SDK (and checked there against /openapi.json); type-only,
// so nothing of the SDK lands in the bundle.
export type {
  AuditEvent,
  IssuedToken,
  Page,
  Project,
  Role,
  Scope,
  ServiceAccount,
  Token,
  TokenState,
  WhoAmI,
} from "../../../packages/sdk/src/admin/types.ts";
export type { Access } from "../../../packages/sdk/src/jwt/claims.ts";

export const ROLES: readonly Role[] = ["viewer", "contributor", "admin", "owner"];

export interface Session {
  csrf_token: string;
  expires_at: string;
  whoami: WhoAmI;
}

export interface FieldError {
  field: string;
  message: string;
}

/** An RFC 9457 problem (or a network failure) as the UI shows it. */
export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
    readonly errors: FieldError[] = [],
  ) {
    super(detail);
  }

  /** The message for one field, matched on its last path segment (`token.name` matches `name`). */
  forField(...names: string[]): string | undefined {
    for (const e of this.errors) {
      const last = e.field.split(".").pop() ?? e.field;
      if (names.includes(e.field) || names.includes(last)) return e.message;
    }
    return undefined;
  }
}

// Held in memory only: never in storage or the URL. A reload asks GET /ui/session again.
let csrfToken: string | null = null;
let onSessionLost: (() => void) | null = null;

export function setCsrfToken(value: string | null): void {
  csrfToken = value;
}

/** Called when an API call answers 401: the session has ended (expired, revoked, signed out elsewhere). */
export function setSessionLostHandler(handler: (() => void) | null): void {
  onSessionLost = handler;
}

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (UNSAFE.has(method) && csrfToken) headers["x-csrf-token"] = csrfToken;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiProblem(
      0,
      "network_error",
      "The server could not be reached. Check your connection and try again.",
    );
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const p = (parsed ?? {}) as { code?: string; detail?: string; title?: string; errors?: FieldError[] };
    const problem = new ApiProblem(
      response.status,
      p.code ?? "http_" + response.status,
      p.detail ?? p.title ?? `The server answered ${response.status}.`,
      Array.isArray(p.errors) ? p.errors : [],
    );
    if (response.status === 401 && !path.startsWith("/ui/session")) onSessionLost?.();
    throw problem;
  }
  return parsed as T;
}

export const get = <T>(path: string) => request<T>("GET", path);

/** Adds the defined, non-empty entries to the query of `path` (which may already have one). */
export function withQuery(path: string, query: Record<string, string | number | undefined | null>): string {
  const [base, existing] = path.split("?", 2) as [string, string | undefined];
  const params = new URLSearchParams(existing ?? "");
  for (const [k, v] of Object.entries(query))
    if (v !== undefined && v !== null && v !== "") params.set(k, String(v));
  const s = params.toString();
  return s ? `${base}?${s}` : base;
}

/** Every page of a cursor list (bounded, so a huge list cannot hang the browser). */
export async function all<T>(path: string, maxPages = 20): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < maxPages; i++) {
    const page: Page<T> = await get<Page<T>>(withQuery(path, { limit: 200, cursor }));
    out.push(...page.items);
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  return out;
}

export const enc = encodeURIComponent;

export function saPath(project: string, name?: string): string {
  const base = `/v1/projects/${enc(project)}/service-accounts`;
  return name === undefined ? base : `${base}/${enc(name)}`;
}

// ---- roles -------------------------------------------------------------------------------------

export function roleRank(role: Role): number {
  return ROLES.indexOf(role);
}

/** What the signed-in principal may do, from whoami (the server checks again on every call). */
export interface Abilities {
  role: Role;
  scope: Scope;
  homeProject: string;
  canWrite: boolean;
  canReadAudit: boolean;
  grantableRoles: Role[];
  canGrantOrganization: boolean;
  /** Projects where writes are possible (null: every project). */
  writableProject: string | null;
}

export function abilities(who: WhoAmI): Abilities {
  const role = who.effective_role;
  const scope = who.service_account.scope;
  const rank = roleRank(role);
  return {
    role,
    scope,
    homeProject: who.service_account.project,
    canWrite: rank >= roleRank("contributor"),
    canReadAudit: rank >= roleRank("admin"),
    grantableRoles: ROLES.filter((r) => roleRank(r) <= rank),
    canGrantOrganization: scope === "organization" && rank >= roleRank("admin"),
    writableProject: scope === "organization" ? null : who.service_account.project,
  };
}

/** Whether the caller may change (or mint for) an account with this role and scope. */
export function canManage(
  a: Abilities,
  sa: { project: string; role: Role; scope: Scope } | undefined,
): boolean {
  if (!a.canWrite) return false;
  if (a.writableProject !== null && sa && sa.project !== a.writableProject) return false;
  if (!sa) return true;
  if (roleRank(sa.role) > roleRank(a.role)) return false;
  if (sa.scope === "organization" && !a.canGrantOrganization) return false;
  return true;
}
