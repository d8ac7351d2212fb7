import {
  BoundObjectInvalidatedError,
  createRevocationFeed,
  createVerifier,
  type RevocationEvent,
  RevocationFeedUnavailableError,
  ServiceAccountDisabledError,
  TokenRevokedError,
  type Verifier,
} from "@latchkey/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type TestServer } from "../helpers/server.ts";
import {
  account,
  AUDIENCE,
  clientCredentialsToken,
  eventually,
  jwtFormatToken,
  oauthRevoke,
  rejection,
  requestedToken,
  unique,
} from "./helpers.ts";

const TRIALS = 20;
const BOUND_MS = 1000;

/** Milliseconds from now until `verifier` refuses `token` with `type`; fails after the bound. */
async function refusedAfter(verifier: Verifier, token: string, type: new (...args: never[]) => Error) {
  const start = performance.now();
  await eventually(async () => {
    try {
      await verifier.verify(token);
      return undefined;
    } catch (error) {
      if (error instanceof type) return true;
      throw error;
    }
  }, BOUND_MS);
  return performance.now() - start;
}

const summary = (delays: number[]) => {
  const sorted = [...delays].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(1);
  return `n=${sorted.length} min=${at(0)} median=${at(0.5)} p95=${at(0.95)} max=${at(1)} ms`;
};

