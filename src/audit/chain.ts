import { createHash } from "node:crypto";
import type { AuditEventTable } from "../db/schema.ts";

export const GENESIS_HASH = "0".repeat(64);

/** Everything an event records except its place in the chain; all of it is hashed. */
export type HashedEvent = Omit<AuditEventTable, "seq" | "prev_hash" | "hash">;

// Fixed order: the hash must not depend on how an object happened to be built.
export const HASHED_FIELDS = [
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
] as const satisfies readonly (keyof HashedEvent)[];
// A field added to the table but not to the list above fails to compile here.
const everyFieldHashed: Exclude<keyof HashedEvent, (typeof HASHED_FIELDS)[number]> extends never
  ? true
  : never = true;
void everyFieldHashed;

/** hash = SHA-256(prev_hash ‖ canonical JSON array of the hashed fields). */
export function eventHash(prevHash: string, event: HashedEvent): string {
  const canonical = JSON.stringify(HASHED_FIELDS.map((f) => event[f]));
  return createHash("sha256").update(prevHash).update("\n").update(canonical).digest("hex");
}
