import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { newId } from "../lib/ids.ts";
import { DEFAULT_PROJECT } from "../projects/service.ts";
import { issueToken } from "../tokens/store.ts";
import { systemContext } from "./context.ts";
import type { Deps } from "./deps.ts";
import { transact } from "./deps.ts";

export const BOOTSTRAP_ACCOUNT = "bootstrap";
export const BOOTSTRAP_TOKEN_FILE = "bootstrap-token";

/**
 * On first start with an empty store: project `default`, the organization-scoped owner `bootstrap`
 * and a token for it, written to `<dataDir>/bootstrap-token` (mode 0600). Returns the secret so
 * that it can be printed once, or undefined when the store was not empty.
 */
export async function bootstrap(deps: Deps, dataDir: string | undefined): Promise<string | undefined> {
  const ctx = systemContext("bootstrap");
  const secret = await transact(deps, async (trx) => {
    if (await trx.selectFrom("projects").select("id").limit(1).executeTakeFirst()) return undefined;
    const now = deps.clock.now();
    const at = now.toISOString();
    const project = {
      id: newId(),
      name: DEFAULT_PROJECT,
      description: "Created on first start",
      labels: "{}",
    };
    await trx
      .insertInto("projects")
      .values({ ...project, created_at: at, updated_at: at, created_by: "system" })
      .execute();
    const account = {
      id: newId(),
      project_id: project.id,
      name: BOOTSTRAP_ACCOUNT,
      description: "Created on first start; rotate its token and create narrower accounts for daily work",
      owner: "",
      role: "owner",
      scope: "organization",
      disabled: 0,
      labels: "{}",
      created_at: at,
      updated_at: at,
      created_by: "system",
      deleted_at: null,
    };
    await trx.insertInto("service_accounts").values(account).execute();
    const issued = await issueToken(
      trx,
      deps,
      now,
      "system",
      { account, project },
      {
        service_account_id: account.id,
        name: "bootstrap",
        description: "First token of the bootstrap account",
        owner: "",
        access: "read-write",
        format: "opaque",
        audiences: "[]",
        labels: "{}",
        ttl_seconds: deps.policy.maxTokenTtlSeconds,
        rotated_from: null,
        retire_previous_on_first_use: 0,
      },
    );
    const events = [
      { action: "project.create", target: { type: "project", id: project.id, name: project.name } },
      {
        action: "service_account.create",
        target: { type: "service_account", id: account.id, name: account.name },
        details: { role: "owner", scope: "organization" },
      },
      { action: "token.create", target: { type: "token", id: issued.row.id, name: issued.row.name } },
    ];
    for (const event of events) await deps.audit.append(trx, ctx, { ...event, project: DEFAULT_PROJECT });
    return issued.secret;
  });
  if (secret && dataDir) {
    const file = join(dataDir, BOOTSTRAP_TOKEN_FILE);
    writeFileSync(file, `${secret}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  return secret;
}
