import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { parseCookie, stringifySetCookie } from "cookie";
import type { FastifyRequest } from "fastify";
import { type AuthResult, authenticateTokenId, checkJwtClaims } from "../auth/authenticate.ts";
import type { Principal } from "../auth/policy.ts";
import type { Executor } from "../db/database.ts";
import { isStorageFull } from "../db/errors.ts";
import type { AccessTokenClaims } from "../jwt/access-token.ts";
import { addSeconds } from "../lib/clock.ts";
import { ApiError } from "../lib/errors.ts";
import type { RequestContext } from "../server/context.ts";
import type { Deps } from "../server/deps.ts";

/**
 * Web UI sessions. The browser holds a random 256-bit session id in an HttpOnly, SameSite=Strict
 * cookie; the store keeps only its SHA-256. The CSRF token is derived from the id (an HMAC keyed by
 * it), so it is the same on every node and is never stored. A session is as strong as the token that
 * signed in, and no stronger: each request re-checks that token (revoked, expired, account disabled
 * or deleted all end the session at once), and the session never outlives it, nor 12 hours.
 */

export const SESSION_COOKIE = "latchkey_session";
export const CSRF_HEADER = "x-csrf-token";
export const MAX_SESSION_SECONDS = 12 * 3600;
/** last_seen_at is written at most this often per session. */
const SEEN_GRANULARITY_SECONDS = 60;
/** 32 random bytes, base64url without padding. */
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

export interface UiSessionTable {
  id_digest: string;
  token_id: string;
  service_account_id: string;
  claims: string | null;
  created_at: string;
  expires_at: string;
  last_seen_at: string;
}

/**
 * Sessions are not part of `Database` on purpose: they are not data a store transfer moves
 * (a moved deployment signs its users in again), so the table is typed here only.
 */
const sessions = (db: Executor) => db.withTables<{ ui_sessions: UiSessionTable }>();

const digestOf = (sessionId: string): string => createHash("sha256").update(sessionId).digest("hex");

export const csrfTokenOf = (sessionId: string): string =>
  createHmac("sha256", sessionId).update("latchkey ui csrf v1").digest("base64url");

/** Constant-time: both sides are hashed first, so neither length nor content leaks by timing. */
export function csrfMatches(sessionId: string, presented: unknown): boolean {
  if (typeof presented !== "string" || presented === "") return false;
  const expected = createHash("sha256").update(csrfTokenOf(sessionId)).digest();
  const given = createHash("sha256").update(presented).digest();
  return timingSafeEqual(expected, given);
}

/** The session id from the request's Cookie header, if any (not checked against the store). */
export function sessionIdOf(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (!header || !header.includes(SESSION_COOKIE)) return undefined;
  const value = parseCookie(header)[SESSION_COOKIE];
  return value === undefined || value === "" ? undefined : value;
}

const secureCookie = (deps: Deps): boolean => deps.issuer.startsWith("https:");

export function sessionCookie(deps: Deps, sessionId: string): string {
  return stringifySetCookie(SESSION_COOKIE, sessionId, {
    httpOnly: true,
    sameSite: "strict",
    path: "/",
    secure: secureCookie(deps),
  });
}

export function clearedSessionCookie(deps: Deps): string {
  return stringifySetCookie(SESSION_COOKIE, "", {
    httpOnly: true,
    sameSite: "strict",
    path: "/",
    secure: secureCookie(deps),
    maxAge: 0,
    expires: new Date(0),
  });
}

/**
 * Whether the request's Origin (when it has one) is this server's: the issuer's origin, or the
 * origin the request itself was addressed to. A cross-site fetch carries the attacker's Origin.
 */
export function sameOrigin(request: FastifyRequest, issuer: string): boolean {
  if (request.headers["sec-fetch-site"] === "cross-site") return false;
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  if (origin === new URL(issuer).origin) return true;
  return origin === `${request.protocol}://${request.host}`;
}

export const UNSAFE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export interface NewSession {
  /** The secret: goes to the browser in the cookie, and nowhere else. */
  id: string;
  csrfToken: string;
  expiresAt: string;
}

/**
 * Stores a session for a principal that just authenticated. `claims` are given for a short-lived
 * JWT (which has no token row), so that each request can re-check it without the JWT itself.
 */
