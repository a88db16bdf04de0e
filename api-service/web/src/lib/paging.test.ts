import { describe, expect, it } from "vitest";

import { firstPage, nextPage, pageFromSearch, pageNumber, pageToSearch, previousPage } from "./paging";

describe("keyset paging", () => {
  it("walks forward and back through the cursors the API gave", () => {
    const p2 = nextPage(firstPage, "50");
    const p3 = nextPage(p2, "100");
    expect(pageNumber(firstPage)).toBe(1);
    expect(pageNumber(p3)).toBe(3);
    expect(p3).toEqual({ after: "100", trail: ["", "50"] });
    expect(previousPage(p3)).toEqual(p2);
    expect(previousPage(p2)).toEqual(firstPage);
    expect(previousPage(firstPage)).toEqual(firstPage);
  });

  it("round-trips through the URL", () => {
    const p3 = nextPage(nextPage(firstPage, "50"), "100");
    expect(pageToSearch(firstPage)).toEqual({});
    expect(pageToSearch(p3)).toEqual({ after: "100", trail: ",50" });
    expect(pageFromSearch(pageToSearch(p3))).toEqual(p3);
    expect(pageFromSearch({})).toEqual(firstPage);
  });

  it("treats a hand-made URL kindly", () => {
    // A cursor without its trail: back goes to the first page.
    expect(previousPage(pageFromSearch({ after: "70" }))).toEqual(firstPage);
    // A trail without a cursor is the first page.
    expect(pageFromSearch({ trail: ",50" })).toEqual(firstPage);
    // What is no cursor is dropped.
    expect(pageFromSearch({ after: "<script>" })).toEqual(firstPage);
    expect(pageFromSearch({ after: "100", trail: ",50,<x>" })).toEqual({ after: "100", trail: ["", "50"] });
  });
});
