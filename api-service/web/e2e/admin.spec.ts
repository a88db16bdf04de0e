// The admin UI in a browser, as its three kinds of people use it.
import { request as newRequest, type Page } from "@playwright/test";

import { API, env, expect, people, screenshot, signInThroughProvider, test } from "./fixtures";

const run = `e2e${Date.now().toString(36)}`;
const audience = 900;
const doneText = new RegExp(`of ${audience.toLocaleString("en-GB")} done`);
let running: { id: number };

test.beforeAll(async ({ playwright }, info) => {
  // A mailout of 900 customers, sent at 5 a second by the one worker,
  // runs for three minutes; 22 more wait for tomorrow, so the list pages.
  const request = await playwright.request.newContext({ baseURL: info.project.use.baseURL! });
  const api = await API.signIn(request);
  const phoneBase = 9_000_000_000 + Math.floor(Math.random() * 900_000) * 1000;
  await api.importCustomers(audience, run, phoneBase);
  running = await api.createMailout({ text: `Running ${run}: 30% off until Sunday`, startInS: -1, endInS: 3600, tags: [run] });
  for (let i = 0; i < 22; i++) {
    await api.createMailout({ text: `Scheduled ${run} #${i + 1}`, startInS: 86_400 + i * 600, endInS: 2 * 86_400, tags: [run] });
  }
  await request.dispose();
});

function doneCount(text: string | null): number {
  const m = /([\d,]+) of ([\d,]+) done/.exec(text ?? "");
  return m ? Number(m[1]!.replaceAll(",", "")) : -1;
}

async function card(page: Page, id: number) {
  return page.getByRole("article", { name: `Mailout ${id}` });
}

