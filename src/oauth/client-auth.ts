import type { FastifyRequest } from "fastify";
import { type AuthResult, authenticateToken, BEARER_HEADER, type TokenLookup } from "../auth/authenticate.ts";
import type { Deps } from "../server/deps.ts";
import { parseEmail } from "../service-accounts/email.ts";
import { OAuthError } from "./errors.ts";

export type Form = Record<string, string>;

/** The authenticated caller of an OAuth endpoint, and how it authenticated. */
export type Client = Extract<AuthResult, { ok: true }> & {
  method: "client_secret_basic" | "client_secret_post" | "bearer";
};

/** RFC 6749 §2.3.1: the Basic credentials are form-urlencoded before base64. */
function basicCredentials(header: string): { id: string; secret: string } | undefined {
  const match = /^Basic[ \t]+([A-Za-z0-9+/=]+)[ \t]*$/i.exec(header);
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  try {
    const form = (s: string) => decodeURIComponent(s.replace(/\+/g, " "));
    return { id: form(decoded.slice(0, colon)), secret: form(decoded.slice(colon + 1)) };
  } catch {
    return undefined;
  }
}

/** The secret the client presents, whichever way (bearer, Basic, or the form): a lookup hint only. */
export function clientSecretOf(request: FastifyRequest, form: Form): string | undefined {
  const header = request.headers.authorization;
  if (!header) return form.client_secret;
  return BEARER_HEADER.exec(header)?.[1] ?? basicCredentials(header)?.secret;
}

/**
 * A client is a service account, named by its id or email, whose secret is one of its own active
 * tokens. Exactly one method may be used per request (RFC 6749 §2.3).
 */
export async function authenticateClient(
  deps: Deps,
  request: FastifyRequest,
  form: Form,
  options: { allowBearer: boolean; lookup?: TokenLookup },
): Promise<Client> {
  const header = request.headers.authorization;
  const basic = header ? basicCredentials(header) : undefined;
  const posted = form.client_id !== undefined || form.client_secret !== undefined;
  if (basic && posted)
    throw new OAuthError("invalid_request", "use one client authentication method, not two");
  if (header && !basic) {
    const bearer = BEARER_HEADER.exec(header)?.[1];
    if (!bearer || !options.allowBearer)
      throw new OAuthError("invalid_client", "unsupported client authentication");
    const result = await authenticateToken(deps, bearer, options.lookup);
    if (!result.ok) throw new OAuthError("invalid_client", "the bearer token is not valid");
    return { ...result, method: "bearer" };
  }
  const credentials =
    basic ?? (posted ? { id: form.client_id ?? "", secret: form.client_secret ?? "" } : undefined);
  if (!credentials) throw new OAuthError("invalid_client", "client authentication is required");
  const result = await authenticateToken(deps, credentials.secret, options.lookup);
  const email = parseEmail(credentials.id);
  const sameClient =
    result.ok &&
    result.token.format === "opaque" &&
    (credentials.id === result.principal.serviceAccountId ||
      (email?.name === result.principal.serviceAccountName &&
        email.project === result.principal.projectName));
  if (!result.ok || !sameClient) throw new OAuthError("invalid_client", "unknown client or wrong secret");
  return { ...result, method: basic ? "client_secret_basic" : "client_secret_post" };
}