describe("offline verification with the revocation feed", () => {
  let server: TestServer;
  let verifier: Verifier;
  let caller: Awaited<ReturnType<typeof account>>;
  beforeAll(async () => {
    server = await startServer();
    caller = await account(server, { role: "contributor" });
    verifier = createVerifier({
      issuer: server.url,
      audience: AUDIENCE,
      revocationFeed: { token: server.bootstrapToken },
    });
    await verifier.ready;
  });
  afterAll(async () => {
    // Before the server: it waits for open feed connections when it closes.
    await verifier.close();
    await server.close();
  });

  it(`refuses a JWT-format token revoked with DELETE /v1/tokens/{id} within ${BOUND_MS} ms (${TRIALS} trials)`, async () => {
    const delays: number[] = [];
    for (let i = 0; i < TRIALS; i++) {
      const { jwt, id } = await jwtFormatToken(server, caller.name);
      await expect(verifier.verify(jwt)).resolves.toMatchObject({ jti: id });
      const revoked = await server.api("DELETE", `/v1/tokens/${id}`);
      expect(revoked.status).toBe(204);
      delays.push(await refusedAfter(verifier, jwt, TokenRevokedError));
    }
    console.log(`DELETE /v1/tokens/{id} → offline refusal: ${summary(delays)}`);
    expect(Math.max(...delays)).toBeLessThan(BOUND_MS);
  });

  it(`refuses a client_credentials JWT revoked with /oauth2/revoke within ${BOUND_MS} ms (${TRIALS} trials)`, async () => {
    const delays: number[] = [];
    for (let i = 0; i < TRIALS; i++) {
      const jwt = await clientCredentialsToken(server, caller);
      await verifier.verify(jwt);
      expect(await oauthRevoke(server, jwt)).toBe(200);
      delays.push(await refusedAfter(verifier, jwt, TokenRevokedError));
    }
    console.log(`POST /oauth2/revoke → offline refusal: ${summary(delays)}`);
    expect(Math.max(...delays)).toBeLessThan(BOUND_MS);
  });

  it("refuses a JWT-format token revoked through /oauth2/revoke, and a token-request JWT", async () => {
    const { jwt } = await jwtFormatToken(server, caller.name);
    expect(await oauthRevoke(server, jwt)).toBe(200);
    await refusedAfter(verifier, jwt, TokenRevokedError);
    const requested = await requestedToken(server, caller.name);
    await verifier.verify(requested);
    expect(await oauthRevoke(server, requested)).toBe(200);
    const error = await eventually(() =>
      verifier.verify(requested).then(
        () => undefined,
        (e: unknown) => e,
      ),
    );
    expect(error).toBeInstanceOf(TokenRevokedError);
    expect((error as TokenRevokedError).code).toBe("ERR_TOKEN_REVOKED");
  });

  it("refuses every token of a disabled account until it is enabled again, and of a deleted one", async () => {
    const other = await account(server);
    const { jwt } = await jwtFormatToken(server, other.name);
    const requested = await requestedToken(server, other.name);
    const patch = (disabled: boolean) =>
      server.api("PATCH", `/v1/projects/default/service-accounts/${other.name}`, { body: { disabled } });
    expect((await patch(true)).status).toBe(200);
    await refusedAfter(verifier, jwt, ServiceAccountDisabledError);
    await refusedAfter(verifier, requested, ServiceAccountDisabledError);
    expect((await patch(false)).status).toBe(200);
    await eventually(() => verifier.verify(requested).catch(() => undefined));
    await expect(verifier.verify(jwt)).resolves.toBeDefined();

    const deleted = await server.api("DELETE", `/v1/projects/default/service-accounts/${other.name}`);
    expect(deleted.status).toBe(204);
    await refusedAfter(verifier, requested, ServiceAccountDisabledError);
    await refusedAfter(verifier, jwt, TokenRevokedError);
  });

  it("refuses a token bound to an object once the object is deleted, or given a new uid", async () => {
    const pod = unique("pod");
    const objectPath = `/v1/projects/default/bound-objects/Pod/${pod}`;
    expect((await server.api("PUT", objectPath, { body: { uid: "uid-1" } })).status).toBe(200);
    const bind = { audiences: [AUDIENCE], bound_object_ref: { kind: "Pod", name: pod } };
    const first = await requestedToken(server, caller.name, bind);
    const unbound = await requestedToken(server, caller.name);
    await expect(verifier.verify(first)).resolves.toMatchObject({ bound_object: { uid: "uid-1" } });

    expect((await server.api("PUT", objectPath, { body: { uid: "uid-2" } })).status).toBe(200);
    await refusedAfter(verifier, first, BoundObjectInvalidatedError);
    const second = await requestedToken(server, caller.name, bind);
    await expect(verifier.verify(second)).resolves.toMatchObject({ bound_object: { uid: "uid-2" } });

    const start = performance.now();
    expect((await server.api("DELETE", objectPath)).status).toBe(204);
    const error = await eventually(() =>
      verifier.verify(second).then(
        () => undefined,
        (e: unknown) => e,
      ),
    );
    const delay = performance.now() - start;
    expect(error).toBeInstanceOf(BoundObjectInvalidatedError);
    expect((error as BoundObjectInvalidatedError).boundObject).toEqual({
      kind: "Pod",
      name: pod,
      uid: "uid-2",
    });
    expect(delay).toBeLessThan(BOUND_MS);
    await expect(verifier.verify(unbound)).resolves.toBeDefined();
  });

  it("refuses the previous token of a rotation at its grace deadline, by the verifier's clock", async () => {
    const { jwt, id } = await jwtFormatToken(server, caller.name);
    // Listening before the call: the event may arrive before the call's answer does.
    const seen = new Promise<void>((resolve) => {
      const stop = verifier.feed!.subscribe((event) => {
        if (event.type === "token.revoked" && event.tokenId === id) {
          stop();
          resolve();
        }
      });
    });
    const rotated = await server.api("POST", `/v1/tokens/${id}/rotate`, {
      body: { previous_expires_in_seconds: 3600 },
    });
    expect(rotated.status).toBe(201);
    const deadline = new Date(rotated.body.previous.expires_at);
    await seen;
    await expect(verifier.verify(jwt)).resolves.toBeDefined();
    await expect(
      verifier.verify(jwt, { currentDate: new Date(deadline.getTime() - 1) }),
    ).resolves.toBeDefined();
    const error = await rejection(verifier.verify(jwt, { currentDate: deadline }));
    expect(error).toBeInstanceOf(TokenRevokedError);
    expect((error as TokenRevokedError).revokedAt).toEqual(deadline);
    // The new token is unaffected.
    await expect(verifier.verify(rotated.body.token, { currentDate: deadline })).resolves.toBeDefined();
  });

  it("a new verifier learns earlier revocations while catching up, before it is ready", async () => {
    const { jwt, id } = await jwtFormatToken(server, caller.name);
    expect((await server.api("DELETE", `/v1/tokens/${id}`)).status).toBe(204);
    const late = createVerifier({
      issuer: server.url,
      audience: AUDIENCE,
      revocationFeed: { token: server.bootstrapToken },
    });
    try {
      // No waiting for `ready`: verify waits for the catch-up itself.
      expect(await rejection(late.verify(jwt))).toBeInstanceOf(TokenRevokedError);
    } finally {
      await late.close();
    }
  });
});

