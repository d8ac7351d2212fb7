import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/lib/clock.ts";
import { accountWithToken, startServer, type TestServer } from "../../helpers/server.ts";
import { decode, review, tokenRequest } from "./verifiers.ts";

const T0 = "2030-01-01T00:00:00.000Z";
const PATH = "/apis/authentication.k8s.io/v1/tokenreviews";

describe("Kubernetes TokenReview", () => {
  const clock = new ManualClock(T0);
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ clock });
    expect((await server.api("POST", "/v1/projects", { body: { name: "payments" } })).status).toBe(201);
  });
  afterAll(() => server.close());

  it("answers in authentication.k8s.io/v1 shape: username, uid, groups, extra; the token is never echoed", async () => {
    clock.set(T0);
    const sa = await accountWithToken(server, { project: "payments", name: "ledger" });
    const res = await server.api("POST", PATH, {
      body: {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenReview",
        metadata: { creationTimestamp: null },
        spec: { token: sa.token },
      },
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenReview",
      metadata: { creationTimestamp: null },
      spec: {},
      status: {
        authenticated: true,
        user: {
          username: "latchkey:serviceaccount:payments:ledger",
          uid: sa.accountId,
          groups: ["latchkey:serviceaccounts", "latchkey:serviceaccounts:payments"],
          extra: { "latchkey.dev/token-id": [sa.tokenId], "latchkey.dev/access": ["read-write"] },
        },
        audiences: [server.url],
      },
    });
    expect(res.text).not.toContain(sa.token);
  });

  it("audiences follow Kubernetes: status.audiences is the review's audiences that the token is for", async () => {
    clock.set(T0);
    const jwt = (await tokenRequest(server, "bootstrap", { audiences: ["b", "c"] })).body.token;
    expect(await review(server, jwt, ["a", "b"])).toMatchObject({ authenticated: true, audiences: ["b"] });
    expect(await review(server, jwt, ["c", "b"])).toMatchObject({
      authenticated: true,
      audiences: ["c", "b"],
    });
    const none = await review(server, jwt, ["a"]);
    expect(none.authenticated).toBe(false);
    expect(none).not.toHaveProperty("user");
    // No audiences in the review: the authenticator's own, the issuer.
    expect((await review(server, jwt)).authenticated).toBe(false);
    const forIssuer = (await tokenRequest(server, "bootstrap")).body.token;
    expect(await review(server, forIssuer)).toMatchObject({ authenticated: true, audiences: [server.url] });
    expect((await review(server, forIssuer, ["a"])).authenticated).toBe(false);
    // An opaque token without audiences is valid for any; with audiences, for those.
    const opaque = await accountWithToken(server, { name: "opaque-any" });
    expect(await review(server, opaque.token, ["x", "y"])).toMatchObject({
      authenticated: true,
      audiences: ["x", "y"],
    });
    const scoped = await server.api("POST", "/v1/projects/default/service-accounts/opaque-any/tokens", {
      body: { name: "scoped", audiences: ["x"] },
    });
    expect(await review(server, scoped.body.token, ["x", "y"])).toMatchObject({
      authenticated: true,
      audiences: ["x"],
    });
    expect((await review(server, scoped.body.token)).authenticated).toBe(false);
  });

  it("the response echoes the review's audiences in spec, as Kubernetes does", async () => {
    const jwt = (await tokenRequest(server, "bootstrap", { audiences: ["k8s"] })).body.token;
    const res = await server.api("POST", PATH, {
      body: {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenReview",
        spec: { token: jwt, audiences: ["k8s"] },
      },
    });
    expect(res.body.spec).toEqual({ audiences: ["k8s"] });
  });

  it("a bound token names its object in extra; a read-only token says so", async () => {
    clock.set(T0);
    await server.api("PUT", "/v1/projects/payments/bound-objects/Pod/ledger-0", { body: { uid: "pod-uid" } });
    const sa = await accountWithToken(server, { project: "payments", name: "reader", access: "read-only" });
    const jwt = await tokenRequest(
      server,
      "reader",
      { bound_object_ref: { kind: "Pod", name: "ledger-0" } },
      { project: "payments", token: sa.token },
    );
    const status = await review(server, jwt.body.token);
    expect(status.user).toMatchObject({
      username: "latchkey:serviceaccount:payments:reader",
      extra: {
        "latchkey.dev/token-id": [decode(jwt.body.token).claims.jti],
        "latchkey.dev/access": ["read-only"],
        "authentication.kubernetes.io/bound-object": ["Pod/ledger-0"],
      },
    });
  });

  it("revoked, expired, disabled and malformed tokens are not authenticated, with a reason and no user", async () => {
    clock.set(T0);
    const revoked = await accountWithToken(server, { name: "tr-revoked" });
    await server.api("DELETE", `/v1/tokens/${revoked.tokenId}`);
    const expiring = await accountWithToken(server, { name: "tr-expiring", ttl_seconds: 600 });
    const disabled = await accountWithToken(server, { name: "tr-disabled" });
    await server.api("PATCH", "/v1/projects/default/service-accounts/tr-disabled", {
      body: { disabled: true },
    });
    clock.advance(600);
    for (const token of [revoked.token, expiring.token, disabled.token, "garbage", "a.b.c", ""]) {
      const status = await review(server, token);
      expect(status).toEqual({ authenticated: false, error: expect.any(String) });
    }
  });

  it("needs an authenticated caller and a TokenReview body", async () => {
    const body = {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenReview",
      spec: { token: server.bootstrapToken },
    };
    expect((await server.api("POST", PATH, { token: null, body })).status).toBe(401);
    for (const bad of [
      { ...body, apiVersion: "authentication.k8s.io/v1beta1" },
      { ...body, kind: "SubjectAccessReview" },
      { apiVersion: body.apiVersion, kind: body.kind },
      { ...body, spec: { token: 5 } },
    ]) {
      const res = await server.api("POST", PATH, { body: bad });
      expect(res.status, JSON.stringify(bad)).toBe(400);
    }
  });
});