test("an operator signs in through the provider and follows the mailouts", async ({ page, context }) => {
  test.setTimeout(240_000);

  await test.step("a deep link sends an unknown visitor to sign in", async () => {
    await page.goto("/admin/mailouts?status=scheduled");
    await expect(page).toHaveURL(/\/admin\/signin\?redirect=/);
    await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
    await expect(page.getByRole("link", { name: `Sign in with ${env.provider}` })).toBeVisible();
    await expect(page.getByRole("textbox", { name: /^Username/ })).toBeVisible();
    await screenshot(page, "01-sign-in");
  });

  await test.step("the provider's form signs the operator in and comes back to the page", async () => {
    await signInThroughProvider(page, people.operator);
    await expect(page).toHaveURL(/\/admin\/mailouts\?status=scheduled$/);
    const header = page.getByRole("banner");
    await expect(header.getByText("Otto Operator")).toBeVisible();
    await expect(header.getByText("operator", { exact: true })).toBeVisible();
    await expect(page.getByRole("table", { name: "Mailouts" }).getByText(`Scheduled ${run} #1`, { exact: true })).toBeVisible();
  });

  await test.step("the dashboard shows the running mailout's progress moving", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Dashboard" }).click();
    await expect(page.getByRole("heading", { name: "Dashboard", level: 1 })).toBeVisible();
    const c = await card(page, running.id);
    await expect(c).toBeVisible();
    await expect(c.getByText(doneText)).toBeVisible();
    const first = doneCount(await c.getByText(doneText).textContent());
    await expect.poll(async () => doneCount(await c.getByText(doneText).textContent()), { timeout: 30_000 }).toBeGreaterThan(first);
    await expect(c.getByText(/Rate \d/)).toBeVisible();
    await expect(c.getByRole("button", { name: `Pause mailout ${running.id}` })).toBeVisible();
    await expect(page.getByRole("region", { name: "Totals" }).getByText("Messages", { exact: true })).toBeVisible();
  });

  await test.step("pausing and resuming move the mailout between the sections", async () => {
    const c = await card(page, running.id);
    await c.getByRole("button", { name: `Pause mailout ${running.id}` }).click();
    await expect(page.getByText(`Mailout ${running.id} paused.`)).toBeVisible();
    const paused = page.getByRole("region", { name: /^Paused/ });
    await expect(paused.getByRole("article", { name: `Mailout ${running.id}` })).toBeVisible();
    await paused.getByRole("button", { name: `Resume mailout ${running.id}` }).click();
    await expect(page.getByRole("region", { name: /^Running/ }).getByRole("article", { name: `Mailout ${running.id}` })).toBeVisible();
  });

  await test.step("the refresh control pauses live updates", async () => {
    const live = page.getByRole("group", { name: "Live updates" });
    await live.getByRole("button", { name: "Pause live updates" }).click();
    await expect(live.getByRole("button", { name: "Resume live updates" })).toHaveAttribute("aria-pressed", "true");
    await expect(page.getByText("Live updates paused")).toBeVisible();
    let polled = 0;
    const count = (r: { url(): string }) => {
      if (r.url().includes("/api/mailouts")) polled++;
    };
    page.on("request", count);
    await page.waitForTimeout(6_000); // longer than the 5 s interval
    page.off("request", count);
    expect(polled, "requests to /api/mailouts while paused").toBe(0);
    await live.getByRole("button", { name: "Resume live updates" }).click();
    await expect(page.getByText(/Updating every 5 s/)).toBeVisible();
  });

  await test.step("the mailouts list filters by status and pages with the API's cursor", async () => {
    await page.goto("/admin/mailouts?limit=20");
    const table = page.getByRole("table", { name: "Mailouts" });
    await expect(table.locator("tbody tr")).toHaveCount(20);
    await expect(page.getByText("Page 1", { exact: true })).toBeVisible();
    await page.getByRole("button", { name: "Next page" }).click();
    await expect(page.getByText("Page 2", { exact: true })).toBeVisible();
    await expect(page).toHaveURL(/after=/);
    await expect(table.locator("tbody tr").first()).toBeVisible();
    await screenshot(page, "03-mailouts-page-2");
    await page.getByRole("button", { name: "Previous page" }).click();
    await expect(page.getByText("Page 1", { exact: true })).toBeVisible();
    // A chip is a checkbox whose label is what shows.
    await page.getByRole("group", { name: "Status" }).getByText("running", { exact: true }).click();
    await expect(page.getByRole("checkbox", { name: "running" })).toBeChecked();
    await expect(page).toHaveURL(/status=running/);
    await expect(table.getByRole("link", { name: String(running.id), exact: true })).toBeVisible();
    await expect(page.getByRole("button", { name: "New mailout" }).or(page.getByRole("link", { name: "New mailout" }))).toBeVisible();
    await screenshot(page, "03-mailouts-running");
  });

  await test.step("a lost session returns to sign-in, and to the page afterwards", async () => {
    await page.goto("/admin/mailouts?status=scheduled");
    await expect(page.getByRole("table", { name: "Mailouts" })).toBeVisible();
    await context.clearCookies({ name: "mailing_session" });
    // The next live update is answered 401.
    await expect(page).toHaveURL(/\/admin\/signin\?redirect=/, { timeout: 20_000 });
    await expect(page.getByText("Your session has ended", { exact: false }).first()).toBeVisible();
    await signInThroughProvider(page, people.operator);
    await expect(page).toHaveURL(/\/admin\/mailouts\?status=scheduled$/);
  });

  await test.step("at phone width the navigation is a drawer", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto("/admin/");
    await expect(page.getByRole("heading", { name: "Dashboard", level: 1 })).toBeVisible();
    await expect(page.getByRole("navigation", { name: "Main" })).toBeHidden();
    await expect(await card(page, running.id)).toBeVisible();
    await screenshot(page, "04-dashboard-phone");
    await page.getByRole("button", { name: "Open navigation" }).click();
    const drawer = page.getByRole("dialog");
    await expect(drawer.getByRole("link", { name: "Customers" })).toBeVisible();
    await screenshot(page, "05-navigation-phone");
    await drawer.getByRole("link", { name: "Customers" }).click();
    await expect(page.getByRole("heading", { name: "Customers", level: 1 })).toBeVisible();
    await expect(page.getByText("Coming soon")).toBeVisible();
    await screenshot(page, "06-coming-page-phone");
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  await test.step("the running mailout's card charts its deliveries per minute", async () => {
    await page.goto("/admin/");
    const c = await card(page, running.id);
    // Drawn once deliveries span two minutes.
    await expect(c.getByRole("figure", { name: `Messages delivered per minute by mailout ${running.id}` })).toBeVisible({ timeout: 90_000 });
    await expect(c.locator("svg.recharts-surface")).toBeVisible();
    await screenshot(page, "02-dashboard-operator");
  });

  await test.step("signing out signs out at the provider too", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/admin\/signin/);
    await expect(page.getByRole("link", { name: `Sign in with ${env.provider}` })).toBeVisible();
    // The session is gone here: a deep link asks to sign in again.
    await page.goto("/admin/mailouts");
    await expect(page).toHaveURL(/\/admin\/signin\?redirect=%2Fmailouts/);
  });
});

