import type { TokenTable } from "../db/schema.ts";

export const TOKEN_STATES = ["active", "expired", "revoked"] as const;
export type TokenState = (typeof TOKEN_STATES)[number];

/**
 * Derived, never stored: a token expires at `expires_at` exactly, to the millisecond. `now` may be
 * given as its ISO string, for a page of rows judged at one instant.
 */
export function tokenState(
  row: Pick<TokenTable, "revoked_at" | "expires_at">,
  now: Date | string,
): TokenState {
  if (row.revoked_at !== null) return "revoked";
  return row.expires_at <= (typeof now === "string" ? now : now.toISOString()) ? "expired" : "active";
}
