// How the UI writes numbers, rates and times. One place, so that every
// page says "1,250" and "in 5 min" the same way. Times are shown in the
// browser's time zone; the API speaks UTC.

// Numbers use Intl only for digit grouping, which every engine does the
// same way; dates and relative times are written here, so the browser, the
// tests and every ICU version agree on them.
const integer = new Intl.NumberFormat("en-GB", { maximumFractionDigits: 0, useGrouping: true });

function oneDecimal(n: number): string {
  const r = Math.round(n * 10) / 10;
  return Number.isInteger(r) ? integer.format(r) : `${integer.format(Math.trunc(r))}.${Math.round(Math.abs(r * 10)) % 10}`;
}

/** formatCount writes a count with thousands separators: 1,250. */
export function formatCount(n: number | null | undefined): string {
  if (n == null || !Number.isFinite(n)) return "—";
  return integer.format(n);
}

/** formatCompact writes a large count shortly: 1.3M, 12K, 950. */
export function formatCompact(n: number | null | undefined): string {
  if (n == null || !Number.isFinite(n)) return "—";
  const a = Math.abs(n);
  if (a >= 1e9) return `${oneDecimal(n / 1e9)}B`;
  if (a >= 1e6) return `${oneDecimal(n / 1e6)}M`;
  if (a >= 1e4) return `${oneDecimal(n / 1e3)}K`;
  return integer.format(n);
}

/**
 * formatPercent writes a ratio (0..1) as a percentage with one decimal
 * below 100 %, never rounding an unfinished job up to 100 %.
 */
export function formatPercent(ratio: number | null | undefined): string {
  if (ratio == null || !Number.isFinite(ratio)) return "—";
  const pct = Math.max(0, Math.min(1, ratio)) * 100;
  if (pct >= 100) return "100%";
  const rounded = Math.floor(pct * 10) / 10;
  return `${oneDecimal(rounded)}%`;
}

/** formatRate writes messages per second: "0/s", "0.4/s", "12/s", "3,412/s". */
export function formatRate(perSecond: number | null | undefined): string {
  if (perSecond == null || !Number.isFinite(perSecond) || perSecond <= 0) return "0/s";
  if (perSecond < 9.95) return `${oneDecimal(perSecond)}/s`;
  return `${integer.format(perSecond)}/s`;
}

const pad = (n: number) => String(n).padStart(2, "0");

function parse(iso: string | null | undefined): Date | null {
  if (!iso) return null;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

function sameDay(a: Date, b: Date): boolean {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

/** formatDateTime writes a time in the browser's zone; only the time of day for today. */
export function formatDateTime(iso: string | null | undefined, now: Date = new Date()): string {
  const d = parse(iso);
  if (!d) return "—";
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return sameDay(d, now) ? `today ${time}` : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
}

/** formatClock writes the time of day with seconds, for "updated at". */
export function formatClock(d: Date): string {
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** formatRelative writes how far a time is from now: "in 5 min", "3 h ago", "now". */
export function formatRelative(iso: string | null | undefined, now: Date = new Date()): string {
  const d = parse(iso);
  if (!d) return "—";
  const seconds = (d.getTime() - now.getTime()) / 1000;
  if (Math.abs(seconds) < 5) return "now";
  const span = formatDuration(Math.abs(seconds)).split(" ").slice(0, 2).join(" ");
  return seconds > 0 ? `in ${span}` : `${span} ago`;
}

/** formatDuration writes a span of seconds shortly: "45 s", "12 min", "3 h 20 min", "2 d 4 h". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds) || seconds < 0) return "—";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

/** startOfDay is local midnight of the day d falls on, for "today's" figures. */
export function startOfDay(d: Date): Date {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate());
}
