/**
 * The registry of every error code Latchkey returns. Codes are stable and never reused;
 * docs/errors.md lists each one (a test keeps the two in step).
 */
export const errorCodes = {
  validation_failed: { status: 400, title: "The request is not valid" },
  invalid_json: { status: 400, title: "The request body is not valid JSON" },
  ttl_out_of_range: { status: 400, title: "The requested lifetime is outside the allowed range" },
  invalid_cursor: { status: 400, title: "The pagination cursor is not valid" },
  unauthenticated: { status: 401, title: "Authentication is required" },
  token_invalid: { status: 401, title: "The token is not valid" },
  token_expired: { status: 401, title: "The token has expired" },
  token_revoked: { status: 401, title: "The token has been revoked" },
  service_account_disabled: { status: 401, title: "The token's service account is disabled" },
  permission_denied: { status: 403, title: "The caller's role does not allow this" },
  role_ceiling_exceeded: { status: 403, title: "The target role is above the caller's own" },
  scope_ceiling_exceeded: { status: 403, title: "The target scope is above the caller's own" },
  read_write_token_required: { status: 403, title: "This needs a read-write token" },
  csrf_failed: { status: 403, title: "The request failed the cross-site request forgery check" },
  not_found: { status: 404, title: "Not found" },
  route_not_found: { status: 404, title: "No such route" },
  already_exists: { status: 409, title: "A resource with this name already exists" },
  project_not_empty: { status: 409, title: "The project is not empty" },
  project_protected: { status: 409, title: "This project cannot be deleted" },
  token_not_active: { status: 409, title: "The token is revoked or expired" },
  token_already_rotated: { status: 409, title: "The token has already been rotated" },
  payload_too_large: { status: 413, title: "The request body is too large" },
  unsupported_media_type: { status: 415, title: "The request body must be application/json" },
  too_many_failed_authentications: { status: 429, title: "Too many failed authentications" },
  internal_error: { status: 500, title: "Internal error" },
  unavailable: { status: 503, title: "The store is unavailable" },
  storage_full: { status: 503, title: "The store has no space left for writes" },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof errorCodes;

export interface FieldError {
  field: string;
  message: string;
}

/** A failure a client can act on. `detail` is public; never put a secret in it. */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly errors: FieldError[] | undefined;
  readonly headers: Record<string, string>;

  constructor(
    code: ErrorCode,
    detail?: string,
    options: { errors?: FieldError[]; headers?: Record<string, string> } = {},
  ) {
    super(detail ?? errorCodes[code].title);
    this.name = "ApiError";
    this.code = code;
    this.status = errorCodes[code].status;
    this.errors = options.errors;
    this.headers = options.headers ?? {};
  }
}

export function invalidField(field: string, message: string): ApiError {
  return new ApiError("validation_failed", `${field}: ${message}`, { errors: [{ field, message }] });
}
