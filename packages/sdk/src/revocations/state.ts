import type { AccessTokenClaims, BoundObject } from "../jwt/claims.ts";
import {
  BoundObjectInvalidatedError,
  type LatchkeyError,
  ServiceAccountDisabledError,
  TokenRevokedError,
} from "../util/errors.ts";

/** The events of Latchkey's revocation feed (`GET /v1/revocations/stream`), as the SDK reads them. */
export type RevocationEvent =
  | { type: "token.revoked"; id: string; time: string; tokenId: string; at: string }
  | { type: "service_account.disabled"; id: string; time: string; serviceAccountId: string; deleted: boolean }
  | { type: "service_account.enabled"; id: string; time: string; serviceAccountId: string }
  | {
      type: "bound_object.invalidated";
      id: string;
      time: string;
      boundObject: BoundObject & { project: string };
    }
  | { type: "signing_key.rotated"; id: string; time: string; kid: string; retired: string[] };

const text = (value: unknown): value is string => typeof value === "string" && value.length > 0;

/** Reads one SSE event of the feed; undefined for a type or a shape the SDK does not know. */
export function parseRevocationEvent(type: string, id: string, data: string): RevocationEvent | undefined {
  let body: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(data);
    if (typeof parsed !== "object" || parsed === null) return undefined;
    body = parsed as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const time = typeof body.time === "string" ? body.time : "";
  switch (type) {
    case "token.revoked":
      return text(body.token_id) && text(body.at)
        ? { type, id, time, tokenId: body.token_id, at: body.at }
        : undefined;
    case "service_account.disabled":
      return text(body.service_account_id)
        ? { type, id, time, serviceAccountId: body.service_account_id, deleted: body.deleted === true }
        : undefined;
    case "service_account.enabled":
      return text(body.service_account_id)
        ? { type, id, time, serviceAccountId: body.service_account_id }
        : undefined;
    case "bound_object.invalidated": {
      const { project, kind, name, uid } = body;
      return text(project) && text(kind) && text(name) && text(uid)
        ? { type, id, time, boundObject: { project, kind, name, uid } }
        : undefined;
    }
    case "signing_key.rotated":
      return text(body.kid)
        ? {
            type,
            id,
            time,
            kid: body.kid,
            retired: Array.isArray(body.retired) ? body.retired.filter(text) : [],
          }
        : undefined;
    default:
      return undefined;
  }
}

const boundKey = (project: string, o: BoundObject) => JSON.stringify([project, o.kind, o.name, o.uid]);

/**
 * What the feed has said so far, folded into three lookups. Applying events in feed order is all it
 * takes: a later `service_account.enabled` undoes an earlier `disabled`.
 */
export class RevocationState {
  /** jti → the instant it stops working, and whether that instant had passed when the event was sent. */
  readonly #revoked = new Map<string, { at: number; immediate: boolean }>();
  readonly #disabled = new Set<string>();
  readonly #invalidated = new Set<string>();

  apply(event: RevocationEvent): void {
    switch (event.type) {
      case "token.revoked": {
        const at = Date.parse(event.at);
        if (Number.isNaN(at)) return;
        // "Now" on the server (a revoke call) takes effect on arrival, whatever this machine's clock
        // says; a future deadline (a rotation's grace period) takes effect at that instant.
        const sent = Date.parse(event.time);
        const immediate = Number.isNaN(sent) || at <= sent;
        const known = this.#revoked.get(event.tokenId);
        if (!known || at < known.at) this.#revoked.set(event.tokenId, { at, immediate });
        return;
      }
      case "service_account.disabled":
        this.#disabled.add(event.serviceAccountId);
        return;
      case "service_account.enabled":
        this.#disabled.delete(event.serviceAccountId);
        return;
      case "bound_object.invalidated":
        this.#invalidated.add(boundKey(event.boundObject.project, event.boundObject));
        return;
      case "signing_key.rotated":
        return;
    }
  }

  /** The reason the claims are no longer good, or undefined. */
  check(claims: AccessTokenClaims, now: Date): LatchkeyError | undefined {
    const revoked = this.#revoked.get(claims.jti);
    if (revoked && (revoked.immediate || now.getTime() >= revoked.at)) {
      return new TokenRevokedError(new Date(revoked.at));
    }
    if (this.#disabled.has(claims.sub)) {
      return new ServiceAccountDisabledError("the token's service account is disabled or deleted");
    }
    const bound = claims.bound_object;
    if (bound && this.#invalidated.has(boundKey(claims.project, bound))) {
      return new BoundObjectInvalidatedError(bound);
    }
    return undefined;
  }
}
