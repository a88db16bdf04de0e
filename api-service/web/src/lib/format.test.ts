import { describe, expect, it } from "vitest";

import {
  formatCompact,
  formatCount,
  formatDateTime,
  formatDuration,
  formatPercent,
  formatRate,
  formatRelative,
  startOfDay,
} from "./format";

describe("formatCount", () => {
  it("separates thousands and rounds", () => {
    expect(formatCount(0)).toBe("0");
    expect(formatCount(1250)).toBe("1,250");
    expect(formatCount(1000000)).toBe("1,000,000");
    expect(formatCount(2.6)).toBe("3");
  });
  it("writes a dash for what is unknown", () => {
    expect(formatCount(undefined)).toBe("—");
    expect(formatCount(null)).toBe("—");
    expect(formatCount(Number.NaN)).toBe("—");
  });
  it("compacts large numbers", () => {
    expect(formatCompact(950)).toBe("950");
    expect(formatCompact(12_300)).toBe("12.3K");
    expect(formatCompact(1_250_000)).toBe("1.3M");
  });
});

describe("formatPercent", () => {
  it("never shows an unfinished job as done", () => {
    expect(formatPercent(0.9999)).toBe("99.9%");
    expect(formatPercent(1)).toBe("100%");
  });
  it("keeps one decimal and clamps", () => {
    expect(formatPercent(0)).toBe("0%");
    expect(formatPercent(0.885)).toBe("88.5%");
    expect(formatPercent(0.12345)).toBe("12.3%");
    expect(formatPercent(1.5)).toBe("100%");
    expect(formatPercent(-0.2)).toBe("0%");
    expect(formatPercent(undefined)).toBe("—");
  });
});

describe("formatRate", () => {
  it("writes messages per second", () => {
    expect(formatRate(0)).toBe("0/s");
    expect(formatRate(undefined)).toBe("0/s");
    expect(formatRate(0.43)).toBe("0.4/s");
    expect(formatRate(9.96)).toBe("10/s");
    expect(formatRate(12.4)).toBe("12/s");
    expect(formatRate(3412.5)).toBe("3,413/s");
  });
});

describe("times", () => {
  const now = new Date(2026, 10, 28, 12, 0, 0);
  it("writes today's times as the time of day", () => {
    expect(formatDateTime(new Date(2026, 10, 28, 9, 5).toISOString(), now)).toBe("today 09:05");
    expect(formatDateTime(new Date(2026, 11, 1, 9, 0).toISOString(), now)).toBe("2026-12-01 09:00");
    expect(formatDateTime(undefined, now)).toBe("—");
    expect(formatDateTime("not a time", now)).toBe("—");
  });
  it("writes relative times both ways", () => {
    const at = (seconds: number) => new Date(now.getTime() + seconds * 1000).toISOString();
    expect(formatRelative(at(2), now)).toBe("now");
    expect(formatRelative(at(30), now)).toBe("in 30 s");
    expect(formatRelative(at(-30), now)).toBe("30 s ago");
    expect(formatRelative(at(5 * 60 + 20), now)).toBe("in 5 min");
    expect(formatRelative(at(-3 * 3600 - 100), now)).toBe("3 h ago");
    expect(formatRelative(at(3 * 86400 + 3600), now)).toBe("in 3 d");
  });
  it("writes durations shortly", () => {
    expect(formatDuration(44.6)).toBe("45 s");
    expect(formatDuration(12 * 60 + 5)).toBe("12 min");
    expect(formatDuration(3 * 3600)).toBe("3 h");
    expect(formatDuration(3 * 3600 + 20 * 60)).toBe("3 h 20 min");
    expect(formatDuration(2 * 86400 + 4 * 3600)).toBe("2 d 4 h");
    expect(formatDuration(-1)).toBe("—");
  });
  it("finds local midnight", () => {
    expect(startOfDay(now)).toEqual(new Date(2026, 10, 28));
  });
});
