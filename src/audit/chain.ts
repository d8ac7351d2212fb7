import { createHash } from "node:crypto";

export const GENESIS_HASH = "0".repeat(64);

/** The fields an event's hash covers, in a fixed order. */
export interface HashedEvent {
  id: string;
  time: string;
  actor_service_account_id: string | null;
  actor_service_account_name: string | null;
  actor_project: string | null;
  actor_token_id: string | null;
  action: string;
  target_type: string;
  target_id: string | null;
  target_name: string | null;
  project: string | null;
  outcome: string;
  request_id: string | null;
  ip: string | null;
  user_agent: string | null;
  details: string;
}

const HASHED_FIELDS: (keyof HashedEvent)[] = [
  "id",
  "time",
  "actor_service_account_id",
  "actor_service_account_name",
  "actor_project",
  "actor_token_id",
  "action",
  "target_type",
  "target_id",
  "target_name",
  "project",
  "outcome",
  "request_id",
  "ip",
  "user_agent",
  "details",
];

/** hash = SHA-256(prev_hash ‖ canonical JSON array of the hashed fields). */
export function eventHash(prevHash: string, event: HashedEvent): string {
  const canonical = JSON.stringify(HASHED_FIELDS.map((f) => event[f]));
  return createHash("sha256").update(prevHash).update("\n").update(canonical).digest("hex");
}
