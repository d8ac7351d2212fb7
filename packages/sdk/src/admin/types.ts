import type { Access } from "../jwt/claims.ts";

/** Shapes of the Latchkey API, as its OpenAPI document (`GET /openapi.json`) describes them. */

/** `viewer` < `contributor` < `admin` < `owner`. */
export type Role = "viewer" | "contributor" | "admin" | "owner";
/** Where a role applies: the account's own project, or every project. */
export type Scope = "project" | "organization";
/** Computed on every read from `revoked_at` and `expires_at`. */
export type TokenState = "active" | "expired" | "revoked";
/** `opaque` (`lk_…`, checked by the server) or `jwt` (RFC 9068, verifiable offline). */
export type TokenFormat = "opaque" | "jwt";
/** A string map; keys are lowercase (a-z, 0-9, - _ . /). */
export type Labels = Record<string, string>;

/** One page of a cursor-paginated list; `next_cursor` is null on the last page. */
export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

/** Query of every cursor-paginated list. */
export interface PageQuery {
  /** 1–500, default 50. */
  limit?: number;
  /** The previous page's `next_cursor`. */
  cursor?: string;
}

/** A boundary for names and permissions. Project `default` always exists. */
export interface Project {
  id: string;
  name: string;
  description: string;
  labels: Labels;
  created_at: string;
  updated_at: string;
  created_by: string;
}

/** `POST /v1/projects` (organization-scoped admins and owners). */
export interface CreateProject {
  name: string;
  description?: string;
  labels?: Labels;
}

/** `PATCH /v1/projects/{project}`. */
export interface UpdateProject {
  description?: string;
  labels?: Labels;
}

/** A non-interactive principal in one project. */
export interface ServiceAccount {
  id: string;
  project: string;
  name: string;
  /** `{name}@{project}.serviceaccounts.latchkey` */
  email: string;
  description: string;
  owner: string;
  role: Role;
  scope: Scope;
  disabled: boolean;
  labels: Labels;
  created_at: string;
  updated_at: string;
  created_by: string;
}

/** `POST /v1/projects/{project}/service-accounts`. */
export interface CreateServiceAccount {
  name: string;
  description?: string;
  owner?: string;
  /** Default `viewer`; never above the caller's own. */
  role?: Role;
  scope?: Scope;
  labels?: Labels;
  /** Also create the account's first token, in the same transaction: both are created, or neither. */
  token?: CreateToken;
}

/** The answer of a service account create: with `token` (and its secret) when one was asked for. */
export interface CreatedServiceAccount extends ServiceAccount {
  token?: IssuedToken;
}

/** `PATCH /v1/projects/{project}/service-accounts/{name}`. */
export interface UpdateServiceAccount {
  description?: string;
  owner?: string;
  role?: Role;
  scope?: Scope;
  /** A disabled account authenticates nothing (and offline verifiers learn it from the feed). */
  disabled?: boolean;
  labels?: Labels;
}

/** A credential of one service account, without its secret. */
export interface Token {
  /** The token id: the import id, and the `jti` of a JWT-format token. */
  id: string;
  name: string;
  description: string;
  owner: string;
  service_account: { id: string; project: string; name: string; email: string };
  access: Access;
  format: TokenFormat;
  audiences: string[];
  labels: Labels;
  created_at: string;
  expires_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
  state: TokenState;
  active: boolean;
  rotated_from: string | null;
  rotated_to: string | null;
  created_by: string;
}

/** A token with its secret: only the create and rotate responses have it. */
export interface IssuedToken extends Token {
  token: string;
}

/** A rotation's answer: the new token with its secret, and the previous one as it now is. */
export interface RotatedToken extends IssuedToken {
  previous: Token;
}

/** `POST /v1/projects/{project}/service-accounts/{name}/tokens`. */
export interface CreateToken {
  name: string;
  description?: string;
  owner?: string;
  /** Default `read-write`. */
  access?: Access;
  /** Default `opaque`; `jwt` makes an RFC 9068 JWT that services can verify offline. */
  format?: TokenFormat;
  audiences?: string[];
  /** Default 90 days; at least 600; at most the server's policy. */
  ttl_seconds?: number;
  labels?: Labels;
}

