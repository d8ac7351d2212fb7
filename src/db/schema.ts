import type { Generated } from "kysely";

/** Timestamps are ISO 8601 UTC text; booleans are 0/1 integers; maps and lists are JSON text. */
export interface ProjectTable {
  id: string;
  name: string;
  description: string;
  labels: string;
  created_at: string;
  updated_at: string;
  created_by: string;
}

export interface ServiceAccountTable {
  id: string;
  project_id: string;
  name: string;
  description: string;
  owner: string;
  role: string;
  scope: string;
  disabled: number;
  labels: string;
  created_at: string;
  updated_at: string;
  created_by: string;
  deleted_at: string | null;
}

export interface TokenTable {
  id: string;
  service_account_id: string;
  name: string;
  description: string;
  owner: string;
  access: string;
  format: string;
  audiences: string;
  labels: string;
  digest: string | null;
  ttl_seconds: number;
  created_at: string;
  expires_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
  rotated_from: string | null;
  rotated_to: string | null;
  retire_previous_on_first_use: number;
  created_by: string;
  kid: string | null;
}

export interface AuditEventTable {
  seq: number;
  id: string;
  time: string;
  actor_service_account_id: string | null;
  actor_service_account_name: string | null;
  actor_project: string | null;
  actor_token_id: string | null;
  action: string;
  target_type: string;
  target_id: string | null;
  target_name: string | null;
  project: string | null;
  outcome: string;
  request_id: string | null;
  ip: string | null;
  user_agent: string | null;
  details: string;
  prev_hash: string;
  hash: string;
}

export interface SigningKeyTable {
  kid: string;
  algorithm: string;
  public_jwk: string;
  private_key: string;
  created_at: string;
  retired_at: string | null;
}

export interface BoundObjectTable {
  project_id: string;
  kind: string;
  name: string;
  uid: string;
  created_at: string;
  updated_at: string;
}

export interface RevokedJwtTable {
  jti: string;
  expires_at: string;
}

export interface RevocationEventTable {
  seq: number;
  time: string;
  type: string;
  data: string;
  relevant_until: string;
}

export interface Database {
  projects: ProjectTable;
  service_accounts: ServiceAccountTable;
  tokens: TokenTable;
  audit_events: AuditEventTable;
  signing_keys: SigningKeyTable;
  bound_objects: BoundObjectTable;
  revoked_jwts: RevokedJwtTable;
  revocation_events: RevocationEventTable;
}

export type { Generated };