export async function createSession(
  deps: Deps,
  trx: Executor,
  ctx: RequestContext,
  principal: Principal,
  claims: AccessTokenClaims | undefined,
): Promise<NewSession> {
  const now = deps.clock.now();
  const cap = addSeconds(now, MAX_SESSION_SECONDS).toISOString();
  const expiresAt = principal.tokenExpiresAt < cap ? principal.tokenExpiresAt : cap;
  const id = randomBytes(32).toString("base64url");
  await sessions(trx)
    .insertInto("ui_sessions")
    .values({
      id_digest: digestOf(id),
      token_id: principal.tokenId,
      service_account_id: principal.serviceAccountId,
      claims: claims ? JSON.stringify(claims) : null,
      created_at: now.toISOString(),
      expires_at: expiresAt,
      last_seen_at: now.toISOString(),
    })
    .execute();
  await deps.audit.append(trx, ctx, {
    action: "ui.session.create",
    target: { type: "token", id: principal.tokenId, name: null },
    project: principal.projectName,
    details: { expires_at: expiresAt, service_account: principal.serviceAccountName },
  });
  return { id, csrfToken: csrfTokenOf(id), expiresAt };
}

/** A write that only tidies up: a full disk must not stop a session from reading. */
async function bookkeeping(write: Promise<unknown>): Promise<void> {
  try {
    await write;
  } catch (error) {
    if (!isStorageFull(error)) throw error;
  }
}

export type SessionResult =
  | (Extract<AuthResult, { ok: true }> & { session: { id: string; expiresAt: string } })
  | Extract<AuthResult, { ok: false }>;

/** A session id → its principal, with its token checked as authentication checks it. */
export async function resolveSession(deps: Deps, sessionId: string): Promise<SessionResult> {
  const ended = new ApiError("unauthenticated", "the session has ended; sign in again");
  if (!SESSION_ID.test(sessionId)) return { ok: false, error: ended };
  const digest = digestOf(sessionId);
  const db = sessions(deps.db);
  const row = await db
    .selectFrom("ui_sessions")
    .selectAll()
    .where("id_digest", "=", digest)
    .executeTakeFirst();
  if (!row) return { ok: false, error: ended };
  const now = deps.clock.now();
  const forget = () => bookkeeping(db.deleteFrom("ui_sessions").where("id_digest", "=", digest).execute());
  if (row.expires_at <= now.toISOString()) {
    await forget();
    return { ok: false, error: new ApiError("unauthenticated", "the session has expired; sign in again") };
  }
  const result = row.claims
    ? await checkJwtClaims(deps, JSON.parse(row.claims) as AccessTokenClaims)
    : await authenticateTokenId(deps, row.token_id);
  if (!result.ok || result.principal.serviceAccountId !== row.service_account_id) {
    await forget();
    return result.ok ? { ok: false, error: ended } : result;
  }
  const staleBefore = addSeconds(now, -SEEN_GRANULARITY_SECONDS).toISOString();
  if (row.last_seen_at <= staleBefore) {
    await bookkeeping(
      db
        .updateTable("ui_sessions")
        .set({ last_seen_at: now.toISOString() })
        .where("id_digest", "=", digest)
        .execute(),
    );
  }
  return { ...result, session: { id: sessionId, expiresAt: row.expires_at } };
}

/** Ends a session (sign-out): the row goes, and the change is audited in the same transaction. */
export async function deleteSession(
  deps: Deps,
  trx: Executor,
  ctx: RequestContext,
  sessionId: string,
): Promise<void> {
  await sessions(trx).deleteFrom("ui_sessions").where("id_digest", "=", digestOf(sessionId)).execute();
  const principal = ctx.principal;
  await deps.audit.append(trx, ctx, {
    action: "ui.session.delete",
    target: { type: "token", id: principal?.tokenId ?? null, name: null },
    project: principal?.projectName ?? null,
  });
}

/** Expired sessions are deleted on sight, and by this now and then. */
export async function pruneSessions(deps: Deps): Promise<void> {
  await sessions(deps.db)
    .deleteFrom("ui_sessions")
    .where("expires_at", "<=", deps.clock.now().toISOString())
    .execute();
}
