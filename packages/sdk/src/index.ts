// The public API of @latchkey/sdk, as an explicit list. Fastify and Express middleware are in
// "@latchkey/sdk/fastify" and "@latchkey/sdk/express", so this entry needs neither framework's types.

export { verifyAccessToken } from "./jwt/verify.ts";
export type { VerifyOptions } from "./jwt/verify.ts";
export { createVerifier } from "./jwt/verifier.ts";
export type { Verifier, VerifierOptions } from "./jwt/verifier.ts";
export { ACCESS_TOKEN_TYPE, ALGORITHMS, CLOCK_SKEW_SECONDS } from "./jwt/claims.ts";
export type { AccessTokenClaims, Access, Algorithm, BoundObject } from "./jwt/claims.ts";
export type { JwksOptions } from "./jwks/remote.ts";

export { createRevocationFeed } from "./revocations/feed.ts";
export type { RevocationFeed, RevocationFeedOptions } from "./revocations/feed.ts";
export type { RevocationEvent } from "./revocations/state.ts";

export { createIntrospectionClient } from "./oauth/introspect.ts";
export type {
  ActiveIntrospection,
  IntrospectionClient,
  IntrospectionCredentials,
  IntrospectionOptions,
  IntrospectionResponse,
} from "./oauth/introspect.ts";

export { createAdminClient, paginate } from "./admin/client.ts";
export type { AdminClient, AdminClientOptions } from "./admin/client.ts";
export { ADMIN_ROUTES } from "./admin/routes.ts";
export type { AdminRoute } from "./admin/routes.ts";
export type {
  AllTokensQuery,
  AuditEvent,
  AuditQuery,
  BoundObjectView,
  ChainVerification,
  CreatedServiceAccount,
  CreateProject,
  CreateServiceAccount,
  CreateToken,
  IssuedToken,
  Labels,
  Page,
  PageQuery,
  Project,
  Role,
  RotatedToken,
  RotateToken,
  Scope,
  ServiceAccount,
  SigningKey,
  Token,
  TokenFormat,
  TokenListQuery,
  TokenRequest,
  TokenRequestResult,
  TokenSort,
  TokenState,
  UpdateProject,
  UpdateServiceAccount,
  UpdateToken,
  WhoAmI,
} from "./admin/types.ts";

export type { TokenSource, Fetch } from "./lib/http.ts";

export {
  AlgorithmNotAllowedError,
  AudienceMismatchError,
  BoundObjectInvalidatedError,
  ClaimInvalidError,
  ConnectionError,
  IntrospectionFailedError,
  IssuerMismatchError,
  JwksUnavailableError,
  LatchkeyApiError,
  LatchkeyError,
  RevocationFeedUnavailableError,
  ServiceAccountDisabledError,
  SignatureInvalidError,
  SigningKeyNotFoundError,
  TokenExpiredError,
  TokenHeaderForbiddenError,
  TokenInactiveError,
  TokenMalformedError,
  TokenMissingError,
  TokenNotYetValidError,
  TokenRevokedError,
  TokenTypeInvalidError,
} from "./util/errors.ts";
export type { FieldError } from "./util/errors.ts";
