/** RFC 6749 §5.2 errors: `{error, error_description}`, the shape OAuth clients understand. */
export class OAuthError extends Error {
  constructor(
    readonly error:
      | "invalid_request"
      | "invalid_client"
      | "invalid_grant"
      | "unauthorized_client"
      | "unsupported_grant_type"
      | "invalid_scope"
      | "invalid_target"
      | "access_denied"
      | "unsupported_token_type",
    readonly description: string,
    readonly status = error === "invalid_client" ? 401 : error === "access_denied" ? 403 : 400,
  ) {
    super(description);
  }
}
