import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type TestServer } from "../../helpers/server.ts";
import { signIn } from "./helpers.ts";

/** The web UI's pages and assets: the SPA fallback, content-hashed bundles, CSP on every response. */

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

function expectUiHeaders(res: { headers: Headers }, what: string): void {
  expect(res.headers.get("content-security-policy"), what).toBe(CSP);
  expect(res.headers.get("x-content-type-options"), what).toBe("nosniff");
  expect(res.headers.get("referrer-policy"), what).toBe("no-referrer");
  expect(res.headers.get("x-frame-options"), what).toBe("DENY");
}

describe("web UI pages and assets", () => {
  let server: TestServer;
  let html = "";
  beforeAll(async () => {
    server = await startServer();
    html = (await server.api("GET", "/ui", { token: null })).text;
  });
  afterAll(() => server?.close());

  const assetsOf = (page: string) =>
    [...page.matchAll(/(?:src|href)="(\/ui\/assets\/[^"]+)"/g)].map((m) => m[1]!);

  it("every /ui path outside /ui/assets answers the same index.html, with the CSP and security headers", async () => {
    for (const path of [
      "/ui",
      "/ui/",
      "/ui/tokens",
      "/ui/service-accounts",
      "/ui/audit",
      "/ui/expiries",
      "/ui/sign-in",
      "/ui/a/deep/link?x=1",
    ]) {
      const res = await server.api("GET", path, { token: null });
      expect(res.status, path).toBe(200);
      expect(res.headers.get("content-type"), path).toBe("text/html; charset=utf-8");
      expect(res.headers.get("cache-control"), path).toBe("no-store");
      expectUiHeaders(res, path);
      expect(res.text, path).toBe(html);
    }
  });

  it("index.html loads one hashed script and one hashed stylesheet, and has nothing inline", () => {
    expect(html).toMatch(/^<!doctype html>/i);
    expect(html).toContain('<div id="app"></div>');
    const assets = assetsOf(html);
    expect(assets.filter((a) => /^\/ui\/assets\/app-[0-9a-f]{16}\.js$/.test(a))).toHaveLength(1);
    expect(assets.filter((a) => /^\/ui\/assets\/app-[0-9a-f]{16}\.css$/.test(a))).toHaveLength(1);
    // No inline script, no <style>, no style attribute, no external URL: the CSP would refuse them.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
    expect(html).not.toMatch(/<style/i);
    expect(html).not.toMatch(/\sstyle=/i);
    expect(html).not.toMatch(/(?:src|href)="(?:https?:)?\/\//i);
  });

  it("assets are served with their type, cacheable for ever, and their name is their content's hash", async () => {
    for (const path of assetsOf(html)) {
      const res = await fetch(server.url + path);
      expect(res.status, path).toBe(200);
      const body = Buffer.from(await res.arrayBuffer());
      expect(body.length, path).toBeGreaterThan(100);
      expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      expectUiHeaders(res, path);
      const { createHash } = await import("node:crypto");
      const hash = createHash("sha256").update(body).digest("hex").slice(0, 16);
      expect(path).toContain(`app-${hash}.`);
      if (path.endsWith(".js")) {
        expect(res.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
        // Bundled: no bare imports left for the browser to resolve, and no CDN.
        expect(body.toString()).not.toMatch(/\bfrom\s*["'](?![./])/);
        expect(body.toString()).not.toMatch(/https?:\/\/(?:cdn|unpkg|fonts\.)/);
      } else {
        expect(res.headers.get("content-type")).toBe("text/css; charset=utf-8");
        expect(body.toString()).not.toMatch(/@import|fonts\.googleapis/);
      }
    }
  });

  it("an unknown asset is a 404 problem, not the page, and still carries the headers", async () => {
    for (const path of [
      "/ui/assets/app-0000000000000000.js",
      "/ui/assets/",
      "/ui/assets/..%2F..%2Fweb%2Fmain.tsx",
      "/ui/assets/sub/app.js",
      "/ui/assets/main.tsx",
    ]) {
      const res = await server.api("GET", path, { token: null });
      expect(res.status, path).toBe(404);
      expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      expectUiHeaders(res, path);
    }
  });

  it("session answers and other methods under /ui carry the headers too", async () => {
    expectUiHeaders(await server.api("GET", "/ui/session", { token: null }), "GET /ui/session");
    expectUiHeaders(await signIn(server, "lk_bad"), "POST /ui/session");
    const post = await server.api("POST", "/ui/tokens", { token: null, body: {} });
    expect(post.status).toBe(404);
    expect(post.body.code).toBe("route_not_found");
    expectUiHeaders(post, "POST /ui/tokens");
  });

  it("the API's own responses do not get the UI's CSP, and /ui is not in the OpenAPI document", async () => {
    const api = await server.api("GET", "/v1/whoami");
    expect(api.headers.get("content-security-policy")).toBeNull();
    const openapi = await server.api("GET", "/openapi.json", { token: null });
    expect(openapi.status).toBe(200);
    expect(Object.keys(openapi.body.paths).filter((p) => p.startsWith("/ui"))).toEqual([]);
    expect(openapi.body.paths["/v1/tokens"]?.get).toBeDefined();
  });
});
