import { isWellFormedOpaqueToken, OPAQUE_TOKEN_PATTERN, OPAQUE_TOKEN_PREFIX } from "../tokens/format.ts";
import type { Token, WhoAmI } from "./api.ts";
import type { Client } from "./client.ts";
import { CliError, EXIT } from "./errors.ts";

/**
 * `latchkey verify TOKEN` in two steps: a local check that needs no server (the opaque format's
 * checksum; JWTs have none), then a {@link ServerCheck} that asks the server who the token is and
 * until when: {@link IntrospectionCheck} with the CLI's own credentials, or {@link WhoamiCheck}
 * (the token asks about itself) when none are configured.
 * The `--json` output is a {@link Verification}.
 */
export interface Verification {
  /** True when the token authenticates now. */
  active: boolean;
  /**
   * Why not, when `active` is false: malformed, checksum_mismatch (local), `inactive`
   * (introspection, which does not say why), or the server's problem code (whoami).
   */
  reason: string | null;
  format: "opaque" | "jwt" | "unknown";
  /** Which steps ran: the local checksum check, and how the server was asked. */
  checked: { checksum: boolean; server: ServerCheck["method"] | null };
  token_id: string | null;
  name: string | null;
  service_account: { id: string; project: string; name: string; email: string } | null;
  access: string | null;
  /** Known only when the token asks about itself (whoami); null from introspection. */
  effective_role: string | null;
  audiences: string[] | null;
  expires_at: string | null;
}

export interface LocalCheck {
  format: Verification["format"];
  /** undefined when the local check passes (or there is none for the format). */
  reason?: "malformed" | "checksum_mismatch";
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** The format, and for opaque tokens the checksum: look-alikes are refused without a network call. */
export function localCheck(token: string): LocalCheck {
  if (token.startsWith(OPAQUE_TOKEN_PREFIX)) {
    if (!OPAQUE_TOKEN_PATTERN.test(token)) return { format: "opaque", reason: "malformed" };
    if (!isWellFormedOpaqueToken(token)) return { format: "opaque", reason: "checksum_mismatch" };
    return { format: "opaque" };
  }
  if (JWT_SHAPE.test(token)) return { format: "jwt" };
  return { format: "unknown", reason: "malformed" };
}

/** What the server says about a token that passed the local check. */
export type ServerVerdict =
  | { active: true; details: Omit<Verification, "active" | "reason" | "format" | "checked"> }
  | { active: false; reason: string };

/** The server-side step: RFC 7662 introspection, or the token asking about itself. */
export interface ServerCheck {
  readonly method: "whoami" | "introspection";
  inspect(token: string): Promise<ServerVerdict>;
}

/**
 * The token authenticates `GET /v1/whoami` itself (who it is), then reads its own record
 * (`GET /v1/tokens/{id}`: until when); any active token may read itself. Because the token is
 * used, this updates its `last_used_at` and, for the successor of a rotation with
 * `retire_previous_on_first_use`, retires the previous token: introspection will not.
 */
export class WhoamiCheck implements ServerCheck {
  readonly method = "whoami" as const;

  constructor(private readonly client: Client) {}

  async inspect(token: string): Promise<ServerVerdict> {
    let me: WhoAmI;
    try {
      me = await this.client.request<WhoAmI>("GET", "/v1/whoami", { token });
    } catch (error) {
      // 401 is the answer ("not valid, and why"); anything else (unreachable, 429, 5xx) is a failure.
      if (error instanceof CliError && error.exitCode === EXIT.unauthenticated) {
        return { active: false, reason: error.code };
      }
      throw error;
    }
    const record = await this.client.request<Token>("GET", `/v1/tokens/${encodeURIComponent(me.token_id)}`, {
      token,
    });
    const sa = me.service_account;
    return {
      active: true,
      details: {
        token_id: me.token_id,
        name: record.name,
        service_account: { id: sa.id, project: sa.project, name: sa.name, email: sa.email },
        access: me.access,
        effective_role: me.effective_role,
        audiences: record.audiences,
        expires_at: record.expires_at,
      },
    };
  }
}

/** What `/oauth2/introspect` answers (RFC 7662, with Latchkey's own members). */
export interface Introspection {
  active: boolean;
  sub?: string;
  client_id?: string;
  username?: string;
  scope?: string;
  aud?: string[];
  iss?: string;
  jti?: string;
  iat?: number;
  exp?: number;
  project?: string;
  service_account?: string;
  access?: string;
  token_format?: string;
}

/**
 * RFC 7662 introspection (`POST /oauth2/introspect`), authenticated with the CLI's own token. The
 * token being checked is not used: its `last_used_at` stays, a rotation's previous token is not
 * retired, and a bad token counts no failed authentication. The server does not say why a token is
 * inactive (`reason` is then `inactive`). The token's name and exact expiry come from
 * `GET /v1/tokens/{jti}` when the caller may read it (short-lived JWTs have no record).
 */
export class IntrospectionCheck implements ServerCheck {
  readonly method = "introspection" as const;

  constructor(private readonly client: Client) {}

  async inspect(token: string): Promise<ServerVerdict> {
    const answer = await this.client.postForm<Introspection>("/oauth2/introspect", { token });
    if (answer.active !== true) return { active: false, reason: "inactive" };
    let record: Token | undefined;
    if (answer.jti) {
      try {
        record = await this.client.get<Token>(`/v1/tokens/${encodeURIComponent(answer.jti)}`);
      } catch (error) {
        const unseen = [EXIT.notFound, EXIT.permissionDenied] as number[];
        if (!(error instanceof CliError && unseen.includes(error.exitCode))) throw error;
      }
    }
    const email = answer.username ?? answer.client_id ?? null;
    return {
      active: true,
      details: {
        token_id: answer.jti ?? null,
        name: record?.name ?? null,
        service_account:
          answer.sub && answer.project && answer.service_account && email
            ? { id: answer.sub, project: answer.project, name: answer.service_account, email }
            : null,
        access: answer.access ?? null,
        effective_role: null,
        audiences: answer.aud ?? null,
        expires_at:
          record?.expires_at ?? (answer.exp === undefined ? null : new Date(answer.exp * 1000).toISOString()),
      },
    };
  }
}

const blank = {
  token_id: null,
  name: null,
  service_account: null,
  access: null,
  effective_role: null,
  audiences: null,
  expires_at: null,
};

export async function verifyToken(token: string, server: ServerCheck): Promise<Verification> {
  const local = localCheck(token);
  const checksum = local.format === "opaque";
  if (local.reason) {
    return {
      active: false,
      reason: local.reason,
      format: local.format,
      checked: { checksum, server: null },
      ...blank,
    };
  }
  const verdict = await server.inspect(token);
  const checked = { checksum, server: server.method };
  if (!verdict.active)
    return { active: false, reason: verdict.reason, format: local.format, checked, ...blank };
  return { active: true, reason: null, format: local.format, checked, ...verdict.details };
}
