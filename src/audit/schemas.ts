import { Type } from "typebox";
import { StringEnum, Timestamp, Uuid } from "../http/schemas.ts";

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

export const AuditEvent = Type.Object(
  {
    id: Uuid,
    time: Timestamp,
    actor: Type.Object({
      service_account: Type.Union([
        Type.Object({ id: Type.String(), name: Nullable(Type.String()) }),
        Type.Null(),
      ]),
      project: Nullable(Type.String()),
      token_id: Nullable(Type.String()),
    }),
    action: Type.String({ description: "e.g. token.create, token.rotate, service_account.delete" }),
    target: Type.Object({ type: Type.String(), id: Nullable(Type.String()), name: Nullable(Type.String()) }),
    project: Nullable(Type.String()),
    outcome: Type.String({ description: "success | denied | error" }),
    request_id: Nullable(Type.String()),
    ip: Nullable(Type.String()),
    user_agent: Nullable(Type.String()),
    details: Type.Record(Type.String(), Type.Unknown()),
    prev_hash: Type.String(),
    hash: Type.String(),
  },
  { $id: "AuditEvent" },
);

export const AuditQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 1024 })),
    actor: Type.Optional(Type.String({ maxLength: 256, description: "Actor service account id or name" })),
    action: Type.Optional(Type.String({ maxLength: 128 })),
    target: Type.Optional(Type.String({ maxLength: 256, description: "Target id or name" })),
    project: Type.Optional(Type.String({ maxLength: 63 })),
    outcome: Type.Optional(StringEnum(["success", "denied", "error"] as const)),
    since: Type.Optional(Type.String({ format: "date-time" })),
    until: Type.Optional(Type.String({ format: "date-time" })),
    verify: Type.Optional(Type.Boolean({ description: "Verify the whole hash chain instead of listing" })),
  },
  { additionalProperties: false },
);

export const ChainVerification = Type.Object(
  {
    valid: Type.Boolean(),
    events_checked: Type.Integer(),
    first_invalid_event_id: Type.Union([Type.String(), Type.Null()]),
    last_hash: Type.String(),
  },
  { $id: "ChainVerification" },
);
