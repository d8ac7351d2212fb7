/** The shapes the CLI reads from the HTTP API (docs/api.md); `--json` prints them unchanged. */

// The same shapes the SDK's admin client declares: one definition, checked against /openapi.json
// by test/sdk. Type-only, so the CLI does not load the SDK at run time.
export type {
  AuditEvent,
  ChainVerification,
  IssuedToken,
  Labels,
  Page,
  Project,
  RotatedToken,
  ServiceAccount,
  SigningKey,
  Token,
  TokenRequestResult as RequestedToken,
  WhoAmI,
} from "@latchkey/sdk";

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
