import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  http,
  type HttpOptions,
  type HttpResponse,
  type ServerProcess,
  startServerProcess,
} from "../../helpers/process.ts";

/**
 * Against the real process with debug logs: the session id, the CSRF token and the token used to
 * sign in appear nowhere but where they must (the Set-Cookie of the sign-in, the sign-in answer's
 * csrf_token, the create answer's token): not in any log line, audit event or other response.
 */

describe("web UI secrets stay out of logs, audit events and responses (real process, debug logs)", () => {
  let server: ServerProcess;
  let boot = "";
  /** Every response seen: status, headers and body. */
  const seen: { place: string; text: string }[] = [];
  let secret = "";
  let sessionId = "";
  let csrf = "";

  const call = async (
    place: string,
    method: string,
    path: string,
    o: HttpOptions = {},
  ): Promise<HttpResponse> => {
    const res = await http(server.url, method, path, o);
    seen.push({
      place,
      text: `${res.status} ${JSON.stringify(Object.fromEntries(res.headers.entries()))}\n${res.text}`,
    });
    return res;
  };
  const withCookie = (extra: Record<string, string> = {}) => ({
    cookie: `latchkey_session=${sessionId}`,
    origin: server.url,
    ...extra,
  });

  beforeAll(async () => {
    server = await startServerProcess({ logLevel: "debug" });
    boot = server.stdout().match(/lk_[0-9A-Za-z]{49}/)?.[0] ?? "";
    expect(boot).not.toBe("");
    await http(server.url, "POST", "/v1/projects/default/service-accounts", {
      token: boot,
      body: { name: "ui-user", role: "admin", scope: "organization" },
    });
    const created = await http(server.url, "POST", "/v1/projects/default/service-accounts/ui-user/tokens", {
      token: boot,
      body: { name: "browser" },
    });
    secret = created.body.token;
    expect(secret).toMatch(/^lk_/);

    const signIn = await http(server.url, "POST", "/ui/session", {
      body: { token: secret },
      headers: { origin: server.url },
    });
    expect(signIn.status).toBe(201);
    sessionId = /latchkey_session=([^;]+)/.exec(signIn.headers.get("set-cookie") ?? "")?.[1] ?? "";
    csrf = signIn.body.csrf_token;
    expect(sessionId).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // The answer holds the CSRF token, and the secret only in the cookie.
    expect(signIn.text).not.toContain(sessionId);
    expect(signIn.text).not.toContain(secret);

    await call("whoami", "GET", "/v1/whoami", { headers: withCookie() });
    await call("session", "GET", "/ui/session", { headers: withCookie() });
    await call("create project", "POST", "/v1/projects", {
      headers: withCookie({ "x-csrf-token": csrf }),
      body: { name: "from-ui" },
    });
    await call("no csrf", "POST", "/v1/projects", { headers: withCookie(), body: { name: "no-csrf" } });
    await call("wrong csrf", "DELETE", `/v1/tokens/${created.body.id}`, {
      headers: withCookie({ "x-csrf-token": sessionId }),
    });
    await call("foreign origin", "GET", "/v1/projects", {
      headers: withCookie({ origin: "https://evil.example" }),
    });
    await call("session id as bearer", "GET", "/v1/whoami", { token: sessionId });
    await call("bad sign-in", "POST", "/ui/session", { body: { token: `${secret.slice(0, -1)}x` } });
    await call("sign-in with session id", "POST", "/ui/session", { body: { token: sessionId } });
    await call("list", "GET", "/v1/tokens?limit=200", { headers: withCookie() });
    await call("sign-out", "DELETE", "/ui/session", { headers: withCookie({ "x-csrf-token": csrf }) });
    await call("after sign-out", "GET", "/v1/whoami", { headers: withCookie() });
    let cursor: string | null = null;
    do {
      const page: HttpResponse = await call(
        "audit",
        "GET",
        `/v1/audit-events?limit=500${cursor ? `&cursor=${cursor}` : ""}`,
        {
          token: boot,
        },
      );
      cursor = page.body.next_cursor;
    } while (cursor);
  });
  afterAll(async () => {
    await server?.stop();
    if (server) rmSync(server.dataDir, { recursive: true, force: true });
  });

  it("the requests did what they should (so the places checked below are real)", () => {
    const status = (place: string) => Number(seen.find((s) => s.place === place)?.text.slice(0, 3));
    expect(status("whoami")).toBe(200);
    expect(status("create project")).toBe(201);
    expect(status("no csrf")).toBe(403);
    expect(status("wrong csrf")).toBe(403);
    expect(status("foreign origin")).toBe(403);
    expect(status("bad sign-in")).toBe(401);
    expect(status("sign-out")).toBe(204);
    expect(status("after sign-out")).toBe(401);
    const audit = seen
      .filter((s) => s.place === "audit")
      .map((s) => s.text)
      .join("\n");
    expect(audit).toContain("ui.session.create");
    expect(audit).toContain("ui.csrf");
  });

  it("no log line, audit event or later response holds the session id, the CSRF token or the secret", () => {
    const logs = server.stdout().replace(boot, "[bootstrap token, printed once]") + server.stderr();
    expect(logs.length).toBeGreaterThan(1000);
    const places = [...seen, { place: "logs", text: logs }];
    const leaks: string[] = [];
    for (const [label, value] of [
      ["session id", sessionId],
      ["secret", secret],
      ["secret body", secret.slice(3)],
      ["csrf token", csrf],
    ] as const) {
      for (const { place, text } of places) {
        // The answer to GET /ui/session legitimately repeats the CSRF token.
        if (label === "csrf token" && place === "session") continue;
        if (text.includes(value)) leaks.push(`${label} in ${place}`);
      }
    }
    expect(leaks).toEqual([]);
  });
});
