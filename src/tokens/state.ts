import type { TokenTable } from "../db/schema.ts";

export const TOKEN_STATES = ["active", "expired", "revoked"] as const;
export type TokenState = (typeof TOKEN_STATES)[number];

/** Derived, never stored: a token expires at `expires_at` exactly, to the millisecond. */
export function tokenState(row: Pick<TokenTable, "revoked_at" | "expires_at">, now: Date): TokenState {
  if (row.revoked_at !== null) return "revoked";
  return row.expires_at <= now.toISOString() ? "expired" : "active";
}
