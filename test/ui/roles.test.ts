import { createServer, type Server } from "node:http";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  launchBrowser,
  NARROW,
  newContext,
  screenshot,
  type Seeded,
  seededServer,
  signIn,
} from "./helpers.ts";

/**
 * What each role sees and may do, and the browser-side security rules: a viewer gets no write
 * controls, a contributor cannot grant a role above their own, CSRF and cross-site requests are
 * refused, and a revoked sign-in token ends the session in the open page.
 */
describe("web UI: roles and security", () => {
  let s: Seeded;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    [s, browser] = await Promise.all([seededServer(), launchBrowser()]);
  });
  afterAll(async () => {
    await browser?.close();
    await s?.server.close();
  });

  async function as(token: string, viewport = undefined as undefined | typeof NARROW): Promise<Page> {
    await context?.close();
    context = await newContext(browser, viewport);
    page = await context.newPage();
    page.setDefaultTimeout(10_000);
    await signIn(page, s.server.url, token);
    await page.getByTestId("tokens-table").waitFor();
    return page;
  }
  const api = (method: string, path: string, body?: unknown) => s.server.api(method, path, { body });
  const writeControls = (p: Page) =>
    p
      .getByRole("button", {
        name: /^(Create token|New service account|New token|Manage|Regenerate|Delete)\b/,
      })
      .count();

  it("a viewer sees every token it may read but no write control on any page", async () => {
    await as(s.viewer);
    expect(await page.getByTestId("whoami").textContent()).toMatch(/auditor.*viewer/i);
    expect(await page.getByTestId("tokens-table").locator("tbody tr").count()).toBeGreaterThan(3);
    expect(await writeControls(page)).toBe(0);
    // Details are readable, without any input.
    await page.getByRole("button", { name: "Details" }).first().click();
    const d = page.getByTestId("manage-dialog");
    await d.waitFor();
    expect(await d.locator("input, textarea, select").count()).toBe(0);
    expect(await d.getByRole("button", { name: /Save/ }).count()).toBe(0);
    await screenshot(page, "viewer-details");
    await page.keyboard.press("Escape");
    await screenshot(page, "viewer-tokens");

    await page.getByRole("link", { name: "Service accounts" }).click();
    await page.getByTestId("sa-list").waitFor();
    await page.getByRole("button", { name: /ci-deployer/ }).click();
    await page.locator(".sa-tokens li").first().waitFor();
    expect(await writeControls(page)).toBe(0);
    await page.getByRole("link", { name: "Expiries" }).click();
    await page.getByTestId("expiry-chart").waitFor();
    expect(await writeControls(page)).toBe(0);
    // The audit log is not offered; going there anyway gets a polite explanation of the 403.
    expect(await page.getByRole("link", { name: "Audit log" }).count()).toBe(0);
    await page.goto(`${s.server.url}/ui/audit`);
    const why = page.getByTestId("audit-forbidden");
    await why.waitFor();
    expect(await why.textContent()).toMatch(/open to admins and owners.*auditor.*role viewer/);
    await screenshot(page, "audit-forbidden");
  });

  it("a contributor can pick only roles up to contributor, only in its own project, and cannot manage an admin account", async () => {
    await as(s.contributor);
    await page.locator(".page-head").getByRole("button", { name: "Create token" }).click();
    const d = page.locator("dialog[open]");
    expect(await d.getByLabel("Project").locator("option").allTextContents()).toEqual(["payments"]);
    await d.getByLabel("New service account", { exact: true }).check();
    expect(await d.getByLabel("Role").locator("option").allTextContents()).toEqual(["viewer", "contributor"]);
    await d.getByLabel("New service account name").fill("deploy-preview");
    await d.getByLabel("Role").selectOption("contributor");
    await d.getByLabel("Token name").fill("preview-envs");
    await screenshot(page, "contributor-create");
    await d.getByRole("button", { name: "Create token" }).click();
    await page.getByTestId("secret-value").waitFor();
    await page.keyboard.press("Escape");
    expect((await api("GET", "/v1/projects/payments/service-accounts/deploy-preview")).body.role).toBe(
      "contributor",
    );

    // Accounts above the contributor's role are not offered for management.
    expect(await page.getByRole("button", { name: "Manage tofu-apply" }).count()).toBe(0);
    expect(await page.getByRole("button", { name: "Delete tofu-apply" }).count()).toBe(0);
    await page.getByRole("button", { name: "Manage github-actions" }).click();
    const m = page.getByTestId("manage-dialog");
    await expect
      .poll(() => m.getByLabel("Role of service account ci-deployer").locator("option").allTextContents())
      .toEqual(["viewer", "contributor"]);
    await page.keyboard.press("Escape");

    // The server holds the line too: a forged request for an admin account from the page is refused.
    const forged = await page.evaluate(async () => {
      const session = await (await fetch("/ui/session")).json();
      const res = await fetch("/v1/projects/payments/service-accounts", {
        method: "POST",
        headers: { "content-type": "application/json", "x-csrf-token": session.csrf_token },
        body: JSON.stringify({ name: "sneaky-admin", role: "admin" }),
      });
      return { status: res.status, code: (await res.json()).code };
    });
    expect(forged).toEqual({ status: 403, code: "role_ceiling_exceeded" });
    expect((await api("GET", "/v1/projects/payments/service-accounts/sneaky-admin")).status).toBe(404);
  });

  it("refuses a state change from the page without the CSRF header, or with a wrong one", async () => {
    await as(s.contributor);
    const id = s.ids.get("payments/ci-deployer/gitlab-runner") as string;
    const attempt = (headers: Record<string, string>) =>
      page.evaluate(
        async ({ id, headers }) => {
          const res = await fetch(`/v1/tokens/${id}`, {
            method: "DELETE",
            credentials: "same-origin",
            headers,
          });
          return { status: res.status, code: res.status === 204 ? null : (await res.json()).code };
        },
        { id, headers },
      );
    expect(await attempt({})).toEqual({ status: 403, code: "csrf_failed" });
    expect(await attempt({ "x-csrf-token": "not-the-right-value-at-all-aaaaaaaaaaaaaaaaaa" })).toEqual({
      status: 403,
      code: "csrf_failed",
    });
    expect((await api("GET", `/v1/tokens/${id}`)).body.state).toBe("active");
    // Reading needs no CSRF header, and the same session with the header may write.
    const read = await page.evaluate(async (id) => (await fetch(`/v1/tokens/${id}`)).status, id);
    expect(read).toBe(200);
  });

  it("refuses a cross-site form posted from another origin, and nothing changes", async () => {
    const id = s.ids.get("payments/ci-deployer/gitlab-runner") as string;
    const target = `${s.server.url}/v1/tokens/${id}/rotate`;
    const evil: Server = createServer((_req, res) => {
      res.setHeader("content-type", "text/html");
      res.end(
        `<!doctype html><form id="f" method="POST" enctype="text/plain" action="${target}">` +
          `<input name='{"previous_expires_in_seconds":0,"x":"' value='"}'></form>` +
          `<script>document.getElementById("f").submit()</script>`,
      );
    });
    await new Promise<void>((resolve) => evil.listen(0, "localhost", resolve));
    try {
      const port = (evil.address() as { port: number }).port;
      const other = await context.newPage();
      const answer = other.waitForResponse((r) => r.url() === target);
      await other.goto(`http://localhost:${port}/`);
      const response = await answer;
      expect(response.status()).toBeGreaterThanOrEqual(400);
      expect(response.status()).toBeLessThan(500);
      await other.close();
    } finally {
      await new Promise((resolve) => evil.close(resolve));
    }
    const token = (await api("GET", `/v1/tokens/${id}`)).body;
    expect(token).toMatchObject({ state: "active", rotated_to: null });
  });

  it("ends the session in the open page when its sign-in token is revoked", async () => {
    await as(s.contributor);
    const me = (await api("GET", "/v1/tokens?q=ui-session&project=payments&service_account=release-bot")).body
      .items[0];
    expect((await api("DELETE", `/v1/tokens/${me.id}`)).status).toBe(204);
    await page.getByLabel("State").selectOption("active");
    await page.getByLabel("API token").waitFor();
    await page.getByText("Your session has ended. Sign in again to continue.").waitFor();
  });

  it("works on a narrow window: the table becomes cards and dialogs fit", async () => {
    await as(s.admin, NARROW);
    const card = page.getByTestId("tokens-table").locator("tbody tr").first();
    const box = await card.boundingBox();
    expect(box?.width).toBeLessThanOrEqual(NARROW.width);
    // No horizontal scrolling of the page itself.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(NARROW.width);
    await screenshot(page, "admin-tokens");
    await page.getByRole("button", { name: "Regenerate tofu-apply" }).click();
    const d = page.getByTestId("regenerate-dialog");
    const dbox = await d.boundingBox();
    expect(dbox && dbox.x >= 0 && dbox.x + dbox.width <= NARROW.width).toBe(true);
    await screenshot(page, "regenerate");
    await page.keyboard.press("Escape");
  });
});
