// The URL's query string as people and the API write it: repeated keys for
// lists (?status=running&status=paused), plain values otherwise; not the
// router's default JSON (?status=%5B%22running%22%5D). Pages validate what
// they read (a lone value where they expect a list is a list of one).

export type SearchValue = string | number | boolean | (string | number)[] | undefined | null;

/** parseSearch reads "?a=1&s=x&s=y" into { a: "1", s: ["x", "y"] }. */
export function parseSearch(search: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of new URLSearchParams(search.startsWith("?") ? search.slice(1) : search)) {
    const have = out[k];
    out[k] = have === undefined ? v : Array.isArray(have) ? [...have, v] : [have, v];
  }
  return out;
}

/** stringifySearch writes { s: ["x", "y"], a: 1 } as "?s=x&s=y&a=1", leaving out empty values. */
export function stringifySearch(search: Record<string, unknown>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(search)) {
    if (v === undefined || v === null || v === "") continue;
    if (Array.isArray(v)) {
      for (const item of v) p.append(k, String(item));
    } else {
      p.append(k, String(v));
    }
  }
  const s = p.toString();
  return s ? `?${s}` : "";
}
