import { type Static, Type } from "typebox";
import { ROLES, SCOPES } from "../auth/policy.ts";
import { DnsLabel, Labels, StringEnum, Text, Timestamp, Uuid } from "../http/schemas.ts";
import { ProjectName } from "../projects/schemas.ts";
import { CreateToken, type IssuedToken } from "../tokens/schemas.ts";

export const ServiceAccountName = DnsLabel("Service account name");
export const Role = StringEnum(ROLES, { description: "viewer < contributor < admin < owner" });
export const Scope = StringEnum(SCOPES, { description: "Where the role applies" });

export const ServiceAccount = Type.Object(
  {
    id: Uuid,
    project: Type.String(),
    name: Type.String(),
    email: Type.String({ description: "{name}@{project}.serviceaccounts.latchkey" }),
    description: Type.String(),
    owner: Type.String(),
    role: Role,
    scope: Scope,
    disabled: Type.Boolean(),
    labels: Type.Record(Type.String(), Type.String()),
    created_at: Timestamp,
    updated_at: Timestamp,
    created_by: Type.String(),
  },
  { $id: "ServiceAccount" },
);

const editable = {
  description: Type.Optional(Text(1024, "Free text")),
  owner: Type.Optional(Text(256, "Who is responsible, for auditing (free text)")),
  role: Type.Optional(Role),
  scope: Type.Optional(Scope),
  labels: Type.Optional(Labels),
};

export const CreateServiceAccount = Type.Object(
  {
    name: ServiceAccountName,
    ...editable,
    token: Type.Optional(
      Type.Object(CreateToken.properties, {
        additionalProperties: false,
        description:
          "Also create the account's first token (same fields as a token create), in the same transaction",
      }),
    ),
  },
  { additionalProperties: false },
);

/** The create answer: the account, and its first token with the secret when one was asked for. */
export const CreatedServiceAccount = Type.Object({
  ...ServiceAccount.properties,
  token: Type.Optional(Type.Unsafe<Static<typeof IssuedToken>>(Type.Ref("IssuedToken"))),
});

export const UpdateServiceAccount = Type.Object(
  {
    ...editable,
    disabled: Type.Optional(Type.Boolean({ description: "A disabled account authenticates nothing" })),
  },
  { additionalProperties: false },
);

export const ServiceAccountParams = Type.Object({ project: ProjectName, name: ServiceAccountName });
