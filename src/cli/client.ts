import type { Page, Problem } from "./api.ts";
import { CliError, EXIT, exitForStatus, hintFor, usageError } from "./errors.ts";
import { VERSION } from "./version.ts";

export const DEFAULT_ADDR = "http://127.0.0.1:8080";
const DEFAULT_TIMEOUT_MS = 30_000;

/** `127.0.0.1:8080` → `http://127.0.0.1:8080`; no trailing slash; http(s) only. */
export function normalizeAddr(text: string): string {
  const trimmed = text.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `http://${trimmed}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw usageError(`"${text}" is not a server address`, "use an address like http://127.0.0.1:8080");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw usageError(
      `"${text}" is not an http or https address`,
      "use an address like https://latchkey.example",
    );
  }
  if (url.username || url.password || url.search || url.hash) {
    throw usageError(`"${text}" must be a plain address, without credentials, query or fragment`);
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  body?: unknown;
  query?: Query;
  /** The bearer token for this call; the client's own when undefined, none when null. */
  token?: string | null;
}

/** Percent-encodes one path segment (names and ids come from the command line). */
export const seg = (value: string): string => encodeURIComponent(value);

/** A small typed client for the Latchkey HTTP API that turns problem+json into {@link CliError}. */
export class Client {
  readonly addr: string;
  readonly #token: string | undefined;
  readonly #timeoutMs: number;

  constructor(addr: string, token: string | undefined, timeoutMs = DEFAULT_TIMEOUT_MS) {
    this.addr = addr;
    this.#token = token;
    this.#timeoutMs = timeoutMs;
  }

  get hasToken(): boolean {
    return this.#token !== undefined;
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>("GET", path, { query });
  }
  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.request<T>("POST", path, { body });
  }
  patch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>("PATCH", path, { body });
  }
  async delete(path: string): Promise<void> {
    await this.request<undefined>("DELETE", path, {});
  }

  /** Every page of a cursor-paginated list, one after another. */
  async *pages<T>(path: string, query: Query = {}): AsyncGenerator<Page<T>> {
    let cursor: string | undefined;
    do {
      const page = await this.get<Page<T>>(path, { ...query, cursor });
      yield page;
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
  }

  /** All items of a cursor-paginated list. */
  async all<T>(path: string, query: Query = {}): Promise<T[]> {
    const items: T[] = [];
    for await (const page of this.pages<T>(path, { limit: 500, ...query })) items.push(...page.items);
    return items;
  }

  async request<T>(method: string, path: string, options: RequestOptions): Promise<T> {
    const token = options.token === undefined ? this.#token : (options.token ?? undefined);
    if (token === undefined && options.token !== null) {
      throw new CliError("not logged in: no token for this server", {
        exitCode: EXIT.unauthenticated,
        code: "not_logged_in",
        hint: "run `latchkey login`, or set LATCHKEY_ADDR and LATCHKEY_TOKEN",
      });
    }
    const headers: Record<string, string> = {
      accept: "application/json",
      "user-agent": `latchkey-cli/${VERSION}`,
    };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    let body: string | undefined;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers["content-type"] = "application/json";
    }
    const response = await this.send(method, this.url(path, options.query), headers, body);
    const text = await response.text();
    if (response.ok) return (text ? JSON.parse(text) : undefined) as T;
    throw problemError(response, text);
  }

  /**
   * A form-encoded POST to an OAuth 2.0 endpoint (`/oauth2/introspect`), authenticated with the
   * client's token as a bearer. OAuth errors (`{"error", "error_description"}`) become a
   * {@link CliError} like problem+json does.
   */
  async postForm<T>(path: string, form: Record<string, string>): Promise<T> {
    const token = this.#token;
    if (token === undefined) {
      throw new CliError("not logged in: no token for this server", {
        exitCode: EXIT.unauthenticated,
        code: "not_logged_in",
        hint: "run `latchkey login`, or set LATCHKEY_ADDR and LATCHKEY_TOKEN",
      });
    }
    const headers = {
      accept: "application/json",
      "user-agent": `latchkey-cli/${VERSION}`,
      authorization: `Bearer ${token}`,
      "content-type": "application/x-www-form-urlencoded",
    };
    const response = await this.send("POST", this.url(path), headers, new URLSearchParams(form).toString());
    const text = await response.text();
    if (response.ok) return (text ? JSON.parse(text) : undefined) as T;
    throw oauthError(response, text);
  }

  /** An unauthenticated GET that never throws on a status (health checks). */
  async probe(path: string): Promise<{ status: number; body: unknown }> {
    const response = await this.send("GET", this.url(path), { "user-agent": `latchkey-cli/${VERSION}` });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, body };
  }

  url(path: string, query: Query = {}): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) params.set(key, String(value));
    }
    const search = params.toString();
    return `${this.addr}${path}${search ? `?${search}` : ""}`;
  }

  private async send(
    method: string,
    url: string,
    headers: Record<string, string>,
    body?: string,
  ): Promise<Response> {
    try {
      return await fetch(url, { method, headers, body, signal: AbortSignal.timeout(this.#timeoutMs) });
    } catch (error) {
      throw unreachable(this.addr, error);
    }
  }
}

function unreachable(addr: string, error: unknown): CliError {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const name = (error as { name?: string }).name;
  const why =
    name === "TimeoutError"
      ? "no answer in time"
      : cause?.code === "ECONNREFUSED"
        ? "connection refused"
        : cause?.code === "ENOTFOUND"
          ? "unknown host"
          : (cause?.code ?? cause?.message ?? (error as Error).message ?? "network error");
  return new CliError(`cannot reach the Latchkey server at ${addr}: ${why}`, {
    exitCode: EXIT.unreachable,
    code: "unreachable",
    hint: "is the server running? Check --addr, LATCHKEY_ADDR or the profile (`latchkey profile list`)",
  });
}

function problemError(response: Response, text: string): CliError {
  let problem: Problem | undefined;
  if ((response.headers.get("content-type") ?? "").includes("json")) {
    try {
      problem = JSON.parse(text) as Problem;
    } catch {
      problem = undefined;
    }
  }
  const code = typeof problem?.code === "string" ? problem.code : `http_${response.status}`;
  const detail =
    problem?.detail ?? problem?.title ?? `the server answered ${response.status} ${response.statusText}`;
  const retryAfter = response.headers.get("retry-after");
  let hint = hintFor(code);
  if (code === "too_many_failed_authentications" && retryAfter) {
    hint = `fix the credentials, then wait ${retryAfter} s before trying again`;
  }
  return new CliError(detail, {
    exitCode: exitForStatus(response.status),
    code,
    status: response.status,
    hint,
    requestId: problem?.request_id ?? response.headers.get("x-request-id") ?? undefined,
    errors: Array.isArray(problem?.errors) ? problem.errors : undefined,
  });
}

/** An OAuth 2.0 error answer (RFC 6749 §5.2): `invalid_client` is the caller's token refused. */
function oauthError(response: Response, text: string): CliError {
  let body: { error?: unknown; error_description?: unknown } | undefined;
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    body = undefined;
  }
  if (typeof body?.error !== "string") return problemError(response, text);
  const code = body.error;
  const detail =
    typeof body.error_description === "string" ? body.error_description : `the server answered ${code}`;
  return new CliError(detail, {
    exitCode: exitForStatus(response.status),
    code,
    status: response.status,
    hint:
      code === "invalid_client"
        ? "the token you are using is not valid here: log in again with `latchkey login`"
        : hintFor(code),
    requestId: response.headers.get("x-request-id") ?? undefined,
  });
}