/** `PATCH /v1/tokens/{id}`: the editable fields. */
export interface UpdateToken {
  name?: string;
  description?: string;
  owner?: string;
  labels?: Labels;
}

/** `POST /v1/tokens/{id}/rotate` and `/v1/tokens/self/rotate`. */
export interface RotateToken {
  ttl_seconds?: number;
  /** Grace period of the previous token (0, the default, retires it now). */
  previous_expires_in_seconds?: number;
  /** When the previous token stops working (RFC 3339); not with `previous_expires_in_seconds`. */
  previous_expires_at?: string;
  /** Also retire the previous token as soon as the new one is first used. */
  retire_previous_on_first_use?: boolean;
}

/** Query of a service account's token list. */
export interface TokenListQuery extends PageQuery {
  state?: TokenState;
  name?: string;
}

/** Sort keys of `GET /v1/tokens`; a leading `-` sorts descending. */
export type TokenSort = "name" | "created_at" | "expires_at" | "last_used_at" | "project" | "service_account";

/** Query of `GET /v1/tokens`, the tokens of every project the caller can see. */
export interface AllTokensQuery extends PageQuery {
  project?: string;
  /** A service account name; needs `project`. */
  service_account?: string;
  state?: TokenState;
  /** Only active tokens expiring within this many days (1–366). */
  expiring_within_days?: number;
  /** Case-insensitive substring of the name, description, owner or service account name. */
  q?: string;
  /** Default `created_at`. */
  sort?: TokenSort | `-${TokenSort}`;
}

/** Kubernetes TokenRequest semantics. */
export interface TokenRequest {
  /** Default: the server's issuer (its own API). */
  audiences?: string[];
  /** At least 600 (default 3600); above the policy maximum it is shortened. */
  expiration_seconds?: number;
  bound_object_ref?: { kind: string; name: string; uid?: string };
}

/** The answer to a token request. */
export interface TokenRequestResult {
  /** The JWT; in this response only. */
  token: string;
  /** When it expires, after any shortening. */
  expiration_timestamp: string;
  audiences: string[];
  bound_object_ref?: { kind: string; name: string; uid: string };
}

/** An object that short-lived tokens can be bound to. */
export interface BoundObjectView {
  project: string;
  kind: string;
  name: string;
  uid: string;
  created_at: string;
  updated_at: string;
}

/** An append-only, hash-chained record of a change or a denial. */
export interface AuditEvent {
  id: string;
  time: string;
  actor: {
    service_account: { id: string; name: string | null } | null;
    project: string | null;
    token_id: string | null;
  };
  action: string;
  target: { type: string; id: string | null; name: string | null };
  project: string | null;
  outcome: string;
  request_id: string | null;
  ip: string | null;
  user_agent: string | null;
  details: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

/** Filters of `GET /v1/audit-events`. */
export interface AuditQuery extends PageQuery {
  /** Actor service account id or name. */
  actor?: string;
  action?: string;
  /** Target id or name. */
  target?: string;
  project?: string;
  outcome?: "success" | "denied" | "error";
  since?: string | Date;
  until?: string | Date;
}

/** The result of verifying the audit log's hash chain. */
export interface ChainVerification {
  valid: boolean;
  events_checked: number;
  first_invalid_event_id: string | null;
  last_hash: string;
}

/** A key that signs (active) or signed (retired) JWTs; owners only. */
export interface SigningKey {
  kid: string;
  algorithm: string;
  created_at: string;
  retired_at: string | null;
  /** Still in the JWKS: it may verify a token that is still valid. */
  published: boolean;
  /** Signs new tokens. */
  active: boolean;
  public_jwk: Record<string, unknown>;
}

/** `GET /v1/whoami`: who the calling token is. */
export interface WhoAmI {
  service_account: { id: string; project: string; name: string; email: string; role: Role; scope: Scope };
  token_id: string;
  access: Access;
  effective_role: Role;
}
