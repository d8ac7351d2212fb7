import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Latchkey, revokeToken, startLatchkey } from "./helpers/latchkey.ts";
import { docSnippet, sourceSnippet } from "./helpers/snippets.ts";
import { requireProgram } from "./helpers/tools.ts";

/**
 * docs/verifying-tokens.md shows what the interop tests run: the verifier code is the tested source,
 * word for word, and the curl commands work as printed (only the address changes).
 */
describe("docs/verifying-tokens.md", () => {
  it.each([
    ["python", "test/interop/python/verify.py"],
    ["go-oidc", "test/interop/go-oidc/main.go"],
    ["jose", "test/interop/node/jose-verifier.ts"],
  ])("shows the %s verifier exactly as %s has it", (name, path) => {
    expect(docSnippet(name)).toBe(sourceSnippet(path));
  });

  describe("curl commands, against a real Latchkey", () => {
    let lk: Latchkey;
    let env: Record<string, string>;
    let token: { token: string; id: string };
    let accountId: string;

    const sh = async (name: string): Promise<any> => {
      requireProgram("curl", "apt-get install curl");
      requireProgram("jq", "apt-get install jq");
      const script = docSnippet(name).replaceAll("http://127.0.0.1:8080", lk.url);
      const { stdout } = await promisify(execFile)("bash", ["-c", `set -euo pipefail\n${script}`], {
        env: { ...process.env, ...env },
        timeout: 20_000,
      });
      return JSON.parse(stdout);
    };

    beforeAll(async () => {
      lk = await startLatchkey();
      const create = async (path: string, body: unknown) => {
        const res = await lk.api("POST", path, body);
        expect(res.status, JSON.stringify(res.body)).toBe(201);
        return res.body;
      };
      accountId = (
        await create("/v1/projects/default/service-accounts", { name: "orders-client", role: "viewer" })
      ).id;
      await create("/v1/projects/default/service-accounts", { name: "orders-api", role: "viewer" });
      await create("/v1/projects/default/service-accounts", { name: "kube-apiserver", role: "viewer" });
      const received = await create("/v1/projects/default/service-accounts/orders-client/tokens", {
        name: "ci",
        access: "read-only",
      });
      token = { token: received.token, id: received.id };
      const service = await create("/v1/projects/default/service-accounts/orders-api/tokens", {
        name: "api",
      });
      const webhook = await create("/v1/projects/default/service-accounts/kube-apiserver/tokens", {
        name: "webhook",
      });
      env = { TOKEN: token.token, SERVICE_TOKEN: service.token, WEBHOOK_TOKEN: webhook.token };
    });
    afterAll(async () => {
      await lk?.close();
    });

    it("introspection: active with the account, then inactive once revoked", async () => {
      expect(await sh("introspect")).toEqual({
        active: true,
        sub: accountId,
        username: "orders-client@default.serviceaccounts.latchkey",
        project: "default",
        access: "read-only",
        token_format: "opaque",
      });
      await revokeToken(lk, token.id);
      expect(await sh("introspect")).toMatchObject({ active: false, sub: null });
      // Put a live token back for the next test.
      const again = await lk.api("POST", "/v1/projects/default/service-accounts/orders-client/tokens", {
        name: "ci-2",
        access: "read-only",
      });
      token = { token: again.body.token, id: again.body.id };
      env.TOKEN = token.token;
    });

    it("TokenReview: what kube-apiserver sends, and the user it gets", async () => {
      expect(await sh("tokenreview")).toEqual({
        authenticated: true,
        user: {
          username: "latchkey:serviceaccount:default:orders-client",
          uid: accountId,
          groups: ["latchkey:serviceaccounts", "latchkey:serviceaccounts:default"],
          extra: { "latchkey.dev/token-id": [token.id], "latchkey.dev/access": ["read-only"] },
        },
        audiences: ["https://kubernetes.default.svc"],
      });
      env.TOKEN = "lk_not-a-real-token";
      expect(await sh("tokenreview")).toMatchObject({ authenticated: false });
    });
  });
});
