import { timingSafeEqual } from "node:crypto";
import type { Executor } from "../db/database.ts";
import { isStorageFull } from "../db/errors.ts";
import { compiledOnce, runCompiled } from "../db/prepared.ts";
import { ApiError } from "../lib/errors.ts";
import type { RequestContext } from "../server/context.ts";
import { type Deps, transact } from "../server/deps.ts";
import { isWellFormedOpaqueToken, tokenDigest } from "../tokens/format.ts";
import { findTokenByDigest, findTokenById, findTokensByDigests, type TokenRecord } from "../tokens/store.ts";
import {
  type AccessTokenClaims,
  type JwtFailure,
  looksLikeJwt,
  verifyAccessToken,
} from "../jwt/access-token.ts";
import { parseList } from "../lib/json.ts";
import { tokenRevoked } from "../revocations/feed.ts";
import { emailOf } from "../service-accounts/email.ts";
import type { Access, Principal, Role, Scope } from "./policy.ts";

/** last_used_at is written at most this often per token, so authentication rarely writes. */
export const LAST_USED_GRANULARITY_SECONDS = 60;

/** What any valid token says, whatever its format: the answer to introspection and TokenReview. */
export interface TokenFacts {
  format: "opaque" | "jwt";
  /** The token id (opaque and JWT-format tokens) or the `jti` of a short-lived JWT. */
  id: string;
  /** Empty for an opaque token without audiences: valid for any audience. */
  audiences: string[];
  issuedAt: string;
  expiresAt: string;
  boundObject?: { kind: string; name: string; uid: string };
}

export type AuthResult =
  | { ok: true; principal: Principal; token: TokenFacts; record?: TokenRecord }
  | { ok: false; error: ApiError; record?: TokenRecord };

/** `Authorization: Bearer <token>`; the token is the first group. */
export const BEARER_HEADER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/**
 * Bearer token → principal. Cheap by design: a checksum check with no I/O, one SHA-256, one
 * indexed lookup, a constant-time comparison. No password hashing: tokens carry 256 random bits.
 */
export async function authenticateBearer(deps: Deps, header: string | undefined): Promise<AuthResult> {
  const match = header ? BEARER_HEADER.exec(header) : null;
  if (!match?.[1]) {
    return { ok: false, error: new ApiError("unauthenticated", "send Authorization: Bearer <token>") };
  }
  return authenticateToken(deps, match[1]);
}

/** Finds an opaque token's record by its digest: the store, or rows already fetched with others. */
export type TokenLookup = (digest: string) => Promise<TokenRecord | undefined>;

/**
 * Any Latchkey token, opaque or JWT, checked against everything that can make it invalid. `lookup`
 * serves opaque tokens fetched beforehand (see `lookupTogether`); by default, the store.
 */
export async function authenticateToken(
  deps: Deps,
  token: string,
  lookup: TokenLookup = (digest) => findTokenByDigest(deps.db, digest),
): Promise<AuthResult> {
  if (looksLikeJwt(token)) return authenticateJwt(deps, token);
  if (!isWellFormedOpaqueToken(token)) {
    return {
      ok: false,
      error: new ApiError("token_invalid", "the token is malformed or its checksum is wrong"),
    };
  }
  const digest = tokenDigest(token);
  const record = await lookup(digest);
  if (!record?.digest || !timingSafeEqual(Buffer.from(record.digest), Buffer.from(digest))) {
    return { ok: false, error: new ApiError("token_invalid", "the token is not known") };
  }
  return checkRecord(deps, record);
}

/**
 * Two opaque tokens looked up in one query (introspection: the caller's and the one asked about),
 * served by the returned lookup; anything else, or a token that is not well-formed, goes to the
 * store as usual. Each is still checked in full by `authenticateToken`.
 */
export async function lookupTogether(
  deps: Deps,
  first: string | undefined,
  second: string | undefined,
): Promise<TokenLookup> {
  const single: TokenLookup = (digest) => findTokenByDigest(deps.db, digest);
  if (!first || !second || !isWellFormedOpaqueToken(first) || !isWellFormedOpaqueToken(second)) return single;
  const digests = [tokenDigest(first), tokenDigest(second)];
  const rows = await findTokensByDigests(deps.db, digests[0] as string, digests[1] as string);
  return async (digest) =>
    digests.includes(digest) ? rows.find((row) => row.digest === digest) : single(digest);
}

/** A token by id (a web UI session's token), checked like a presented token once it is found. */
export async function authenticateTokenId(deps: Deps, id: string): Promise<AuthResult> {
  const record = await findTokenById(deps.db, id);
  if (!record) return { ok: false, error: new ApiError("token_invalid", "the token is not known") };
  return checkRecord(deps, record);
}

function checkRecord(deps: Deps, record: TokenRecord): AuthResult {
  const now = deps.clock.now().toISOString();
  if (record.revoked_at !== null) return { ok: false, record, error: new ApiError("token_revoked") };
  if (record.expires_at <= now) return { ok: false, record, error: new ApiError("token_expired") };
  if (record.sa_disabled === 1) return { ok: false, record, error: new ApiError("service_account_disabled") };
  const token: TokenFacts = {
    format: record.format as TokenFacts["format"],
    id: record.id,
    audiences: parseList(record.audiences),
    issuedAt: record.created_at,
    expiresAt: record.expires_at,
  };
  return { ok: true, record, token, principal: principalOf(record, record.id, record.access as Access) };
}

