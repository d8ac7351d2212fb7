import { currentToken, type Fetch, jsonOf, send, type TokenSource } from "../lib/http.ts";
import { normalizeIssuer } from "../lib/issuer.ts";
import { type FieldError, LatchkeyApiError } from "../util/errors.ts";
import { ADMIN_ROUTES, type AdminRoute, pathOf } from "./routes.ts";
import type {
  AllTokensQuery,
  AuditEvent,
  AuditQuery,
  BoundObjectView,
  ChainVerification,
  CreatedServiceAccount,
  CreateProject,
  CreateServiceAccount,
  CreateToken,
  IssuedToken,
  Page,
  PageQuery,
  Project,
  RotatedToken,
  RotateToken,
  ServiceAccount,
  SigningKey,
  Token,
  TokenListQuery,
  TokenRequest,
  TokenRequestResult,
  UpdateProject,
  UpdateServiceAccount,
  UpdateToken,
  WhoAmI,
} from "./types.ts";

/** Options of {@link createAdminClient}. */
export interface AdminClientOptions {
  /** The Latchkey server's URL, e.g. `https://latchkey.example.com`. */
  url: string;
  /** The caller's Latchkey token, or a function returning the current one (after a self-rotation, say). */
  token: TokenSource;
  /** Timeout of one call, in milliseconds (default 30000). */
  timeoutMs?: number;
  /** Sent as User-Agent (recorded in audit events); default `@latchkey/sdk`. */
  userAgent?: string;
  /** A fetch to use instead of the global one. */
  fetch?: Fetch;
}

type Query = Record<string, string | number | boolean | Date | undefined>;

