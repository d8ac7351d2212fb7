import { timingSafeEqual } from "node:crypto";
import type { Executor } from "../db/database.ts";
import { ApiError } from "../lib/errors.ts";
import type { RequestContext } from "../server/context.ts";
import { type Deps, transact } from "../server/deps.ts";
import { isWellFormedOpaqueToken, tokenDigest } from "../tokens/format.ts";
import { findTokenByDigest, type TokenRecord } from "../tokens/store.ts";
import { tokenRevoked } from "../revocations/feed.ts";
import { emailOf } from "../service-accounts/email.ts";
import type { Access, Principal, Role, Scope } from "./policy.ts";

/** last_used_at is written at most this often per token, so authentication rarely writes. */
export const LAST_USED_GRANULARITY_SECONDS = 60;

export type AuthResult =
  | { ok: true; principal: Principal; record: TokenRecord }
  | { ok: false; error: ApiError; record?: TokenRecord };

/**
 * Bearer token → principal. Cheap by design: a checksum check with no I/O, one SHA-256, one
 * indexed lookup, a constant-time comparison. No password hashing: tokens carry 256 random bits.
 */
export async function authenticateBearer(deps: Deps, header: string | undefined): Promise<AuthResult> {
  const match = header ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header) : null;
  if (!match?.[1]) {
    return { ok: false, error: new ApiError("unauthenticated", "send Authorization: Bearer <token>") };
  }
  return authenticateToken(deps, match[1]);
}

export async function authenticateToken(deps: Deps, token: string): Promise<AuthResult> {
  if (!isWellFormedOpaqueToken(token)) {
    return {
      ok: false,
      error: new ApiError("token_invalid", "the token is malformed or its checksum is wrong"),
    };
  }
  const digest = tokenDigest(token);
  const record = await findTokenByDigest(deps.db, digest);
  if (!record?.digest || !timingSafeEqual(Buffer.from(record.digest), Buffer.from(digest))) {
    return { ok: false, error: new ApiError("token_invalid", "the token is not known") };
  }
  const now = deps.clock.now().toISOString();
  if (record.revoked_at !== null) return { ok: false, record, error: new ApiError("token_revoked") };
  if (record.expires_at <= now) return { ok: false, record, error: new ApiError("token_expired") };
  if (record.sa_disabled === 1) return { ok: false, record, error: new ApiError("service_account_disabled") };
  return { ok: true, record, principal: principalOf(record) };
}

function principalOf(record: TokenRecord): Principal {
  return {
    serviceAccountId: record.service_account_id,
    serviceAccountName: record.sa_name,
    email: emailOf(record.sa_name, record.project_name),
    projectId: record.project_id,
    projectName: record.project_name,
    role: record.sa_role as Role,
    scope: record.sa_scope as Scope,
    tokenId: record.id,
    access: record.access as Access,
  };
}

/**
 * After a successful authentication: coalesced last_used_at, and on a rotated token's first use,
 * retirement of its predecessor when the rotation asked for it.
 */
export async function recordUse(deps: Deps, ctx: RequestContext, record: TokenRecord): Promise<void> {
  const now = deps.clock.now();
  const nowIso = now.toISOString();
  const staleBefore = new Date(now.getTime() - LAST_USED_GRANULARITY_SECONDS * 1000).toISOString();
  if (record.last_used_at !== null && record.last_used_at > staleBefore) return;

  const firstUse = record.last_used_at === null;
  if (firstUse && record.retire_previous_on_first_use === 1 && record.rotated_from !== null) {
    const previousId = record.rotated_from;
    await transact(deps, async (trx) => {
      const previous = await trx
        .selectFrom("tokens")
        .select("expires_at")
        .where("id", "=", previousId)
        .executeTakeFirst();
      const retired = await trx
        .updateTable("tokens")
        .set({ expires_at: nowIso })
        .where("id", "=", previousId)
        .where("expires_at", ">", nowIso)
        .where("revoked_at", "is", null)
        .executeTakeFirst();
      await markUsed(trx, record.id, nowIso, staleBefore);
      if (Number(retired.numUpdatedRows) === 1) {
        await tokenRevoked(
          deps.revocations,
          trx,
          { id: previousId, expires_at: previous?.expires_at ?? nowIso },
          nowIso,
        );
        await deps.audit.append(trx, ctx, {
          action: "token.retire_previous",
          target: { type: "token", id: previousId, name: record.name },
          project: record.project_name,
          details: { reason: "successor first used", successor_token_id: record.id },
        });
      }
    });
    return;
  }
  await markUsed(deps.db, record.id, nowIso, staleBefore);
}

async function markUsed(db: Executor, id: string, nowIso: string, staleBefore: string) {
  await db
    .updateTable("tokens")
    .set({ last_used_at: nowIso })
    .where("id", "=", id)
    .where((eb) => eb.or([eb("last_used_at", "is", null), eb("last_used_at", "<=", staleBefore)]))
    .execute();
}
