import type * as sdk from "@latchkey/sdk";
import type { Static, TSchema } from "typebox";
import { describe, expectTypeOf, it } from "vitest";
import type { AuditEvent, ChainVerification } from "../../src/audit/schemas.ts";
import type { Project, CreateProject, UpdateProject } from "../../src/projects/schemas.ts";
import type {
  CreatedServiceAccount,
  CreateServiceAccount,
  ServiceAccount,
  UpdateServiceAccount,
} from "../../src/service-accounts/schemas.ts";
import type {
  AllTokensQuery,
  CreateToken,
  IssuedToken,
  RotateToken,
  Token,
  TokenListQuery,
  UpdateToken,
} from "../../src/tokens/schemas.ts";

/** A plain object type, so that interfaces and typebox's mapped types compare structurally. */
type Plain<T> = T extends object ? { [K in keyof T]: Plain<T[K]> } : T;
type Server<S extends TSchema> = Plain<Static<S>>;

// The server's schemas are the source of the API; the SDK's hand-written types must say the same.
// These are compile-time checks (`npm run typecheck`); at run time the tests are empty.
describe("the SDK's types equal the server's schemas", () => {
  it("resources", () => {
    expectTypeOf<Plain<sdk.Project>>().toEqualTypeOf<Server<typeof Project>>();
    expectTypeOf<Plain<sdk.ServiceAccount>>().toEqualTypeOf<Server<typeof ServiceAccount>>();
    expectTypeOf<Plain<sdk.Token>>().toEqualTypeOf<Server<typeof Token>>();
    expectTypeOf<Plain<sdk.IssuedToken>>().toEqualTypeOf<Server<typeof IssuedToken>>();
    expectTypeOf<Plain<sdk.CreatedServiceAccount>>().toEqualTypeOf<Server<typeof CreatedServiceAccount>>();
    expectTypeOf<Plain<sdk.AuditEvent>>().toEqualTypeOf<Server<typeof AuditEvent>>();
    expectTypeOf<Plain<sdk.ChainVerification>>().toEqualTypeOf<Server<typeof ChainVerification>>();
  });

  it("request bodies and queries", () => {
    expectTypeOf<Plain<sdk.CreateProject>>().toEqualTypeOf<Server<typeof CreateProject>>();
    expectTypeOf<Plain<sdk.UpdateProject>>().toEqualTypeOf<Server<typeof UpdateProject>>();
    expectTypeOf<Plain<sdk.CreateServiceAccount>>().toEqualTypeOf<Server<typeof CreateServiceAccount>>();
    expectTypeOf<Plain<sdk.UpdateServiceAccount>>().toEqualTypeOf<Server<typeof UpdateServiceAccount>>();
    expectTypeOf<Plain<sdk.CreateToken>>().toEqualTypeOf<Server<typeof CreateToken>>();
    expectTypeOf<Plain<sdk.UpdateToken>>().toEqualTypeOf<Server<typeof UpdateToken>>();
    expectTypeOf<Plain<sdk.RotateToken>>().toEqualTypeOf<Server<typeof RotateToken>>();
    expectTypeOf<Plain<sdk.TokenListQuery>>().toEqualTypeOf<Server<typeof TokenListQuery>>();
    expectTypeOf<Plain<sdk.AllTokensQuery>>().toEqualTypeOf<Server<typeof AllTokensQuery>>();
  });
});
