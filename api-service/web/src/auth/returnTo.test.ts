import { describe, expect, it } from "vitest";

import { oidcLoginHref, safeRedirect, serverPath } from "./returnTo";

describe("safeRedirect", () => {
  it("keeps paths of the app", () => {
    expect(safeRedirect("/mailouts?status=running")).toBe("/mailouts?status=running");
    expect(safeRedirect("/")).toBe("/");
  });
  it("refuses anything that could leave the site or loop", () => {
    for (const bad of ["//evil.example/x", "https://evil.example/", "/\\evil", "evil", "", "/a\nb", "/signin", "/signin?redirect=/x", undefined, 42]) {
      expect(safeRedirect(bad)).toBe("/");
    }
  });
});

describe("the provider link", () => {
  it("asks the API to come back to the page under /admin", () => {
    expect(serverPath("/")).toBe("/admin/");
    expect(serverPath("/mailouts")).toBe("/admin/mailouts");
    expect(oidcLoginHref("/auth/oidc/login", "/mailouts?status=paused")).toBe("/auth/oidc/login?return_to=%2Fadmin%2Fmailouts%3Fstatus%3Dpaused");
    expect(oidcLoginHref("/auth/oidc/login?x=1", "//evil")).toBe("/auth/oidc/login?x=1&return_to=%2Fadmin%2F");
  });
});
