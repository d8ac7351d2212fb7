import { ApiError } from "../lib/errors.ts";

export const ROLES = ["viewer", "contributor", "admin", "owner"] as const;
export type Role = (typeof ROLES)[number];
export const SCOPES = ["project", "organization"] as const;
export type Scope = (typeof SCOPES)[number];
export const ACCESS_LEVELS = ["read-only", "read-write"] as const;
export type Access = (typeof ACCESS_LEVELS)[number];

export const roleRank = (role: Role): number => ROLES.indexOf(role);
const scopeRank = (scope: Scope): number => SCOPES.indexOf(scope);

/** Who is calling: an authenticated token of a service account. */
export interface Principal {
  serviceAccountId: string;
  serviceAccountName: string;
  email: string;
  projectId: string;
  projectName: string;
  role: Role;
  scope: Scope;
  tokenId: string;
  access: Access;
  /** When the calling token stops working: what it mints for itself may not outlive it. */
  tokenExpiresAt: string;
}

/** min(SA role, token cap): a read-only token caps at viewer. */
export function effectiveRole(principal: Pick<Principal, "role" | "access">): Role {
  return principal.access === "read-only" ? "viewer" : principal.role;
}

/**
 * The policy table. Each action names the least effective role it needs, whether the caller must
 * be organization-scoped, and whether the target service account's role and scope must not exceed
 * the caller's own (the privilege ceiling). Visibility comes first: a project-scoped caller cannot
 * see other projects at all, and gets 404 for anything in them.
 */
export const POLICY = {
  "project.read": { minRole: "viewer", organizationOnly: false, ceiling: false },
  "project.create": { minRole: "admin", organizationOnly: true, ceiling: false },
  "project.update": { minRole: "admin", organizationOnly: true, ceiling: false },
  "project.delete": { minRole: "admin", organizationOnly: true, ceiling: false },
  "service_account.read": { minRole: "viewer", organizationOnly: false, ceiling: false },
  "service_account.create": { minRole: "contributor", organizationOnly: false, ceiling: true },
  "service_account.update": { minRole: "contributor", organizationOnly: false, ceiling: true },
  "service_account.delete": { minRole: "contributor", organizationOnly: false, ceiling: true },
  "token.read": { minRole: "viewer", organizationOnly: false, ceiling: false },
  "token.create": { minRole: "contributor", organizationOnly: false, ceiling: true },
  "token.update": { minRole: "contributor", organizationOnly: false, ceiling: true },
  "token.rotate": { minRole: "contributor", organizationOnly: false, ceiling: true },
  "token.revoke": { minRole: "contributor", organizationOnly: false, ceiling: true },
  "bound_object.write": { minRole: "contributor", organizationOnly: false, ceiling: false },
  "audit.read": { minRole: "admin", organizationOnly: false, ceiling: false },
  "audit.verify": { minRole: "admin", organizationOnly: true, ceiling: false },
  "signing_key.read": { minRole: "owner", organizationOnly: true, ceiling: false },
  "signing_key.rotate": { minRole: "owner", organizationOnly: true, ceiling: false },
} as const satisfies Record<string, { minRole: Role; organizationOnly: boolean; ceiling: boolean }>;

export type Action = keyof typeof POLICY;

/** Organization-scoped service accounts are created (or made) only by organization-scoped admins. */
export const ORGANIZATION_SCOPE_MIN_ROLE: Role = "admin";

export interface Target {
  /** The project the target lives in; undefined for organization-level actions. */
  projectId?: string;
  /** The service account whose role and scope bound the action (ceiling). */
  serviceAccount?: { role: Role; scope: Scope };
}

export function canSeeProject(principal: Principal, projectId: string): boolean {
  return principal.scope === "organization" || principal.projectId === projectId;
}

/**
 * Decides an action. Returns undefined when allowed, or the error to answer with:
 * 404 outside the caller's scope, 403 inside it.
 */
export function decide(principal: Principal, action: Action, target: Target): ApiError | undefined {
  if (target.projectId !== undefined && !canSeeProject(principal, target.projectId)) {
    return new ApiError("not_found");
  }
  const rule = POLICY[action];
  const role = effectiveRole(principal);
  if (
    roleRank(role) < roleRank(rule.minRole) ||
    (rule.organizationOnly && principal.scope !== "organization")
  ) {
    const scopeNote = rule.organizationOnly ? "an organization-scoped " : "";
    return new ApiError("permission_denied", `${action} needs ${scopeNote}${rule.minRole} or above`);
  }
  const sa = target.serviceAccount;
  if (rule.ceiling && sa) {
    if (roleRank(sa.role) > roleRank(role)) {
      return new ApiError(
        "role_ceiling_exceeded",
        `the service account's role ${sa.role} is above the caller's effective role ${role}`,
      );
    }
    if (scopeRank(sa.scope) > scopeRank(principal.scope)) {
      return new ApiError("scope_ceiling_exceeded", "organization scope is above the caller's project scope");
    }
    if (
      sa.scope === "organization" &&
      action.startsWith("service_account.") &&
      roleRank(role) < roleRank(ORGANIZATION_SCOPE_MIN_ROLE)
    ) {
      return new ApiError(
        "permission_denied",
        "only organization-scoped admins and owners manage organization-scoped service accounts",
      );
    }
  }
  return undefined;
}
