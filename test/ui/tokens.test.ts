import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  heapOccurrences,
  launchBrowser,
  newContext,
  recordResponses,
  screenshot,
  type Seeded,
  seededServer,
  signIn,
  visibleEverything,
} from "./helpers.ts";

/**
 * The API Tokens page end to end, signed in as the organization owner: sign-in, the table with its
 * filters, sorting and badges, create (existing and new service account), manage, regenerate in
 * its three ways, delete, and the show-once secret that no later response or page state repeats.
 */
describe("web UI: API tokens (owner)", () => {
  let s: Seeded;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let responses: string[];
  /** Every secret the UI showed, with the number of responses allowed to hold it (its issuing one). */
  const secrets: string[] = [];

  beforeAll(async () => {
    [s, browser] = await Promise.all([seededServer(), launchBrowser()]);
    context = await newContext(browser);
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: s.server.url });
    page = await context.newPage();
    page.setDefaultTimeout(10_000);
    responses = recordResponses(page);
  });
  // A failed test must not leave its dialog in the way of the next one.
  afterEach(async () => {
    if (page && (await page.locator("dialog[open]").count()) > 0) await page.keyboard.press("Escape");
  });
  afterAll(async () => {
    await browser?.close();
    await s?.server.close();
  });

  const api = (method: string, path: string, body?: unknown) => s.server.api(method, path, { body });
  const row = (key: string) => page.locator(`tr[data-token-id="${s.ids.get(key)}"]`);
  const dialog = () => page.locator("dialog[open]");
  const openCreate = () => page.locator(".page-head").getByRole("button", { name: "Create token" }).click();
  const tokenRows = () => page.getByTestId("tokens-table").locator("tbody tr");

  /** Reads the shown secret, checks it is the real thing, closes the dialog and checks it is gone. */
  async function takeSecretAndClose(closeWith: "button" | "escape" = "button"): Promise<string> {
    const value = await page.getByTestId("secret-value").inputValue();
    expect(value).toMatch(/^lk_[A-Za-z0-9]{49,}$/);
    await expect.poll(() => visibleEverything(page)).toContain(value);
    await dialog()
      .getByText(/It is shown only once and cannot be shown again/)
      .waitFor();
    secrets.push(value);
    if (closeWith === "escape") await page.keyboard.press("Escape");
    else
      await dialog()
        .getByRole("button", { name: /I have copied it/ })
        .click();
    await dialog().waitFor({ state: "detached" });
    expect(await visibleEverything(page)).not.toContain(value);
    return value;
  }

  it("refuses a bad token next to the field, then signs in; the session survives a reload and nothing is stored", async () => {
    await page.goto(`${s.server.url}/ui`);
    const field = page.getByLabel("API token");
    await field.fill("lk_not_a_real_token");
    await page.getByRole("button", { name: "Sign in" }).click();
    const error = page.locator(".field-error");
    await error.waitFor();
    expect(await error.textContent()).toMatch(/malformed|not valid|invalid/i);
    expect(await field.getAttribute("aria-invalid")).toBe("true");
    await screenshot(page, "sign-in-error");

    await signIn(page, s.server.url, s.owner);
    expect(await page.getByTestId("whoami").textContent()).toContain("bootstrap");
    expect(page.url()).not.toContain("lk_");
    await page.reload();
    await page.getByTestId("tokens-table").waitFor();
    expect(await page.getByTestId("whoami").textContent()).toContain("bootstrap");
    const stored = await page.evaluate(() => ({
      local: localStorage.length,
      session: sessionStorage.length,
      cookie: document.cookie,
    }));
    expect(stored).toEqual({ local: 0, session: 0, cookie: "" });
    expect(await visibleEverything(page)).not.toContain(s.owner);
  });

  it("lists every token with its columns and badges for expired, revoked and expiring soon", async () => {
    await page.getByTestId("tokens-table").waitFor();
    const headers = (await page.locator(".tokens-table thead th").allTextContents()).map((x) =>
      x.replace(/[▲▼]/g, "").trim(),
    );
    for (const h of [
      "Name",
      "Service account",
      "Project",
      "Access",
      "Owner",
      "Created",
      "Expires",
      "Last used",
      "State",
    ])
      expect(headers).toContain(h);
    const github = row("payments/ci-deployer/github-actions");
    expect(await github.locator(".badge").textContent()).toBe("Expiring soon");
    expect(await github.textContent()).toContain("alice@example.com");
    expect(await github.locator('td[data-label="Expires"]').textContent()).toMatch(/in \d days.*20\d\d/);
    expect(await github.locator('td[data-label="Last used"]').textContent()).toMatch(/minutes ago/);
    expect(await row("payments/ci-deployer/legacy-jenkins").locator(".badge").textContent()).toBe("Expired");
    expect(await row("analytics/etl/old-notebook").locator(".badge").textContent()).toBe("Revoked");
    expect(await row("platform/terraform/tofu-apply").locator(".badge").textContent()).toBe("Active");
    expect(
      await row("payments/billing-reader/metabase").locator('td[data-label="Access"]').textContent(),
    ).toBe("read-only");
    expect(await page.getByTestId("expiring-banner").textContent()).toMatch(/2 tokens expire within 7 days/);
    await screenshot(page, "tokens");
  });

  it("filters by project, service account, state and text, and keeps the filters in the address", async () => {
    await page.getByLabel("Project", { exact: true }).selectOption("payments");
    await expect
      .poll(async () => new Set(await page.locator('td[data-label="Project"]').allTextContents()))
      .toEqual(new Set(["payments"]));
    await page.getByLabel("Service account", { exact: true }).selectOption("ci-deployer");
    await expect
      .poll(async () => (await page.locator('td[data-label="Name"] button').allTextContents()).sort())
      .toEqual(["github-actions", "gitlab-runner", "legacy-jenkins"]);
    expect(page.url()).toContain("project=payments");
    expect(page.url()).toContain("service_account=ci-deployer");
    await page.getByLabel("State").selectOption("expired");
    await expect
      .poll(async () => page.locator('td[data-label="Name"] button').allTextContents())
      .toEqual(["legacy-jenkins"]);
    await page.getByRole("button", { name: "Clear filters" }).click();
    await page.getByLabel("State").selectOption("expiring");
    await expect
      .poll(async () => (await page.locator('td[data-label="Name"] button').allTextContents()).sort())
      .toEqual(["github-actions", "prometheus"]);
    await page.getByLabel("State").selectOption("revoked");
    await expect
      .poll(async () => page.locator('td[data-label="Name"] button').allTextContents())
      .toEqual(["old-notebook"]);
    await page.getByRole("button", { name: "Clear filters" }).click();
    await page.getByLabel("Search").fill("REVENUE");
    await expect
      .poll(async () => page.locator('td[data-label="Name"] button').allTextContents())
      .toEqual(["metabase"]);
    await page.getByLabel("Search").fill("no such token anywhere");
    await page.getByText("No token matches these filters.").waitFor();
    await page.getByRole("button", { name: "Clear filters" }).click();
    await expect.poll(() => tokenRows().count()).toBeGreaterThan(10);
  });

  it("sorts by a column, both ways, with aria-sort saying which", async () => {
    const expiries = async () =>
      page
        .locator('td[data-label="Expires"] time')
        .evaluateAll((els) => els.map((e) => e.getAttribute("datetime") ?? ""));
    const header = page.locator("th", { has: page.getByRole("button", { name: "Expires" }) });
    await page.getByRole("button", { name: "Expires" }).click();
    await expect.poll(() => header.getAttribute("aria-sort")).toBe("ascending");
    await expect.poll(expiries).toEqual([...(await expiries())].sort());
    const ascending = await expiries();
    expect(ascending.length).toBeGreaterThan(10);
    expect(ascending).toEqual([...ascending].sort());
    await page.getByRole("button", { name: "Expires" }).click();
    await expect.poll(() => header.getAttribute("aria-sort")).toBe("descending");
    await expect.poll(expiries).toEqual([...ascending].reverse());
    expect(page.url()).toContain("sort=-expires_at");
    await page.getByRole("button", { name: "Name" }).click();
    await expect
      .poll(() =>
        page.locator("th", { has: page.getByRole("button", { name: "Name" }) }).getAttribute("aria-sort"),
      )
      .toBe("ascending");
    const names = () => page.locator('td[data-label="Name"] button').allTextContents();
    await expect.poll(async () => (await names())[0]).toBe("airflow");
    const shown = await names();
    expect(shown).toEqual([...shown].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  });

  it("is keyboard usable: the create dialog opens from the keyboard, traps focus, and Escape closes it", async () => {
    const create = page.locator(".page-head").getByRole("button", { name: "Create token" });
    await create.focus();
    await page.keyboard.press("Enter");
    await dialog().waitFor();
    // The first field has focus, and focus stays inside the modal.
    expect(await page.evaluate(() => document.activeElement?.closest("dialog") !== null)).toBe(true);
    for (let i = 0; i < 25; i++) await page.keyboard.press("Tab");
    expect(
      await page.evaluate(
        () => document.activeElement?.closest("dialog") !== null || document.activeElement === document.body,
      ),
    ).toBe(true);
    await page.keyboard.press("Escape");
    await dialog().waitFor({ state: "detached" });
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Create token");
  });

  it("shows an API error next to the control that caused it, and creates nothing", async () => {
    const before = (await api("GET", "/v1/tokens?limit=200")).body.items.length;
    await openCreate();
    const d = dialog();
    await d.getByLabel("Project").selectOption("payments");
    await d.getByLabel("Service account", { exact: true }).selectOption("ci-deployer");
    await d.getByLabel("Token name").fill("has a bang!");
    await d.getByRole("button", { name: "Create token" }).click();
    const nameField = d.locator(".field", { has: page.getByLabel("Token name") });
    await nameField.locator(".field-error").waitFor();
    expect(await nameField.locator(".field-error").textContent()).toMatch(/match|pattern|letters/i);
    expect(await d.getByLabel("Token name").getAttribute("aria-invalid")).toBe("true");

    await d.getByLabel("Token name").fill("too-long-lived");
    await d.getByLabel("Lifetime").selectOption("custom");
    await d.getByLabel("Days").fill("4000");
    await d.getByRole("button", { name: "Create token" }).click();
    const daysField = d.locator(".field", { has: page.getByLabel("Days") });
    await daysField.locator(".field-error").waitFor();
    expect(await daysField.locator(".field-error").textContent()).toMatch(/between 600 and/);
    await screenshot(page, "create-token-error");
    await page.keyboard.press("Escape");
    await d.waitFor({ state: "detached" });
    expect((await api("GET", "/v1/tokens?limit=200")).body.items.length).toBe(before);
  });

  it("creates a token for an existing account: the secret is shown once, copies, works, and is gone after closing", async () => {
    await openCreate();
    const d = dialog();
    await d.getByLabel("Project").selectOption("payments");
    await d.getByLabel("Service account", { exact: true }).selectOption("billing-reader");
    await d.getByLabel("Token name").fill("looker");
    await d.getByLabel("Description").fill("BI exports");
    await d.getByLabel("Owner").fill("finance-data");
    await d.getByLabel("Access").selectOption("read-only");
    await d.getByLabel("Lifetime").selectOption("30");
    await screenshot(page, "create-token");
    await d.getByRole("button", { name: "Create token" }).click();
    await page.getByTestId("secret-value").waitFor();
    await screenshot(page, "create-token-secret");
    const value = await page.getByTestId("secret-value").inputValue();
    await d.getByRole("button", { name: "Copy" }).click();
    await d.getByText("Copied to the clipboard").waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(value);
    await takeSecretAndClose();
    await page.evaluate(() => navigator.clipboard.writeText(""));

    // The secret shown is the real one, with the attributes chosen.
    const who = await s.server.api("GET", "/v1/whoami", { token: value });
    expect(who.status).toBe(200);
    expect(who.body).toMatchObject({
      service_account: { name: "billing-reader", project: "payments" },
      access: "read-only",
    });
    const looker = (await api("GET", "/v1/tokens?q=looker")).body.items[0];
    expect(looker).toMatchObject({
      name: "looker",
      description: "BI exports",
      owner: "finance-data",
      access: "read-only",
    });
    const days = (new Date(looker.expires_at).getTime() - new Date(looker.created_at).getTime()) / 86_400_000;
    expect(days).toBe(30);
    await page.locator(`tr[data-token-id="${looker.id}"]`).waitFor();
  });

  it("creates a service account and its token in one step, with roles up to the caller's own", async () => {
    await openCreate();
    const d = dialog();
    await d.getByLabel("Project").selectOption("platform");
    await d.getByLabel("New service account", { exact: true }).check();
    // The owner may grant every role.
    expect(await d.getByLabel("Role").locator("option").allTextContents()).toEqual([
      "viewer",
      "contributor",
      "admin",
      "owner",
    ]);
    await d.getByLabel("New service account name").fill("webhook-relay");
    await d.getByLabel("Role").selectOption("contributor");
    await d.getByLabel("Token name").fill("relay-prod");
    await d.getByLabel("Owner").fill("platform-team");
    await d.getByRole("button", { name: "Create token" }).click();
    await page.getByTestId("secret-value").waitFor();
    const value = await takeSecretAndClose("escape");
    const sa = await api("GET", "/v1/projects/platform/service-accounts/webhook-relay");
    expect(sa.body).toMatchObject({ role: "contributor", owner: "platform-team" });
    const who = await s.server.api("GET", "/v1/whoami", { token: value });
    expect(who.body.service_account.name).toBe("webhook-relay");
  });

  it("manages a token: description, owner and the account's role", async () => {
    await page.getByRole("button", { name: "Manage gitlab-runner" }).click();
    const d = page.getByTestId("manage-dialog");
    await d.getByLabel("Description").fill("Self-hosted runners for the payments repos");
    await d.getByLabel("Owner").fill("carol@example.com");
    await d.getByLabel("Role of service account ci-deployer").selectOption("viewer");
    await screenshot(page, "manage-token");
    await d.getByRole("button", { name: "Save changes" }).click();
    await d.waitFor({ state: "detached" });
    await page.getByTestId("toast").getByText("Saved token gitlab-runner.").waitFor();
    const t = await api("GET", `/v1/tokens/${s.ids.get("payments/ci-deployer/gitlab-runner")}`);
    expect(t.body).toMatchObject({
      description: "Self-hosted runners for the payments repos",
      owner: "carol@example.com",
    });
    expect((await api("GET", "/v1/projects/payments/service-accounts/ci-deployer")).body.role).toBe("viewer");
    await row("payments/ci-deployer/gitlab-runner").getByText("carol@example.com").waitFor();
    await api("PATCH", "/v1/projects/payments/service-accounts/ci-deployer", { role: "contributor" });
  });

  it("regenerates with the previous token retired immediately; the new secret leaves no trace in memory", async () => {
    const id = s.ids.get("platform/terraform/tofu-plan") as string;
    await page.getByRole("button", { name: "Regenerate tofu-plan" }).click();
    const d = page.getByTestId("regenerate-dialog");
    await d.getByLabel("Immediately").check();
    await screenshot(page, "regenerate");
    await d.getByRole("button", { name: "Regenerate" }).click();
    await page.getByTestId("secret-value").waitFor();
    await d.getByText("The previous token stopped working just now.").waitFor();
    // The secret is in the page's memory while shown (so the search below can find it)...
    const shown = await page.getByTestId("secret-value").inputValue();
    expect(await heapOccurrences(page, shown)).toBeGreaterThan(0);
    const value = await takeSecretAndClose();
    // ...and no live object holds it once the dialog is closed: not the DOM, not the app's state.
    expect(await heapOccurrences(page, value)).toBe(0);
    const previous = (await api("GET", `/v1/tokens/${id}`)).body;
    expect(previous.active).toBe(false);
    const fresh = await s.server.api("GET", "/v1/whoami", { token: value });
    expect(fresh.body.token_id).toBe(previous.rotated_to);
  });

  it("regenerates with the previous token retired at a chosen date and time", async () => {
    const id = s.ids.get("analytics/etl/airflow") as string;
    await page.getByRole("button", { name: "Regenerate airflow" }).click();
    const d = page.getByTestId("regenerate-dialog");
    await d.getByLabel("At a date and time").check();
    // The browser runs in UTC (newContext), so the local time typed is UTC.
    const at = new Date(Date.now() + 2 * 86_400_000);
    at.setUTCSeconds(0, 0);
    await d.getByLabel("Previous token stops working at").fill(at.toISOString().slice(0, 16));
    await d.getByRole("button", { name: "Regenerate" }).click();
    await page.getByTestId("secret-value").waitFor();
    await takeSecretAndClose();
    const previous = (await api("GET", `/v1/tokens/${id}`)).body;
    expect(previous.state).toBe("active");
    expect(previous.expires_at).toBe(at.toISOString());
  });

  it("refuses a retirement date in the past, next to the date field", async () => {
    await page.getByRole("button", { name: "Regenerate metabase" }).click();
    const d = page.getByTestId("regenerate-dialog");
    await d.getByLabel("At a date and time").check();
    await d.getByLabel("Previous token stops working at").fill("2001-01-01T00:00");
    await d.getByRole("button", { name: "Regenerate" }).click();
    const field = d.locator(".field", { has: page.getByLabel("Previous token stops working at") });
    await field.locator(".field-error").waitFor();
    expect(await field.locator(".field-error").textContent()).toMatch(/must not be in the past/);
    await page.keyboard.press("Escape");
    await d.waitFor({ state: "detached" });
    expect(
      (await api("GET", `/v1/tokens/${s.ids.get("payments/billing-reader/metabase")}`)).body.rotated_to,
    ).toBeNull();
  });

  it("regenerates with the previous token retired when the new one is first used", async () => {
    const id = s.ids.get("analytics/etl/dbt-cloud") as string;
    await page.getByRole("button", { name: "Regenerate dbt-cloud" }).click();
    const d = page.getByTestId("regenerate-dialog");
    await d.getByLabel("When the new token is first used").check();
    await d.getByRole("button", { name: "Regenerate" }).click();
    await page.getByTestId("secret-value").waitFor();
    await d.getByText(/stops working as soon as this one is first used/).waitFor();
    const value = await takeSecretAndClose();
    expect((await api("GET", `/v1/tokens/${id}`)).body.state).toBe("active");
    expect((await s.server.api("GET", "/v1/whoami", { token: value })).status).toBe(200);
    const previous = (await api("GET", `/v1/tokens/${id}`)).body;
    expect(previous.active).toBe(false);
  });

  it("deletes a token after a confirmation that names what stops working; Escape cancels", async () => {
    const id = s.ids.get("payments/ci-deployer/gitlab-runner") as string;
    await page.getByRole("button", { name: "Delete gitlab-runner" }).click();
    await page.getByTestId("delete-dialog").waitFor();
    await page.keyboard.press("Escape");
    await page.getByTestId("delete-dialog").waitFor({ state: "detached" });
    expect((await api("GET", `/v1/tokens/${id}`)).body.state).toBe("active");

    await page.getByRole("button", { name: "Delete gitlab-runner" }).click();
    const d = page.getByTestId("delete-dialog");
    const consequence = await d.getByTestId("consequence").textContent();
    expect(consequence).toContain(
      "Token gitlab-runner of service account ci-deployer in project payments will stop working at once",
    );
    expect(await d.textContent()).toMatch(/last used yesterday/);
    await screenshot(page, "delete-token");
    await d.getByRole("button", { name: "Delete token" }).click();
    await d.waitFor({ state: "detached" });
    await page.getByTestId("toast").getByText("Token gitlab-runner was revoked.").waitFor();
    expect((await api("GET", `/v1/tokens/${id}`)).body.state).toBe("revoked");
    await expect
      .poll(() => row("payments/ci-deployer/gitlab-runner").locator(".badge").textContent())
      .toBe("Revoked");
  });

  it("never sends a shown secret again: each is in exactly one response, and in no page state after", async () => {
    expect(secrets.length).toBe(5);
    // Walk every page once more, so that lists and audit entries are fetched after the secrets exist.
    for (const name of ["Service accounts", "Expiries", "Audit log", "API tokens"]) {
      await page.getByRole("link", { name }).click();
      await page.waitForLoadState("networkidle");
      for (const secret of secrets) expect(await visibleEverything(page)).not.toContain(secret);
    }
    expect(responses.length).toBeGreaterThan(50);
    for (const secret of secrets) expect(responses.filter((r) => r.includes(secret)).length).toBe(1);
    // The sign-in token was sent in a request body once, and never came back either.
    expect(responses.filter((r) => r.includes(s.owner))).toEqual([]);
  });

  it("signs out: the session is gone on the server and the app shows the sign-in page", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("API token").waitFor();
    await page.getByText("You have signed out.").waitFor();
    const status = await page.evaluate(
      async () => (await fetch("/ui/session", { credentials: "same-origin" })).status,
    );
    expect(status).toBe(401);
    await page.goto(`${s.server.url}/ui/tokens`);
    await page.getByLabel("API token").waitFor();
    expect(await page.locator("[data-testid=tokens-table]").count()).toBe(0);
  });
});
