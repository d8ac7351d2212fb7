import type { Principal } from "../auth/policy.ts";

/** Who asks and from where; passed from routes to services, recorded in audit events. */
export interface RequestContext {
  principal: Principal | undefined;
  requestId: string;
  ip: string | null;
  userAgent: string | null;
}

export const systemContext = (requestId = "system"): RequestContext => ({
  principal: undefined,
  requestId,
  ip: null,
  userAgent: null,
});
