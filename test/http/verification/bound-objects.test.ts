import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/lib/clock.ts";
import { accountWithToken, startServer, type TestServer } from "../../helpers/server.ts";
import { acceptedEverywhere, decode, review, tokenRequest } from "./verifiers.ts";

const T0 = "2030-01-01T00:00:00.000Z";

describe("bound objects", () => {
  const clock = new ManualClock(T0);
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ clock });
    expect((await server.api("POST", "/v1/projects", { body: { name: "team" } })).status).toBe(201);
  });
  afterAll(() => server.close());

  const put = (kind: string, name: string, uid: string, opts: { project?: string; token?: string } = {}) =>
    server.api("PUT", `/v1/projects/${opts.project ?? "default"}/bound-objects/${kind}/${name}`, {
      token: opts.token,
      body: { uid },
    });
  const remove = (kind: string, name: string, opts: { project?: string; token?: string } = {}) =>
    server.api("DELETE", `/v1/projects/${opts.project ?? "default"}/bound-objects/${kind}/${name}`, {
      token: opts.token,
    });
  const bound = async (kind: string, name: string, uid?: string, project = "default") => {
    const res = await tokenRequest(
      server,
      "bootstrap",
      { bound_object_ref: { kind, name, ...(uid ? { uid } : {}) } },
      { project: project === "default" ? "default" : project },
    );
    expect(res.status, res.text).toBe(201);
    return res.body;
  };

  it("PUT creates an object; a token bound to it says so in its claims and in TokenReview", async () => {
    clock.set(T0);
    const created = await put("Pod", "web-1", "uid-1");
    expect(created.status).toBe(200);
    expect(created.body).toEqual({
      project: "default",
      kind: "Pod",
      name: "web-1",
      uid: "uid-1",
      created_at: T0,
      updated_at: T0,
    });
    const res = await bound("Pod", "web-1");
    expect(res.bound_object_ref).toEqual({ kind: "Pod", name: "web-1", uid: "uid-1" });
    expect(decode(res.token).claims.bound_object).toEqual({ kind: "Pod", name: "web-1", uid: "uid-1" });
    const status = await review(server, res.token);
    expect(status.authenticated).toBe(true);
    expect(status.user?.extra["authentication.kubernetes.io/bound-object"]).toEqual(["Pod/web-1"]);
    expect(await acceptedEverywhere(server, res.token)).toBe(true);
  });

  it("deleting the object invalidates every token bound to it at once, and only those", async () => {
    clock.set(T0);
    await put("Job", "build-7", "job-uid");
    await put("Job", "build-8", "other-uid");
    const tokens = [await bound("Job", "build-7"), await bound("Job", "build-7", "job-uid")];
    const unrelated = await bound("Job", "build-8");
    const unbound = (await tokenRequest(server, "bootstrap")).body;

    expect((await remove("Job", "build-7")).status).toBe(204);
    for (const t of tokens) expect(await acceptedEverywhere(server, t.token)).toBe(false);
    const who = await server.api("GET", "/v1/whoami", { token: tokens[0]?.token });
    expect(who.body.code).toBe("token_revoked");
    expect(await acceptedEverywhere(server, unrelated.token)).toBe(true);
    expect(await acceptedEverywhere(server, unbound.token)).toBe(true);

    expect((await remove("Job", "build-7")).status).toBe(404);
    const refused = await tokenRequest(server, "bootstrap", {
      bound_object_ref: { kind: "Job", name: "build-7" },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.errors[0].field).toBe("bound_object_ref.name");
  });

  it("replacing it with a new uid invalidates the old tokens; the same uid again changes nothing", async () => {
    clock.set(T0);
    await put("Secret", "db-creds", "v1");
    const old = await bound("Secret", "db-creds");
    clock.advance(5);
    const same = await put("Secret", "db-creds", "v1");
    expect(same.body.updated_at).toBe(T0); // idempotent: nothing was replaced
    expect(await acceptedEverywhere(server, old.token)).toBe(true);

    const replaced = await put("Secret", "db-creds", "v2");
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({
      uid: "v2",
      created_at: T0,
      updated_at: "2030-01-01T00:00:05.000Z",
    });
    expect(await acceptedEverywhere(server, old.token)).toBe(false);

    const fresh = await bound("Secret", "db-creds");
    expect(fresh.bound_object_ref.uid).toBe("v2");
    expect(await acceptedEverywhere(server, fresh.token)).toBe(true);
    const stale = await tokenRequest(server, "bootstrap", {
      bound_object_ref: { kind: "Secret", name: "db-creds", uid: "v1" },
    });
    expect(stale.status).toBe(400);
    expect(stale.body.errors[0].field).toBe("bound_object_ref.uid");
  });

  it("a uid once invalidated is never accepted again, so tokens bound to it stay dead", async () => {
    clock.set(T0);
    await put("Pod", "phoenix", "uid-p");
    const old = await bound("Pod", "phoenix");
    await remove("Pod", "phoenix");
    const again = await put("Pod", "phoenix", "uid-p");
    expect(again.status).toBe(400);
    expect(again.body.errors[0].field).toBe("uid");
    expect(await acceptedEverywhere(server, old.token)).toBe(false);
    expect((await put("Pod", "phoenix", "uid-p2")).status).toBe(200);
    expect(await acceptedEverywhere(server, old.token)).toBe(false);
    expect(await acceptedEverywhere(server, (await bound("Pod", "phoenix")).token)).toBe(true);
    // Replaced and replaced back: the same.
    expect((await put("Pod", "phoenix", "uid-p3")).status).toBe(200);
    expect((await put("Pod", "phoenix", "uid-p2")).status).toBe(400);
  });

  it("objects belong to a project: the same kind and name elsewhere is another object", async () => {
    clock.set(T0);
    await put("Pod", "shared", "in-default");
    await put("Pod", "shared", "in-team", { project: "team" });
    const teamAccount = await accountWithToken(server, { project: "team", name: "runner" });
    const res = await tokenRequest(
      server,
      "runner",
      { bound_object_ref: { kind: "Pod", name: "shared" } },
      { project: "team", token: teamAccount.token },
    );
    expect(res.body.bound_object_ref.uid).toBe("in-team");
    expect((await remove("Pod", "shared")).status).toBe(204); // the one in default
    expect(await acceptedEverywhere(server, res.body.token)).toBe(true);
  });

  it("contributors manage them in their own project; viewers get 403, other projects 404", async () => {
    clock.set(T0);
    const viewer = await accountWithToken(server, { name: "bo-viewer", role: "viewer" });
    const contributor = await accountWithToken(server, { name: "bo-contrib", role: "contributor" });
    expect((await put("Pod", "x", "1", { token: viewer.token })).status).toBe(403);
    expect((await put("Pod", "x", "1", { token: contributor.token })).status).toBe(200);
    expect((await remove("Pod", "x", { token: viewer.token })).status).toBe(403);
    expect((await put("Pod", "x", "1", { token: contributor.token, project: "team" })).status).toBe(404);
    expect((await remove("Pod", "x", { token: contributor.token })).status).toBe(204);
    const actions = await server.api("GET", "/v1/audit-events?target=1&outcome=success");
    expect(actions.body.items.map((e: any) => e.action)).toEqual([
      "bound_object.delete",
      "bound_object.create",
    ]);
  });

  it("validates kind, name and uid", async () => {
    for (const [kind, name, body, field] of [
      ["Pod", "web", {}, "uid"],
      ["Pod", "web", { uid: "" }, "uid"],
      ["Pod", "web", { uid: "has space" }, "uid"],
      ["Pod", "web", { uid: "u", extra: true }, "extra"],
      ["1Pod", "web", { uid: "u" }, "kind"],
      ["Pod", "UPPER", { uid: "u" }, "name"],
    ] as const) {
      const res = await server.api("PUT", `/v1/projects/default/bound-objects/${kind}/${name}`, { body });
      expect(res.status, `${kind}/${name} ${JSON.stringify(body)}`).toBe(400);
      expect(res.body.errors[0].field).toBe(field);
    }
  });
});
