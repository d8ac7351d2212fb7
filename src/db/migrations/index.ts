import type { Migration } from "kysely";
import * as initial from "./0001-initial.ts";

/** Ordered migrations, imported in code so that they survive bundling. */
export const migrations: Record<string, Migration> = {
  "0001-initial": initial,
};
