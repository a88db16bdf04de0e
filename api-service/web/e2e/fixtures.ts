// What every spec shares: the system's addresses and accounts, an API
// client for the data the specs need, sign-in through the provider, a
// watch on Content-Security-Policy violations, and screenshots.
import { mkdirSync } from "node:fs";
import { join } from "node:path";

import { test as base, expect, type APIRequestContext, type Page } from "@playwright/test";

export const env = {
  adminUser: process.env.E2E_ADMIN_USER ?? "admin",
  adminPassword: process.env.E2E_ADMIN_PASSWORD ?? "admin-password",
  provider: process.env.E2E_PROVIDER ?? "localhost:8091",
  screenshots: process.env.E2E_SCREENSHOTS ?? join(import.meta.dirname, "..", "..", "..", "test-artifacts", "screenshots"),
};

/** The development provider's users (deploy/dev-oidc/users.json). */
export const people = {
  operator: { username: "operator", password: "public-dev-password-operator" },
  viewer: { username: "viewer", password: "public-dev-password-viewer" },
  admin: { username: "admin", password: "public-dev-password-admin" },
};

/** screenshot writes the page to the screenshots folder, for people to look at. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(env.screenshots, { recursive: true });
  await page.screenshot({ path: join(env.screenshots, `${name}.png`), fullPage: true });
}

/** signInThroughProvider signs in on the provider's form, from the UI's sign-in page. */
export async function signInThroughProvider(page: Page, who: { username: string; password: string }): Promise<void> {
  await page.getByRole("link", { name: `Sign in with ${env.provider}` }).click();
  await page.getByLabel("Username", { exact: true }).fill(who.username);
  await page.getByLabel("Password", { exact: true }).fill(who.password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** API is what the specs create their data with: the local admin's bearer token. */
export class API {
  constructor(
    private readonly request: APIRequestContext,
    private readonly token: string,
  ) {}

  static async signIn(request: APIRequestContext): Promise<API> {
    const r = await request.post("/auth/token", {
      form: { grant_type: "password", username: env.adminUser, password: env.adminPassword },
    });
    expect(r.ok(), `POST /auth/token: ${r.status()} ${await r.text()}`).toBe(true);
    return new API(request, ((await r.json()) as { access_token: string }).access_token);
  }

  async call<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const r = await this.request.fetch(path, {
      method,
      headers: { Authorization: `Bearer ${this.token}`, ...headers },
      ...(body === undefined ? {} : typeof body === "string" ? { data: body } : { data: body }),
    });
    expect(r.ok(), `${method} ${path}: ${r.status()} ${await r.text()}`).toBe(true);
    return (r.status() === 204 ? undefined : await r.json()) as T;
  }

  /** importCustomers adds n customers with the tag, by CSV import. */
  async importCustomers(n: number, tag: string, phoneBase: number): Promise<void> {
    const rows = Array.from({ length: n }, (_, i) => `7${String(phoneBase + i).padStart(10, "0")},${tag}`);
    await this.call("POST", "/api/customers/import?on_conflict=skip", ["phone,tags", ...rows].join("\n") + "\n", { "Content-Type": "text/csv" });
  }

  async createMailout(m: { text: string; startInS: number; endInS: number; tags: string[] }): Promise<{ id: number }> {
    const now = Date.now();
    return this.call("POST", "/api/mailouts", {
      text: m.text,
      start_at: new Date(now + m.startInS * 1000).toISOString(),
      end_at: new Date(now + m.endInS * 1000).toISOString(),
      filter: { tags: m.tags },
    });
  }
}

/** Every test fails when the page reported a Content-Security-Policy violation. */
export const test = base.extend<{ csp: string[] }>({
  csp: [
    async ({ page }, use) => {
      const violations: string[] = [];
      page.on("console", (msg) => {
        if (/Content Security Policy|Content-Security-Policy/i.test(msg.text())) violations.push(msg.text());
      });
      await page.exposeFunction("__cspViolation", (v: string) => violations.push(v));
      await page.addInitScript(() => {
        document.addEventListener("securitypolicyviolation", (e) => {
          (window as unknown as { __cspViolation: (v: string) => void }).__cspViolation(
            `${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`,
          );
        });
      });
      await use(violations);
      expect(violations, "Content-Security-Policy violations").toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };
