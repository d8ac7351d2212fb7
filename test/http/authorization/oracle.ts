/**
 * The authorization oracle, written from SPEC.md §1–§2 and §4 in the SPEC's own words: what a caller
 * (role × scope × token access) may do to a target. It deliberately does not call `decide` (or read
 * POLICY's minRole/ceiling): the implementation is checked against the SPEC, not against itself.
 * Used by the policy matrix (policy-matrix.test.ts) and by the privilege-escalation suite
 * (test/hardening/privilege), which calls every route of /openapi.json.
 */
import type { Action } from "../../../src/auth/policy.ts";

// ---------------------------------------------------------------------------------------------------
// Vocabulary, from SPEC §1 ("viewer < contributor < admin < owner"; scope project | organization) and
// §1 Token ("access: read-only | read-write").

export const ROLES = ["viewer", "contributor", "admin", "owner"] as const;
export type Role = (typeof ROLES)[number];
export const SCOPES = ["project", "organization"] as const;
export type Scope = (typeof SCOPES)[number];
export const ACCESS = ["read-only", "read-write"] as const;
export type Access = (typeof ACCESS)[number];
export const LOCATIONS = ["own", "other"] as const;
/** "own": the caller's own project; "other": another project. */
export type Location = (typeof LOCATIONS)[number];

export interface Caller {
  role: Role;
  scope: Scope;
  access: Access;
}
export interface TargetAccount {
  role: Role;
  scope: Scope;
}
export interface Case {
  n: number;
  action: Action;
  caller: Caller;
  /** Where the target lives; absent for organization-level actions (project.create, audit.*). */
  location?: Location;
  /** The service account whose role and scope bound the action; only for privilege-ceiling actions. */
  target?: TargetAccount;
}

// ---------------------------------------------------------------------------------------------------
// The oracle, from the SPEC's words.

const rank = (role: Role): number => ROLES.indexOf(role);
const atLeast = (role: Role, min: Role): boolean => rank(role) >= rank(min);
const lower = (a: Role, b: Role): Role => (rank(a) <= rank(b) ? a : b);

/** §2 "Effective permission of a request = min(SA role, token cap), where a read-only token caps at viewer." */
export function effectiveRole(caller: Caller): Role {
  const cap: Role = caller.access === "read-only" ? "viewer" : "owner";
  return lower(caller.role, cap);
}

/**
 * §2 "No one creates, updates or mints a token for an SA whose role (or scope) is above their own
 * effective role (or scope). Contributors manage SAs and tokens up to contributor; admins up to admin;
 * owners anything." Viewers manage nothing.
 */
export function withinCeiling(caller: Caller, target: TargetAccount): boolean {
  const role = effectiveRole(caller);
  const scopeOk = target.scope === "project" || caller.scope === "organization";
  return atLeast(role, "contributor") && rank(target.role) <= rank(role) && scopeOk;
}

/**
 * §2 "Only organization-scoped admins/owners create projects and organization-scoped SAs."
 * (The SPEC says "create"; like src/auth/policy.ts ("created (or made) only by organization-scoped
 * admins") this reads it for managing an organization-scoped SA at all: create, update, delete.)
 */
export const organizationAdmin = (caller: Caller): boolean =>
  caller.scope === "organization" && atLeast(effectiveRole(caller), "admin");

export const organizationOwner = (caller: Caller): boolean =>
  caller.scope === "organization" && effectiveRole(caller) === "owner";

export function manageAccount(caller: Caller, target: TargetAccount): boolean {
  return withinCeiling(caller, target) && (target.scope === "project" || organizationAdmin(caller));
}

export type TargetKind =
  /** An organization-level action: no project, no target account. */
  | "organization"
  /** A project (own or other). */
  | "project"
  /** Something in a project that anyone who can see it may read. */
  | "readable"
  /** A service account or its token, bounded by the privilege ceiling (target role × scope). */
  | "ceiling";

/** What the SPEC allows a caller, once the target is visible to them. Keyed by every POLICY action. */
export const specAllows: Record<
  Action,
  { kind: TargetKind; allows: (caller: Caller, target: TargetAccount) => boolean }
> = {
  // Reading needs no more than viewer, which every authenticated caller has.
  "project.read": { kind: "readable", allows: () => true },
  // §2 "Only organization-scoped admins/owners create projects".
  "project.create": { kind: "organization", allows: organizationAdmin },
  // The SPEC is silent on editing and deleting projects; src/auth/policy.ts documents the same rule as
  // for creating them (organization-scoped admins and owners), and this test follows that reading.
  "project.update": { kind: "project", allows: organizationAdmin },
  "project.delete": { kind: "project", allows: organizationAdmin },
  "service_account.read": { kind: "readable", allows: () => true },
  "service_account.create": { kind: "ceiling", allows: manageAccount },
  "service_account.update": { kind: "ceiling", allows: manageAccount },
  "service_account.delete": { kind: "ceiling", allows: manageAccount },
  "token.read": { kind: "readable", allows: () => true },
  // §2 "mints a token for an SA whose role (or scope) is above …": the ceiling, and no more.
  "token.create": { kind: "ceiling", allows: withinCeiling },
  "token.update": { kind: "ceiling", allows: withinCeiling },
  "token.rotate": { kind: "ceiling", allows: withinCeiling },
  "token.revoke": { kind: "ceiling", allows: withinCeiling },
  // §2 "Audit log: admins and owners." A project-scoped admin reads its own project's events.
  "audit.read": { kind: "organization", allows: (c) => atLeast(effectiveRole(c), "admin") },
  // Verifying the hash chain spans every project's events; the SPEC does not name it, and this test
  // follows src/auth/policy.ts's documented reading: organization-scoped admins and owners.
  "audit.verify": { kind: "organization", allows: organizationAdmin },
  // §2 "Signing keys and server policy: owners only." Keys serve every project: organization-scoped owners.
  "signing_key.read": { kind: "organization", allows: organizationOwner },
  "signing_key.rotate": { kind: "organization", allows: organizationOwner },
  // The SPEC is silent on bound objects; like everything else kept in a project, contributors manage them.
  "bound_object.write": { kind: "project", allows: (c) => atLeast(effectiveRole(c), "contributor") },
};

export type Outcome = "allowed" | "denied" | "hidden";

/** §4 "a resource outside the caller's scope 404 (same as a missing one)"; "not allowed 403". */
export function expectedOutcome(c: Case): Outcome {
  if (c.location === "other" && c.caller.scope === "project") return "hidden";
  const target = c.target ?? { role: "viewer", scope: "project" };
  return specAllows[c.action].allows(c.caller, target) ? "allowed" : "denied";
}
