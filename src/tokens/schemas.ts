import { Type } from "typebox";
import { ACCESS_LEVELS } from "../auth/policy.ts";
import {
  DnsLabel,
  Labels,
  NullableTimestamp,
  StringEnum,
  Text,
  Timestamp,
  TokenName,
  Uuid,
} from "../http/schemas.ts";
import { ProjectName } from "../projects/schemas.ts";
import { TOKEN_STATES } from "./state.ts";
import { TOKEN_SORTS } from "./store.ts";

const Access = StringEnum(ACCESS_LEVELS, { description: "read-only caps the token at viewer" });

export const Token = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    description: Type.String(),
    owner: Type.String(),
    service_account: Type.Object({
      id: Uuid,
      project: Type.String(),
      name: Type.String(),
      email: Type.String(),
    }),
    access: Access,
    format: StringEnum(["opaque", "jwt"] as const),
    audiences: Type.Array(Type.String()),
    labels: Type.Record(Type.String(), Type.String()),
    created_at: Timestamp,
    expires_at: Timestamp,
    last_used_at: NullableTimestamp,
    revoked_at: NullableTimestamp,
    state: StringEnum(TOKEN_STATES),
    active: Type.Boolean(),
    rotated_from: Type.Union([Uuid, Type.Null()]),
    rotated_to: Type.Union([Uuid, Type.Null()]),
    created_by: Type.String(),
  },
  { $id: "Token" },
);

const secret = {
  token: Type.String({ description: "The secret. Shown in this response only, never again." }),
};

export const IssuedToken = Type.Object({ ...Token.properties, ...secret }, { $id: "IssuedToken" });
export const RotatedToken = Type.Object(
  { ...Token.properties, ...secret, previous: Type.Ref("Token") },
  { $id: "RotatedToken" },
);

// The range is checked by the service against server policy, so both ends get ttl_out_of_range.
const TtlSeconds = Type.Integer({
  description: "Lifetime in seconds: at least 600, at most the server's policy (default 366 days)",
});

export const CreateToken = Type.Object(
  {
    name: TokenName,
    description: Type.Optional(Text(1024, "Free text")),
    owner: Type.Optional(Text(256, "Who is responsible (free text)")),
    access: Type.Optional(Access),
    format: Type.Optional(StringEnum(["opaque", "jwt"] as const)),
    audiences: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 256, pattern: "^[^\\s\\u0000-\\u001f\\u007f]+$" }), {
        maxItems: 20,
        uniqueItems: true,
      }),
    ),
    ttl_seconds: Type.Optional(TtlSeconds),
    labels: Type.Optional(Labels),
  },
  { additionalProperties: false },
);

export const UpdateToken = Type.Object(
  {
    name: Type.Optional(TokenName),
    description: Type.Optional(Text(1024, "Free text")),
    owner: Type.Optional(Text(256, "Who is responsible (free text)")),
    labels: Type.Optional(Labels),
  },
  { additionalProperties: false },
);

export const RotateToken = Type.Object(
  {
    ttl_seconds: Type.Optional(TtlSeconds),
    previous_expires_in_seconds: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 366 * 86400,
        description: "Grace period of the previous token (0, the default, retires it now)",
      }),
    ),
    previous_expires_at: Type.Optional(
      Type.String({ format: "date-time", description: "When the previous token stops working (RFC 3339)" }),
    ),
    retire_previous_on_first_use: Type.Optional(
      Type.Boolean({ description: "Also retire the previous token as soon as the new one is first used" }),
    ),
  },
  { additionalProperties: false },
);

export const TokenListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 1024 })),
    state: Type.Optional(StringEnum(TOKEN_STATES)),
    name: Type.Optional(TokenName),
  },
  { additionalProperties: false },
);

export const TokenParams = Type.Object({ id: Uuid });

/** `GET /v1/tokens`: every token the caller may read, across projects. */
export const AllTokensQuery = Type.Object(
  {
    project: Type.Optional(ProjectName),
    service_account: Type.Optional(DnsLabel("Service account name (needs project)")),
    state: Type.Optional(StringEnum(TOKEN_STATES)),
    expiring_within_days: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 366,
        description: "Only active tokens whose expires_at is within this many days from now",
      }),
    ),
    q: Type.Optional(
      Text(128, "Case-insensitive substring of the name, description, owner or service account name"),
    ),
    sort: Type.Optional(
      StringEnum([...TOKEN_SORTS, ...TOKEN_SORTS.map((s) => `-${s}` as const)] as const, {
        description: "Sort key; a leading - sorts descending (default created_at)",
      }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50, description: "Page size" })),
    cursor: Type.Optional(
      Type.String({ maxLength: 1024, description: "next_cursor of the previous page; omit for the first" }),
    ),
  },
  { additionalProperties: false },
);