/** A typed client of the Latchkey API. Every method throws LatchkeyApiError for a problem answer. */
export interface AdminClient {
  /** `GET /v1/whoami`: the calling service account, token id, access and effective role. */
  whoami(): Promise<WhoAmI>;
  projects: {
    list(query?: PageQuery): Promise<Page<Project>>;
    get(project: string): Promise<Project>;
    create(body: CreateProject): Promise<Project>;
    update(project: string, body: UpdateProject): Promise<Project>;
    /** Only an empty project; `default` never. */
    delete(project: string): Promise<void>;
  };
  serviceAccounts: {
    list(project: string, query?: PageQuery): Promise<Page<ServiceAccount>>;
    get(project: string, name: string): Promise<ServiceAccount>;
    /** With `token` in the body, also its first token (secret included), in one transaction. */
    create(project: string, body: CreateServiceAccount): Promise<CreatedServiceAccount>;
    update(project: string, name: string, body: UpdateServiceAccount): Promise<ServiceAccount>;
    /** Deletes the account and revokes all its tokens at once. */
    delete(project: string, name: string): Promise<void>;
  };
  tokens: {
    /** `GET /v1/tokens`: tokens of every project the caller can see, filtered and sorted. */
    listAll(query?: AllTokensQuery): Promise<Page<Token>>;
    list(project: string, serviceAccount: string, query?: TokenListQuery): Promise<Page<Token>>;
    /** The answer holds the secret (`token`), which no later call returns again. */
    create(project: string, serviceAccount: string, body: CreateToken): Promise<IssuedToken>;
    get(id: string): Promise<Token>;
    update(id: string, body: UpdateToken): Promise<Token>;
    /** Idempotent: revoking a revoked token succeeds. */
    revoke(id: string): Promise<void>;
    rotate(id: string, body?: RotateToken): Promise<RotatedToken>;
    /** Rotates the calling token (read-write tokens). */
    rotateSelf(body?: RotateToken): Promise<RotatedToken>;
    /** Revokes the calling token (read-write tokens). */
    revokeSelf(): Promise<void>;
  };
  tokenRequests: {
    /** A short-lived JWT for a service account (Kubernetes TokenRequest semantics). */
    create(project: string, serviceAccount: string, body?: TokenRequest): Promise<TokenRequestResult>;
  };
  boundObjects: {
    /** Creates or replaces; a new uid invalidates every token bound to the old one. */
    put(project: string, kind: string, name: string, body: { uid: string }): Promise<BoundObjectView>;
    /** Every token bound to it stops working at once. */
    delete(project: string, kind: string, name: string): Promise<void>;
  };
  auditEvents: {
    /** Newest first. */
    list(query?: AuditQuery): Promise<Page<AuditEvent>>;
    /** Verifies the whole hash chain. */
    verify(): Promise<ChainVerification>;
  };
  signingKeys: {
    list(): Promise<{ items: SigningKey[] }>;
    /** A new active key; the previous one keeps verifying until its tokens expire. */
    rotate(): Promise<SigningKey>;
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;

function problemOf(response: Response, body: unknown): LatchkeyApiError {
  const requestId = response.headers.get("x-request-id") ?? undefined;
  if (isObject(body) && typeof body.code === "string" && typeof body.detail === "string") {
    return new LatchkeyApiError({
      status: response.status,
      code: body.code,
      title: typeof body.title === "string" ? body.title : "",
      detail: body.detail,
      requestId: typeof body.request_id === "string" ? body.request_id : requestId,
      errors: Array.isArray(body.errors) ? (body.errors as FieldError[]) : undefined,
    });
  }
  return new LatchkeyApiError({
    status: response.status,
    code: "unexpected_response",
    title: "The answer is not an RFC 9457 problem",
    detail: `${response.status} ${response.statusText}`.trim(),
    requestId,
  });
}

/**
 * Makes a typed client of the Latchkey API over fetch: projects, service accounts, tokens (rotate and
 * revoke included), token requests, bound objects, audit events, signing keys and whoami. A problem
 * answer becomes a {@link LatchkeyApiError} with the server's `status` and stable `code`.
 *
 * @example
 *
 * ```ts
 * import { createAdminClient, LatchkeyApiError } from "@latchkey/sdk";
 *
 * const latchkey = createAdminClient({ url: "https://latchkey.example.com", token: process.env.LATCHKEY_TOKEN! });
 * const sa = await latchkey.serviceAccounts.create("default", { name: "deployer", role: "contributor" });
 * const { token, id } = await latchkey.tokens.create("default", sa.name, { name: "ci", ttl_seconds: 30 * 86400 });
 * await latchkey.tokens.rotate(id, { previous_expires_in_seconds: 3600 });
 * ```
 */
export function createAdminClient(options: AdminClientOptions): AdminClient {
  const base = normalizeIssuer(options.url);
  const fetchImpl = options.fetch ?? fetch;

  async function call<T>(
    route: AdminRoute,
    params: Record<string, string>,
    init: { query?: Query; body?: unknown } = {},
  ): Promise<T> {
    const url = new URL(base + pathOf(route, params));
    for (const [key, value] of Object.entries(init.query ?? {})) {
      if (value === undefined) continue;
      url.searchParams.set(key, value instanceof Date ? value.toISOString() : String(value));
    }
    const headers: Record<string, string> = {
      authorization: `Bearer ${await currentToken(options.token)}`,
      accept: "application/json, application/problem+json",
      "user-agent": options.userAgent ?? "@latchkey/sdk",
    };
    let body: string | undefined;
    if (init.body !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(init.body);
    }
    const [method] = ADMIN_ROUTES[route];
    const response = await send(fetchImpl, url, {
      method,
      headers,
      body,
      signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
    });
    if (response.status === 204) {
      await response.body?.cancel();
      return undefined as T;
    }
    const parsed = await jsonOf(response);
    if (response.status < 200 || response.status > 299) throw problemOf(response, parsed);
    if (parsed === undefined) throw problemOf(response, undefined);
    return parsed as T;
  }

  return {
    whoami: () => call("whoami", {}),
    projects: {
      list: (query = {}) => call("projects.list", {}, { query: { ...query } }),
      get: (project) => call("projects.get", { project }),
      create: (body) => call("projects.create", {}, { body }),
      update: (project, body) => call("projects.update", { project }, { body }),
      delete: (project) => call("projects.delete", { project }),
    },
    serviceAccounts: {
      list: (project, query = {}) => call("serviceAccounts.list", { project }, { query: { ...query } }),
      get: (project, name) => call("serviceAccounts.get", { project, name }),
      create: (project, body) => call("serviceAccounts.create", { project }, { body }),
      update: (project, name, body) => call("serviceAccounts.update", { project, name }, { body }),
      delete: (project, name) => call("serviceAccounts.delete", { project, name }),
    },
    tokens: {
      listAll: (query = {}) => call("tokens.listAll", {}, { query: { ...query } }),
      list: (project, name, query = {}) => call("tokens.list", { project, name }, { query: { ...query } }),
      create: (project, name, body) => call("tokens.create", { project, name }, { body }),
      get: (id) => call("tokens.get", { id }),
      update: (id, body) => call("tokens.update", { id }, { body }),
      revoke: (id) => call("tokens.revoke", { id }),
      rotate: (id, body = {}) => call("tokens.rotate", { id }, { body }),
      rotateSelf: (body = {}) => call("tokens.rotateSelf", {}, { body }),
      revokeSelf: () => call("tokens.revokeSelf", {}),
    },
    tokenRequests: {
      create: (project, name, body = {}) => call("tokenRequests.create", { project, name }, { body }),
    },
    boundObjects: {
      put: (project, kind, name, body) => call("boundObjects.put", { project, kind, name }, { body }),
      delete: (project, kind, name) => call("boundObjects.delete", { project, kind, name }),
    },
    auditEvents: {
      list: (query = {}) => call("auditEvents.list", {}, { query: { ...query } }),
      verify: () => call("auditEvents.verify", {}, { query: { verify: true } }),
    },
    signingKeys: {
      list: () => call("signingKeys.list", {}),
      rotate: () => call("signingKeys.rotate", {}),
    },
  };
}

/**
 * Walks every page of a cursor-paginated list, one request per page, yielding items.
 *
 * @example
 *
 * ```ts
 * import { createAdminClient, paginate } from "@latchkey/sdk";
 *
 * for await (const sa of paginate((cursor) => latchkey.serviceAccounts.list("default", { cursor }))) {
 *   console.log(sa.email);
 * }
 * ```
 */
export async function* paginate<T>(
  page: (cursor: string | undefined) => Promise<Page<T>>,
): AsyncGenerator<T> {
  let cursor: string | undefined;
  do {
    const current = await page(cursor);
    yield* current.items;
    cursor = current.next_cursor ?? undefined;
  } while (cursor !== undefined);
}
