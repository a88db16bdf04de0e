import { describe, expect, it } from "vitest";

import { canAdminister, canChange, hasRole } from "./roles";

describe("roles", () => {
  it("include the ones before them", () => {
    expect(hasRole("admin", "viewer")).toBe(true);
    expect(hasRole("operator", "operator")).toBe(true);
    expect(hasRole("operator", "admin")).toBe(false);
    expect(hasRole("viewer", "operator")).toBe(false);
  });
  it("give nothing to an unknown role", () => {
    expect(hasRole("root", "viewer")).toBe(false);
    expect(hasRole(undefined, "viewer")).toBe(false);
  });
  it("decide what the UI offers", () => {
    expect([canChange("viewer"), canChange("operator"), canChange("admin")]).toEqual([false, true, true]);
    expect([canAdminister("viewer"), canAdminister("operator"), canAdminister("admin")]).toEqual([false, false, true]);
  });
});