describe("the revocation feed's connection", () => {
  let server: TestServer;
  let caller: Awaited<ReturnType<typeof account>>;
  beforeAll(async () => {
    server = await startServer();
    caller = await account(server);
  });
  afterAll(() => server.close());

  /** A fetch whose feed connections the test can cut off (as a network failure would) and keep offline. */
  function flakyNetwork() {
    const requests: Headers[] = [];
    let connection: AbortController | undefined;
    let offline = false;
    const fetchImpl = (async (input: string | URL | Request, init: RequestInit = {}) => {
      if (!String(input).endsWith("/v1/revocations/stream")) return fetch(input, init);
      if (offline) throw new TypeError("fetch failed: network is down");
      requests.push(new Headers(init.headers));
      connection = new AbortController();
      const signals = [connection.signal, ...(init.signal ? [init.signal] : [])];
      return fetch(input, { ...init, signal: AbortSignal.any(signals) });
    }) as typeof fetch;
    return {
      fetch: fetchImpl,
      requests,
      cut: (stayOffline: boolean) => {
        offline = stayOffline;
        connection?.abort(new TypeError("connection reset"));
      },
      restore: () => {
        offline = false;
      },
    };
  }

  it("reconnects with Last-Event-ID and misses nothing revoked while it was away", async () => {
    const network = flakyNetwork();
    const events: RevocationEvent[] = [];
    const feed = createRevocationFeed({
      issuer: server.url,
      token: server.bootstrapToken,
      fetch: network.fetch,
      reconnect: { initialDelayMs: 20, maxDelayMs: 50 },
    });
    feed.subscribe((event) => events.push(event));
    const verifier = createVerifier({ issuer: server.url, audience: AUDIENCE, revocationFeed: feed });
    try {
      await verifier.ready;
      const first = await jwtFormatToken(server, caller.name);
      expect((await server.api("DELETE", `/v1/tokens/${first.id}`)).status).toBe(204);
      await eventually(async () =>
        events.some((e) => e.type === "token.revoked" && e.tokenId === first.id) ? true : undefined,
      );
      const seenBefore = feed.lastEventId;

      network.cut(true);
      const second = await jwtFormatToken(server, caller.name);
      expect((await server.api("DELETE", `/v1/tokens/${second.id}`)).status).toBe(204);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(feed.inSync).toBe(false);
      network.restore();

      await refusedAfter(verifier, second.jwt, TokenRevokedError);
      expect(network.requests.length).toBeGreaterThanOrEqual(2);
      expect(network.requests[0]!.get("last-event-id")).toBeNull();
      expect(network.requests.at(-1)!.get("last-event-id")).toBe(seenBefore);
      // Each event exactly once, in order, across the reconnection.
      const ids = events.map((e) => Number(e.id));
      expect(new Set(ids).size).toBe(ids.length);
      expect([...ids].sort((a, b) => a - b)).toEqual(ids);
      expect(
        events.filter((e) => e.type === "token.revoked").map((e) => (e as { tokenId: string }).tokenId),
      ).toEqual(expect.arrayContaining([first.id, second.id]));
    } finally {
      await verifier.close();
      await feed.close();
    }
  });

  it("fails closed once it has been out of touch for longer than maxStalenessMs", async () => {
    const network = flakyNetwork();
    const verifier = createVerifier({
      issuer: server.url,
      audience: AUDIENCE,
      revocationFeed: { token: server.bootstrapToken, reconnect: { initialDelayMs: 20, maxDelayMs: 50 } },
      fetch: network.fetch,
      maxStalenessMs: 150,
    });
    try {
      await verifier.ready;
      const { jwt } = await jwtFormatToken(server, caller.name);
      await verifier.verify(jwt);
      network.cut(true);
      await expect(verifier.verify(jwt)).resolves.toBeDefined(); // within the allowance
      await new Promise((resolve) => setTimeout(resolve, 250));
      expect(await rejection(verifier.verify(jwt))).toBeInstanceOf(RevocationFeedUnavailableError);
      network.restore();
      await eventually(() => verifier.verify(jwt).catch(() => undefined));
    } finally {
      await verifier.close();
    }
  });

  it("refuses to vouch with a feed token the server does not accept, or after close()", async () => {
    const { jwt } = await jwtFormatToken(server, caller.name);
    const bad = createVerifier({
      issuer: server.url,
      audience: AUDIENCE,
      revocationFeed: { token: caller.secret.slice(0, -1) + (caller.secret.endsWith("A") ? "B" : "A") },
    });
    expect(await rejection(bad.ready)).toBeInstanceOf(RevocationFeedUnavailableError);
    expect(await rejection(bad.verify(jwt))).toBeInstanceOf(RevocationFeedUnavailableError);
    await bad.close();

    const good = createVerifier({
      issuer: server.url,
      audience: AUDIENCE,
      revocationFeed: { token: caller.secret },
    });
    await good.ready;
    await expect(good.verify(jwt)).resolves.toBeDefined();
    await good.close();
    expect(await rejection(good.verify(jwt))).toBeInstanceOf(RevocationFeedUnavailableError);
  });

  it("a verifier without a feed does not know about revocations (that is what the feed is for)", async () => {
    const verifier = createVerifier({ issuer: server.url, audience: AUDIENCE });
    const { jwt, id } = await jwtFormatToken(server, caller.name);
    expect((await server.api("DELETE", `/v1/tokens/${id}`)).status).toBe(204);
    await expect(verifier.verify(jwt)).resolves.toMatchObject({ jti: id });
    await verifier.close();
  });
});