test("a viewer sees everything and no action buttons", async ({ page }) => {
  await page.goto("/admin/");
  await signInThroughProvider(page, people.viewer);
  await expect(page).toHaveURL(/\/admin\/$/);
  await expect(page.getByRole("banner").getByText("Vera Viewer")).toBeVisible();
  await expect(page.getByRole("banner").getByText("viewer", { exact: true })).toBeVisible();
  await expect(await card(page, running.id)).toBeVisible();
  await expect((await card(page, running.id)).getByText(doneText)).toBeVisible();
  await expect(page.getByRole("button", { name: /^(Pause|Resume) mailout/ })).toHaveCount(0);
  const nav = page.getByRole("navigation", { name: "Main" });
  await expect(nav.getByRole("link", { name: "Mailouts" })).toBeVisible();
  await expect(nav.getByRole("link", { name: "Audit log" })).toHaveCount(0);
  await expect(nav.getByRole("link", { name: "Users & keys" })).toHaveCount(0);
  await screenshot(page, "07-dashboard-viewer");
  await nav.getByRole("link", { name: "Mailouts" }).click();
  await expect(page.getByRole("table", { name: "Mailouts" })).toBeVisible();
  await expect(page.getByRole("link", { name: "New mailout" })).toHaveCount(0);
  await expect(page.getByRole("button", { name: "New mailout" })).toHaveCount(0);
  await screenshot(page, "08-mailouts-viewer");
});

test("an admin signs in with a password, by keyboard", async ({ page }) => {
  await page.goto("/admin/");
  await expect(page).toHaveURL(/\/admin\/signin/);
  const username = page.getByRole("textbox", { name: /^Username/ });
  const password = page.getByLabel(/^Password/);
  await username.fill(env.adminUser);
  await password.fill("not the password");
  await password.press("Enter");
  await expect(page.getByRole("alert").filter({ hasText: "Wrong username or password." })).toBeVisible();
  await screenshot(page, "09-sign-in-wrong-password");
  await password.fill(env.adminPassword);
  await password.press("Enter");
  await expect(page.getByRole("heading", { name: "Dashboard", level: 1 })).toBeVisible();
  await expect(page.getByRole("banner").getByText("admin", { exact: true })).toBeVisible();

  // The first Tab reaches the skip link, which moves the focus to the page.
  await page.keyboard.press("Tab");
  await expect(page.getByRole("link", { name: "Skip to content" })).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page.locator("main#main")).toBeFocused();

  const nav = page.getByRole("navigation", { name: "Main" });
  await nav.getByRole("link", { name: "Users & keys" }).focus();
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { name: "Users & keys", level: 1 })).toBeVisible();
  await expect(nav.getByRole("link", { name: "Users & keys" })).toHaveAttribute("aria-current", "page");
  await screenshot(page, "10-coming-page-admin");
});

test("unknown addresses under /admin/ load the app, which says there is no such page", async ({ page }) => {
  const api = await newRequest.newContext({ baseURL: test.info().project.use.baseURL! });
  const r = await api.get("/admin/no/such/page");
  expect(r.status()).toBe(200);
  expect(r.headers()["content-security-policy"]).toContain("script-src 'self'");
  await api.dispose();
  await page.goto("/admin/no/such/page");
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
});
