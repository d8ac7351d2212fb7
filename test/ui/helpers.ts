import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import type { Clock } from "../../src/lib/clock.ts";
import { startServer, type TestServer } from "../helpers/server.ts";

/** End-to-end helpers: Debian's Chromium through playwright-core, against a real Latchkey on a real port. */

export const SCREENSHOT_DIR = join(process.cwd(), ".tmp", "ui-screenshots");
export const WIDE = { width: 1280, height: 800 };
export const NARROW = { width: 400, height: 800 };

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.LATCHKEY_CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** A clock that is real time shifted by `offsetDays`: seed data "in the past", then return to now. */
export class ShiftedClock implements Clock {
  offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
  at(daysAgo: number): void {
    this.offsetMs = -daysAgo * 86_400_000;
  }
}

export interface Seeded {
  server: TestServer;
  clock: ShiftedClock;
  /** Sign-in tokens for each kind of user. */
  owner: string;
  admin: string;
  contributor: string;
  viewer: string;
  /** Token ids by "project/sa/name". */
  ids: Map<string, string>;
}

const DAY = 86_400;

/**
 * A server with realistic data: three projects, service accounts of every role, tokens that are
 * active, expiring within days, expired (issued long ago on a shifted clock) and revoked, some used.
 */
export async function seededServer(): Promise<Seeded> {
  const clock = new ShiftedClock();
  const server = await startServer({ clock });
  const ids = new Map<string, string>();
  const ok = async (method: string, path: string, body?: unknown, token?: string) => {
    const res = await server.api(method, path, { body, token });
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${res.text}`);
    return res.body;
  };
  for (const [name, description] of [
    ["payments", "Card payments and billing"],
    ["platform", "Shared infrastructure"],
    ["analytics", "Reporting and data pipelines"],
  ])
    await ok("POST", "/v1/projects", { name, description });

  const sa = (project: string, name: string, role: string, owner: string, description: string) =>
    ok("POST", `/v1/projects/${project}/service-accounts`, { name, role, owner, description });
  await sa(
    "payments",
    "ci-deployer",
    "contributor",
    "team-payments",
    "Deploys the payments services from CI",
  );
  await sa("payments", "billing-reader", "viewer", "finance-data", "Read-only access for dashboards");
  await sa("payments", "release-bot", "contributor", "team-payments", "Release automation");
  await sa("payments", "auditor", "viewer", "security", "Quarterly access reviews");
  await sa("platform", "terraform", "admin", "platform-team", "Applies infrastructure changes");
  await sa("platform", "monitoring", "viewer", "sre", "Scrapes metrics");
  await sa("platform", "ops-admin", "admin", "sre", "On-call administration");
  await sa("analytics", "etl", "contributor", "data-eng", "Nightly pipelines");

  const token = async (
    key: string,
    opts: {
      daysAgo: number;
      ttlDays: number;
      access?: string;
      owner?: string;
      description?: string;
      usedDaysAgo?: number;
    },
  ) => {
    const [project, account, name] = key.split("/") as [string, string, string];
    clock.at(opts.daysAgo);
    const t = await ok("POST", `/v1/projects/${project}/service-accounts/${account}/tokens`, {
      name,
      access: opts.access ?? "read-write",
      owner: opts.owner ?? "",
      description: opts.description ?? "",
      ttl_seconds: Math.round(opts.ttlDays * DAY),
    });
    ids.set(key, t.id);
    if (opts.usedDaysAgo !== undefined) {
      clock.at(opts.usedDaysAgo);
      await ok("GET", "/v1/whoami", undefined, t.token);
    }
    clock.at(0);
    return t.token as string;
  };

  await token("payments/ci-deployer/github-actions", {
    daysAgo: 86,
    ttlDays: 90,
    owner: "alice@example.com",
    description: "payments-api deploy workflow",
    usedDaysAgo: 0.02,
  });
  await token("payments/ci-deployer/gitlab-runner", {
    daysAgo: 12,
    ttlDays: 30,
    owner: "bob@example.com",
    usedDaysAgo: 1,
  });
  await token("payments/ci-deployer/legacy-jenkins", {
    daysAgo: 120,
    ttlDays: 90,
    owner: "team-payments",
    usedDaysAgo: 40,
  });
  await token("payments/billing-reader/metabase", {
    daysAgo: 20,
    ttlDays: 180,
    access: "read-only",
    owner: "finance-data",
    description: "Revenue dashboard",
    usedDaysAgo: 0.2,
  });
  await token("payments/billing-reader/grafana", {
    daysAgo: 50,
    ttlDays: 60,
    access: "read-only",
    owner: "sre",
    usedDaysAgo: 3,
  });
  await token("platform/terraform/tofu-apply", {
    daysAgo: 30,
    ttlDays: 366,
    owner: "platform-team",
    usedDaysAgo: 2,
  });
  await token("platform/terraform/tofu-plan", {
    daysAgo: 3,
    ttlDays: 40,
    access: "read-only",
    owner: "platform-team",
  });
  await token("platform/monitoring/prometheus", {
    daysAgo: 88,
    ttlDays: 91,
    access: "read-only",
    owner: "sre",
    usedDaysAgo: 0.01,
  });
  await token("analytics/etl/airflow", { daysAgo: 10, ttlDays: 45, owner: "data-eng", usedDaysAgo: 0.5 });
  await token("analytics/etl/dbt-cloud", { daysAgo: 60, ttlDays: 80, owner: "data-eng", usedDaysAgo: 5 });
  await token("analytics/etl/old-notebook", { daysAgo: 40, ttlDays: 90, owner: "carol@example.com" });
  await ok("DELETE", `/v1/tokens/${ids.get("analytics/etl/old-notebook")}`);

  // The people who sign in.
  const contributor = await token("payments/release-bot/ui-session", {
    daysAgo: 0,
    ttlDays: 30,
    owner: "dana@example.com",
  });
  const viewer = await token("payments/auditor/ui-session", {
    daysAgo: 0,
    ttlDays: 30,
    owner: "erin@example.com",
  });
  const admin = await token("platform/ops-admin/ui-session", {
    daysAgo: 0,
    ttlDays: 30,
    owner: "frank@example.com",
  });
  return { server, clock, owner: server.bootstrapToken, admin, contributor, viewer, ids };
}

export async function newContext(browser: Browser, viewport = WIDE): Promise<BrowserContext> {
  return browser.newContext({ viewport, locale: "en-US", timezoneId: "UTC", reducedMotion: "reduce" });
}

/** Every response body the page receives, to prove a secret never comes back. */
export function recordResponses(page: Page): string[] {
  const bodies: string[] = [];
  page.on("response", async (response) => {
    try {
      bodies.push(`${response.url()}\n${JSON.stringify(response.headers())}\n${await response.text()}`);
    } catch {
      // redirects and aborted requests have no body
    }
  });
  return bodies;
}

export async function signIn(page: Page, baseUrl: string, token: string, path = "/ui/tokens"): Promise<void> {
  await page.goto(baseUrl + path);
  await page.getByLabel("API token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByTestId("whoami").waitFor();
}

/** Everything a user could see or copy: rendered text, HTML and the values of form controls. */
export async function visibleEverything(page: Page): Promise<string> {
  return page.evaluate(() => {
    const values = [...document.querySelectorAll("input, textarea, select")].map(
      (e) => (e as HTMLInputElement).value,
    );
    return [document.documentElement.outerHTML, document.body.innerText, ...values].join("\n");
  });
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const size = page.viewportSize();
  const file = join(SCREENSHOT_DIR, `${name}-${size && size.width < 700 ? "narrow" : "wide"}.png`);
  await page.screenshot({ path: file });
  return file;
}

/**
 * How many times `needle` occurs in the page's JavaScript heap, after a garbage collection: a
 * secret that no live object holds any more is not found.
 */
export async function heapOccurrences(page: Page, needle: string): Promise<number> {
  const cdp = await page.context().newCDPSession(page);
  try {
    await cdp.send("HeapProfiler.enable");
    await cdp.send("HeapProfiler.collectGarbage");
    let snapshot = "";
    const onChunk = (event: { chunk: string }) => {
      snapshot += event.chunk;
    };
    cdp.on("HeapProfiler.addHeapSnapshotChunk", onChunk);
    await cdp.send("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
    cdp.off("HeapProfiler.addHeapSnapshotChunk", onChunk);
    return snapshot.split(needle).length - 1;
  } finally {
    await cdp.detach();
  }
}
