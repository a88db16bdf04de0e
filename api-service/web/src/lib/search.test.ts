import { describe, expect, it } from "vitest";

import { parseSearch, stringifySearch } from "./search";

describe("search strings", () => {
  it("write lists as repeated keys", () => {
    expect(stringifySearch({ status: ["running", "paused"], limit: 20 })).toBe("?status=running&status=paused&limit=20");
    expect(stringifySearch({ redirect: "/mailouts?status=running" })).toBe("?redirect=%2Fmailouts%3Fstatus%3Drunning");
    expect(stringifySearch({ after: undefined, trail: "", status: [] })).toBe("");
  });
  it("read repeated keys as lists and the rest as strings", () => {
    expect(parseSearch("?status=running&status=paused&limit=20")).toEqual({ status: ["running", "paused"], limit: "20" });
    expect(parseSearch("status=running")).toEqual({ status: "running" });
    expect(parseSearch("")).toEqual({});
  });
  it("round-trip", () => {
    const s = { status: ["scheduled", "running"], after: "120", trail: ",50" };
    expect(parseSearch(stringifySearch(s))).toEqual(s);
  });
});
