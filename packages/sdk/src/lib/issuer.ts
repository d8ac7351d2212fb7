/**
 * The issuer as Latchkey writes it in `iss`: an http(s) URL without trailing slashes. Every URL the SDK
 * calls is built from it, never from anything a token says.
 */
export function normalizeIssuer(issuer: string): string {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw new TypeError(`issuer must be an absolute URL, not ${JSON.stringify(issuer)}`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new TypeError("issuer must be an http(s) URL");
  }
  if (url.search || url.hash) throw new TypeError("issuer must not have a query or a fragment");
  return issuer.replace(/\/+$/, "");
}

/** An endpoint of the issuer, e.g. `endpoint(issuer, "/.well-known/jwks.json")`. */
export const endpoint = (issuer: string, path: string): URL => new URL(issuer + path);
