import type { Access } from "../auth/policy.ts";
import type { TokenTable } from "../db/schema.ts";
import { type Labels, parseLabels, parseList } from "../lib/json.ts";
import { emailOf } from "../service-accounts/email.ts";
import { type TokenState, tokenState } from "./state.ts";
import type { TokenRecord } from "./store.ts";

export interface TokenView {
  id: string;
  name: string;
  description: string;
  owner: string;
  service_account: { id: string; project: string; name: string; email: string };
  access: Access;
  format: "opaque" | "jwt";
  audiences: string[];
  labels: Labels;
  created_at: string;
  expires_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
  state: TokenState;
  active: boolean;
  rotated_from: string | null;
  rotated_to: string | null;
  created_by: string;
}

/** The columns of the tokens table that a view shows: never the digest, nor the signing key's id. */
export const VIEW_COLUMNS = [
  "id",
  "service_account_id",
  "name",
  "description",
  "owner",
  "access",
  "format",
  "audiences",
  "labels",
  "created_at",
  "expires_at",
  "last_used_at",
  "revoked_at",
  "rotated_from",
  "rotated_to",
  "created_by",
] as const satisfies readonly (keyof TokenTable)[];

export type ViewedToken = Pick<TokenTable, (typeof VIEW_COLUMNS)[number]>;

/** The public shape of a token. It has no secret and no digest, by construction. */
export function tokenView(row: TokenRecord, now: Date): TokenView {
  return ownedTokenView(row, { name: row.sa_name, project: row.project_name }, now.toISOString());
}

/**
 * `tokenView` of a row read without its account and project, which the caller already holds (a page
 * of one service account's tokens), at `nowIso` (the instant as an ISO string, computed once per page).
 */
export function ownedTokenView(
  row: ViewedToken,
  account: { name: string; project: string },
  nowIso: string,
): TokenView {
  const state = tokenState(row, nowIso);
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    owner: row.owner,
    service_account: {
      id: row.service_account_id,
      project: account.project,
      name: account.name,
      email: emailOf(account.name, account.project),
    },
    access: row.access as Access,
    format: row.format as TokenView["format"],
    audiences: parseList(row.audiences),
    labels: parseLabels(row.labels),
    created_at: row.created_at,
    expires_at: row.expires_at,
    last_used_at: row.last_used_at,
    revoked_at: row.revoked_at,
    state,
    active: state === "active",
    rotated_from: row.rotated_from,
    rotated_to: row.rotated_to,
    created_by: row.created_by,
  };
}
