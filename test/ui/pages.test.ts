import { copyFileSync, mkdirSync } from "node:fs";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  launchBrowser,
  NARROW,
  newContext,
  screenshot,
  type Seeded,
  seededServer,
  signIn,
  WIDE,
} from "./helpers.ts";

/**
 * The other pages, signed in as the owner: service accounts with their tokens and deletion, the
 * audit log with filters and paging, and the expiries chart. Every page is photographed wide and
 * narrow; the API Tokens page also for the README (docs/images/api-tokens.png, rewritten only with
 * LATCHKEY_UPDATE_SCREENSHOTS=1).
 */
describe("web UI: service accounts, audit log, expiries", () => {
  let s: Seeded;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    [s, browser] = await Promise.all([seededServer(), launchBrowser()]);
    context = await newContext(browser);
    page = await context.newPage();
    page.setDefaultTimeout(10_000);
    await signIn(page, s.server.url, s.owner);
  });
  afterEach(async () => {
    if (page && (await page.locator("dialog[open]").count()) > 0) await page.keyboard.press("Escape");
  });
  afterAll(async () => {
    await browser?.close();
    await s?.server.close();
  });
  const api = (method: string, path: string, body?: unknown) => s.server.api(method, path, { body });
  const go = async (name: string) => {
    await page.getByRole("link", { name, exact: true }).click();
    await page.waitForLoadState("networkidle");
  };

  it("the API Tokens page, sorted by expiry, for the README", async () => {
    await page.goto(`${s.server.url}/ui/tokens?sort=expires_at`);
    await page.getByTestId("tokens-table").waitFor();
    await page.waitForLoadState("networkidle");
    const file = await screenshot(page, "readme-api-tokens");
    // The committed picture changes only when asked for (its dates move every day).
    if (process.env.LATCHKEY_UPDATE_SCREENSHOTS === "1") {
      mkdirSync("docs/images", { recursive: true });
      copyFileSync(file, "docs/images/api-tokens.png");
    }
    const first = await page.locator('td[data-label="Name"] button').first().textContent();
    expect(first).toBe("legacy-jenkins");
  });

  it("lists service accounts with roles and active token counts, and their tokens on demand", async () => {
    await go("Service accounts");
    const ci = page.locator('[data-sa="payments/ci-deployer"]');
    // The counts come from a request of their own, which may answer after the list is drawn.
    await expect
      .poll(() => ci.textContent())
      .toMatch(/ci-deployer in payments.*contributor.*2 active tokens/i);
    expect(await ci.textContent()).toContain("ci-deployer@payments.serviceaccounts.latchkey");
    const toggle = ci.getByRole("button", { name: /ci-deployer/ });
    expect(await toggle.getAttribute("aria-expanded")).toBe("false");
    await toggle.click();
    expect(await toggle.getAttribute("aria-expanded")).toBe("true");
    await expect
      .poll(async () => (await ci.locator(".sa-tokens li .sa-token-name button").allTextContents()).sort())
      .toEqual(["github-actions", "gitlab-runner", "legacy-jenkins"]);
    await page.getByLabel("Search").fill("finance");
    await expect.poll(() => page.locator(".sa-card").count()).toBe(1);
    await page.getByLabel("Search").fill("");
    await screenshot(page, "service-accounts");
  });

  it("edits a service account's description, owner and role", async () => {
    const card = page.locator('[data-sa="platform/monitoring"]');
    await card.getByRole("button", { name: "Manage" }).click();
    const d = page.getByTestId("edit-sa-dialog");
    await d.getByLabel("Description").fill("Scrapes metrics for Prometheus and Grafana");
    await d.getByLabel("Owner").fill("sre-oncall");
    await d.getByLabel("Role").selectOption("contributor");
    await screenshot(page, "edit-service-account");
    await d.getByRole("button", { name: "Save changes" }).click();
    await d.waitFor({ state: "detached" });
    const sa = (await api("GET", "/v1/projects/platform/service-accounts/monitoring")).body;
    expect(sa).toMatchObject({
      description: "Scrapes metrics for Prometheus and Grafana",
      owner: "sre-oncall",
      role: "contributor",
    });
  });

  it("deletes a service account only after typing its name, saying how many active tokens stop working", async () => {
    const card = page.locator('[data-sa="analytics/etl"]');
    await card.getByRole("button", { name: "Delete" }).click();
    const d = page.getByTestId("delete-dialog");
    // etl has airflow and dbt-cloud active; old-notebook is already revoked.
    await expect
      .poll(() => d.getByTestId("consequence").textContent())
      .toBe("2 active tokens of etl in project analytics will stop working.");
    expect(await d.locator(".token-names li").allTextContents()).toEqual(
      expect.arrayContaining([expect.stringContaining("airflow"), expect.stringContaining("dbt-cloud")]),
    );
    await d.getByLabel("Type etl to confirm").fill("etl-typo");
    await d.getByRole("button", { name: "Delete service account" }).click();
    const field = d.locator(".field", { has: page.getByLabel("Type etl to confirm") });
    expect(await field.locator(".field-error").textContent()).toContain("type etl to confirm");
    expect((await api("GET", "/v1/projects/analytics/service-accounts/etl")).status).toBe(200);
    await screenshot(page, "delete-service-account");
    await d.getByLabel("Type etl to confirm").fill("etl");
    await d.getByRole("button", { name: "Delete service account" }).click();
    await d.waitFor({ state: "detached" });
    await page.getByTestId("toast").getByText("Service account etl was deleted.").waitFor();
    expect((await api("GET", "/v1/projects/analytics/service-accounts/etl")).status).toBe(404);
    expect((await api("GET", `/v1/tokens/${s.ids.get("analytics/etl/airflow")}`)).body.state).toBe("revoked");
    await expect.poll(() => page.locator('[data-sa="analytics/etl"]').count()).toBe(0);
  });

  it("shows the audit log newest first, with filters and cursor paging", async () => {
    // Enough events for more than one page of 50.
    for (let i = 0; i < 30; i++)
      await api("PATCH", `/v1/tokens/${s.ids.get("platform/terraform/tofu-apply")}`, {
        description: `apply #${i}`,
      });
    await go("Audit log");
    const table = page.getByTestId("audit-table");
    await table.waitFor();
    expect(await table.locator("tbody tr").count()).toBe(50);
    // Newest first: the last change made is on top.
    expect(await table.locator('tbody tr td[data-label="Action"]').first().textContent()).toBe(
      "token.update",
    );
    await table.locator("tbody tr").first().getByRole("button", { name: "Show" }).click();
    expect(await page.locator(".details-row pre").textContent()).toContain('"name": "tofu-apply"');
    await table.locator("tbody tr").first().getByRole("button", { name: "Hide" }).click();
    await screenshot(page, "audit");
    const firstOfPage1 = await table.locator("tbody tr").first().textContent();
    await page.getByRole("button", { name: "Older →" }).click();
    await page.getByText("Page 2").waitFor();
    await expect.poll(() => table.locator("tbody tr").first().textContent()).not.toBe(firstOfPage1);
    await page.getByRole("button", { name: "← Newer" }).click();
    await page.getByText("Page 1").waitFor();
    await expect.poll(() => table.locator("tbody tr").first().textContent()).toBe(firstOfPage1);

    await page.getByLabel("Action").fill("service_account.delete");
    await page.getByRole("button", { name: "Apply filters" }).click();
    await expect
      .poll(() => table.locator('td[data-label="Action"]').allTextContents())
      .toEqual(["service_account.delete"]);
    expect(await table.locator('td[data-label="Target"]').textContent()).toContain("etl");
    await page.getByRole("button", { name: "Show" }).click();
    expect(await page.locator(".details-row pre").textContent()).toContain('"request_id"');

    await page.getByRole("button", { name: "Reset" }).click();
    await page.getByLabel("Actor").fill("bootstrap");
    await page.getByLabel("Target").fill("tofu-apply");
    await page.getByLabel("Project").selectOption("platform");
    await page.getByRole("button", { name: "Apply filters" }).click();
    await expect.poll(() => table.locator("tbody tr").count()).toBe(31);
    expect(new Set(await table.locator('td[data-label="Target"]').allTextContents())).toEqual(
      new Set(["token: tofu-apply"]),
    );

    const future = new Date(Date.now() + 86_400_000).toISOString().slice(0, 16);
    await page.getByLabel("Since").fill(future);
    await page.getByRole("button", { name: "Apply filters" }).click();
    await page.getByText("No audit events match.").waitFor();
    await page.getByRole("button", { name: "Reset" }).click();
    await table.waitFor();
  });

  it("draws the expiries of the next 90 days as a chart, and lists the tokens of a selected bar", async () => {
    await go("Expiries");
    const chart = page.getByTestId("expiry-chart");
    await chart.waitFor();
    const all = (await api("GET", "/v1/tokens?state=active&expiring_within_days=90&limit=200")).body.items;
    const within7 = (await api("GET", "/v1/tokens?state=active&expiring_within_days=7&limit=200")).body.items;
    expect(await page.getByTestId("expiry-stats").textContent()).toContain(`${within7.length} within 7 days`);
    expect(await page.getByTestId("expiry-stats").textContent()).toContain(`${all.length} within 90 days`);
    expect(await page.getByTestId("expiry-list").locator("tbody tr").count()).toBe(all.length);
    // One bar per week with tokens; the bars' counts add up to the list.
    const bars = chart.locator("g.bar");
    const labels = await bars.evaluateAll((els) => els.map((e) => e.getAttribute("aria-label") ?? ""));
    const sum = labels.reduce((n, l) => n + Number(/^(\d+) token/.exec(l)?.[1] ?? 0), 0);
    expect(sum).toBe(all.length);
    expect(await chart.locator("g.bar-urgent").count()).toBeGreaterThan(0);
    await screenshot(page, "expiries");
    // Selecting the first (most urgent) bar lists just its tokens, by keyboard too.
    await bars.first().focus();
    await page.keyboard.press("Enter");
    await expect.poll(() => bars.first().getAttribute("aria-pressed")).toBe("true");
    const n = Number(/^(\d+)/.exec(labels[0] ?? "")?.[1]);
    await expect.poll(() => page.getByTestId("expiry-list").locator("tbody tr").count()).toBe(n);
    await page.getByRole("button", { name: "Show all" }).click();
    await page.getByLabel("By day").check();
    await expect.poll(() => chart.locator("g.bar").count()).toBeGreaterThanOrEqual(labels.length);
    await screenshot(page, "expiries-by-day");
  });

  it("every page reads well on a narrow window, without sideways scrolling", async () => {
    await page.setViewportSize(NARROW);
    for (const [name, path] of [
      ["tokens", "/ui/tokens"],
      ["service-accounts", "/ui/service-accounts"],
      ["audit", "/ui/audit"],
      ["expiries", "/ui/expiries"],
    ] as const) {
      await page.goto(s.server.url + path);
      await page.waitForLoadState("networkidle");
      await page.locator("main h1").waitFor();
      expect(await page.evaluate(() => document.documentElement.scrollWidth), name).toBeLessThanOrEqual(
        NARROW.width,
      );
      await screenshot(page, name);
    }
    await page.goto(`${s.server.url}/ui/tokens`);
    await page.locator(".page-head").getByRole("button", { name: "Create token" }).click();
    await page.locator("dialog[open]").waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(NARROW.width);
    await screenshot(page, "create-token");
    await page.keyboard.press("Escape");
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("API token").waitFor();
    await screenshot(page, "sign-in");
    await page.setViewportSize(WIDE);
    await screenshot(page, "sign-in");
  });
});
