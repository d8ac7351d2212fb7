import { AuditService } from "../audit/service.ts";
import { ProjectService } from "../projects/service.ts";
import { ServiceAccountService } from "../service-accounts/service.ts";
import { TokenService } from "../tokens/service.ts";
import type { Deps } from "./deps.ts";

export interface Services {
  projects: ProjectService;
  serviceAccounts: ServiceAccountService;
  tokens: TokenService;
  audit: AuditService;
}

export const makeServices = (deps: Deps): Services => ({
  projects: new ProjectService(deps),
  serviceAccounts: new ServiceAccountService(deps),
  tokens: new TokenService(deps),
  audit: new AuditService(deps),
});