const jwtReasons: Record<JwtFailure, string> = {
  malformed: "the token is not a well-formed Latchkey JWT",
  unknown_key: "the token's key is unknown or retired",
  bad_signature: "the token's signature does not verify",
  expired: "the token has expired",
  not_yet_valid: "the token is not valid yet",
  invalid_claims: "the token's claims are not valid",
};

async function authenticateJwt(deps: Deps, jwt: string): Promise<AuthResult> {
  // Which retired keys still verify depends on tokens expiring: reload now and then (cheap otherwise).
  await deps.keys.refreshIfStale();
  const verified = await verifyAccessToken(deps.keys, jwt, { issuer: deps.issuer, now: deps.clock.now() });
  if (!verified.ok) {
    const code = verified.reason === "expired" ? "token_expired" : "token_invalid";
    return { ok: false, error: new ApiError(code, jwtReasons[verified.reason]) };
  }
  return checkJwtClaims(deps, verified.claims);
}

/**
 * Everything that can end a JWT after its signature and lifetime were verified: revocation, its
 * account, its bound object. Also used to re-check a web UI session signed in with a JWT.
 */
export async function checkJwtClaims(deps: Deps, claims: AccessTokenClaims): Promise<AuthResult> {
  // A JWT-format token has a row, which knows about revocation and early retirement by rotation.
  const record = await findTokenById(deps.db, claims.jti);
  if (record) {
    if (record.format !== "jwt" || record.service_account_id !== claims.sub) {
      return { ok: false, error: new ApiError("token_invalid", "the token's claims are not valid") };
    }
    const result = checkRecord(deps, record);
    if (result.ok) result.token.audiences = claims.aud;
    return result;
  }
  // A short-lived JWT (token request, OAuth) has no row: check its jti, its account and its binding.
  const [revoked] = await runCompiled(
    deps.db,
    compiledOnce(deps.db, "revoked-jwt", () =>
      deps.db.selectFrom("revoked_jwts").select("jti").where("jti", "=", claims.jti).compile(),
    ),
    [claims.jti],
  );
  if (revoked) return { ok: false, error: new ApiError("token_revoked") };
  const [account] = await runCompiled(
    deps.db,
    compiledOnce(deps.db, "jwt-subject", () =>
      deps.db
        .selectFrom("service_accounts as sa")
        .innerJoin("projects as p", "p.id", "sa.project_id")
        .select([
          "sa.id",
          "sa.name",
          "sa.role",
          "sa.scope",
          "sa.disabled",
          "sa.deleted_at",
          "p.id as project_id",
          "p.name as project_name",
        ])
        .where("sa.id", "=", claims.sub)
        .compile(),
    ),
    [claims.sub],
  );
  if (!account || account.deleted_at !== null)
    return { ok: false, error: new ApiError("token_revoked", "the token's service account was deleted") };
  if (account.disabled === 1) return { ok: false, error: new ApiError("service_account_disabled") };
  const bound = claims.bound_object;
  if (bound) {
    const object = await deps.db
      .selectFrom("bound_objects")
      .select("uid")
      .where("project_id", "=", account.project_id)
      .where("kind", "=", bound.kind)
      .where("name", "=", bound.name)
      .executeTakeFirst();
    if (object?.uid !== bound.uid) {
      return {
        ok: false,
        error: new ApiError("token_revoked", "the object the token is bound to no longer exists"),
      };
    }
  }
  const principal: Principal = {
    serviceAccountId: account.id,
    serviceAccountName: account.name,
    email: emailOf(account.name, account.project_name),
    projectId: account.project_id,
    projectName: account.project_name,
    role: account.role as Role,
    scope: account.scope as Scope,
    tokenId: claims.jti,
    access: claims.access,
    tokenExpiresAt: new Date(claims.exp * 1000).toISOString(),
  };
  const token: TokenFacts = {
    format: "jwt",
    id: claims.jti,
    audiences: claims.aud,
    issuedAt: new Date(claims.iat * 1000).toISOString(),
    expiresAt: new Date(claims.exp * 1000).toISOString(),
    ...(bound ? { boundObject: bound } : {}),
  };
  return { ok: true, principal, token };
}

function principalOf(record: TokenRecord, tokenId: string, access: Access): Principal {
  return {
    serviceAccountId: record.service_account_id,
    serviceAccountName: record.sa_name,
    email: emailOf(record.sa_name, record.project_name),
    projectId: record.project_id,
    projectName: record.project_name,
    role: record.sa_role as Role,
    scope: record.sa_scope as Scope,
    tokenId,
    access,
    tokenExpiresAt: record.expires_at,
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
  try {
    await markUsed(deps.db, record.id, nowIso, staleBefore);
  } catch (error) {
    // last_used_at is bookkeeping: a full disk must not stop verification (reads go on). The
    // retirement above is a rule, not bookkeeping, and fails the request instead.
    if (!isStorageFull(error)) throw error;
  }
}

async function markUsed(db: Executor, id: string, nowIso: string, staleBefore: string) {
  await db
    .updateTable("tokens")
    .set({ last_used_at: nowIso })
    .where("id", "=", id)
    .where((eb) => eb.or([eb("last_used_at", "is", null), eb("last_used_at", "<=", staleBefore)]))
    .execute();
}
