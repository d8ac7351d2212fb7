import { ConnectionError } from "../util/errors.ts";

/** The `fetch` the SDK uses: the global one unless the caller passes another (a proxy agent, a test). */
export type Fetch = typeof fetch;

/** Calls fetch; a failure to reach the server at all becomes a ConnectionError. */
export async function send(fetchImpl: Fetch, url: URL | string, init: RequestInit): Promise<Response> {
  try {
    return await fetchImpl(url, { redirect: "manual", ...init });
  } catch (cause) {
    const reason: unknown = init.signal?.aborted ? init.signal.reason : undefined;
    // The caller's own abort stays an abort; a timeout is a failure to reach the server.
    if (reason !== undefined && !(reason instanceof DOMException && reason.name === "TimeoutError"))
      throw cause;
    const host = new URL(url).host;
    throw new ConnectionError(`could not reach Latchkey at ${host}${reason ? " in time" : ""}`, { cause });
  }
}

/** The body as JSON, or undefined when it is empty or not JSON. */
export async function jsonOf(response: Response): Promise<unknown> {
  const text = await response.text();
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** RFC 6749 §2.3.1: client id and secret are form-urlencoded before they are joined and base64-encoded. */
export function basicAuthorization(clientId: string, clientSecret: string): string {
  const form = (value: string) => encodeURIComponent(value).replace(/%20/g, "+");
  return `Basic ${Buffer.from(`${form(clientId)}:${form(clientSecret)}`).toString("base64")}`;
}

/** A credential that may change (after a rotation): a string, or a function that returns the current one. */
export type TokenSource = string | (() => string | Promise<string>);

export const currentToken = async (source: TokenSource): Promise<string> =>
  typeof source === "function" ? source() : source;
