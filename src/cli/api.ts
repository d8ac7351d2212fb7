/** The shapes the CLI reads from the HTTP API (docs/api.md); `--json` prints them unchanged. */

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export type Labels = Record<string, string>;

export interface Project {
  id: string;
  name: string;
  description: string;
  labels: Labels;
  created_at: string;
  updated_at: string;
  created_by: string;
}

export interface ServiceAccount {
  id: string;
  project: string;
  name: string;
  email: string;
  description: string;
  owner: string;
  role: string;
  scope: string;
  disabled: boolean;
  labels: Labels;
  created_at: string;
  updated_at: string;
  created_by: string;
}

export interface Token {
  id: string;
  name: string;
  description: string;
  owner: string;
  service_account: { id: string; project: string; name: string; email: string };
  access: string;
  format: string;
  audiences: string[];
  labels: Labels;
  created_at: string;
  expires_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
  state: "active" | "expired" | "revoked";
  active: boolean;
  rotated_from: string | null;
  rotated_to: string | null;
  created_by: string;
}

export interface IssuedToken extends Token {
  token: string;
}

export interface RotatedToken extends IssuedToken {
  previous: Token;
}

/** `POST …/token-requests`: a short-lived JWT; nothing about it is stored. */
export interface RequestedToken {
  token: string;
  expiration_timestamp: string;
  audiences: string[];
  bound_object_ref?: { kind: string; name: string; uid: string };
}

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

export interface WhoAmI {
  service_account: { id: string; project: string; name: string; email: string; role: string; scope: string };
  token_id: string;
  access: string;
  effective_role: string;
}

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

export interface ChainVerification {
  valid: boolean;
  events_checked: number;
  first_invalid_event_id: string | null;
  last_hash: string;
}

export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  request_id?: string;
  errors?: { field: string; message: string }[];
}

export const ROLES = ["viewer", "contributor", "admin", "owner"] as const;
export const SCOPES = ["project", "organization"] as const;
export const ACCESS_LEVELS = ["read-only", "read-write"] as const;
export const TOKEN_FORMATS = ["opaque", "jwt"] as const;
export const TOKEN_STATES = ["active", "expired", "revoked"] as const;
export const OUTCOMES = ["success", "denied", "error"] as const;
