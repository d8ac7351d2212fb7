import type { Migration } from "kysely";
import * as initial from "./0001-initial.ts";
import * as signingKeys from "./0002-signing-keys-and-revocations.ts";
import * as uiSessions from "./0003-ui-sessions.ts";

/** Ordered migrations, imported in code so that they survive bundling. */
export const migrations: Record<string, Migration> = {
  "0001-initial": initial,
  "0002-signing-keys-and-revocations": signingKeys,
  "0003-ui-sessions": uiSessions,
};
