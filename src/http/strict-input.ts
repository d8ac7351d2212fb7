import { invalidField } from "../lib/errors.ts";

/**
 * Where a member name occurs twice in one object of a JSON text (already known to be valid JSON):
 * its path, like `labels.team`, or undefined. JSON.parse keeps the last of two equal names; a proxy
 * or another parser may keep the first, so such a body means different things to different readers
 * (RFC 7493, I-JSON: "MUST NOT have duplicate names"). One pass, no recursion (depth is unbounded).
 */
export function duplicateMember(text: string): string | undefined {
  /** One entry per open object or array: the names seen so far (objects) and the current name. */
  const stack: { names: Set<string> | null; current: string }[] = [];
  let expectName = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let j = i + 1;
      for (let d = text.charCodeAt(j); d !== 0x22; d = text.charCodeAt(++j)) if (d === 0x5c) j++;
      const top = stack[stack.length - 1];
      if (expectName && top?.names) {
        const literal = text.slice(i, j + 1);
        const name = literal.includes("\\") ? (JSON.parse(literal) as string) : literal.slice(1, -1);
        if (top.names.has(name)) {
          return [...stack.slice(0, -1).map((s) => s.current), name].filter((s) => s !== "").join(".");
        }
        top.names.add(name);
        top.current = name;
        expectName = false;
      }
      i = j;
    } else if (c === 0x7b /* { */) {
      stack.push({ names: new Set(), current: "" });
      expectName = true;
    } else if (c === 0x5b /* [ */) {
      stack.push({ names: null, current: "" });
      expectName = false;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
      expectName = false;
    } else if (c === 0x2c /* , */) {
      expectName = (stack[stack.length - 1]?.names ?? null) !== null;
    }
  }
  return undefined;
}

/** An opaque token or a JWT, whole or most of it. */
const TOKEN_LOOKALIKE = /lk_[0-9A-Za-z]{20,}|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+\./;

/** Query parameters that carry credentials in other APIs (OAuth 2.0 bearer usage, RFC 6750 §2.3). */
const CREDENTIAL_PARAMETERS = new Set(["access_token", "token", "bearer", "api_key", "apikey", "auth"]);

/**
 * A token in a URL ends up in proxy logs, browser history and Referer headers: Latchkey takes
 * tokens only in the Authorization header (or a request body where a route says so), and refuses a
 * request whose query string carries one, naming the parameter (and never echoing its value).
 */
export function refuseCredentialsInUrl(url: string): void {
  const q = url.indexOf("?");
  if (q < 0) return;
  for (const [name, value] of new URLSearchParams(url.slice(q + 1))) {
    if (
      CREDENTIAL_PARAMETERS.has(name.toLowerCase()) ||
      TOKEN_LOOKALIKE.test(value) ||
      TOKEN_LOOKALIKE.test(name)
    ) {
      // The name is echoed only when it is one of the usual ones (a name could be a token too).
      const field = CREDENTIAL_PARAMETERS.has(name.toLowerCase()) ? `query.${name}` : "query";
      throw invalidField(field, "tokens are never accepted in a URL: send them in the Authorization header");
    }
  }
}
