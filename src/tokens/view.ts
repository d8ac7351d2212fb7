import type { Access } from "../auth/policy.ts";
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

/** The public shape of a token. It has no secret and no digest, by construction. */
export function tokenView(row: TokenRecord, now: Date): TokenView {
  const state = tokenState(row, now);
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    owner: row.owner,
    service_account: {
      id: row.service_account_id,
      project: row.project_name,
      name: row.sa_name,
      email: emailOf(row.sa_name, row.project_name),
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
