// Keyset paging through the API's lists: each page's answer names the
// cursor of the next (`next`, null on the last page). The UI keeps the
// cursors of the pages before the current one, so it can go back without
// the API having to page backwards; all of it lives in the URL, so a page
// of a list is a link like any other.

export interface PageState {
  /** The cursor of the current page; undefined for the first. */
  after?: string | undefined;
  /** The cursors of the pages before the current one, oldest first ("" for the first page). */
  trail: string[];
}

export const firstPage: PageState = { trail: [] };

/** nextPage moves to the page after the current one, whose cursor the API gave. */
export function nextPage(s: PageState, next: string): PageState {
  return { after: next, trail: [...s.trail, s.after ?? ""] };
}

/** previousPage moves back one page; on the first page it stays. */
export function previousPage(s: PageState): PageState {
  if (s.trail.length === 0) return firstPage;
  const trail = s.trail.slice(0, -1);
  const after = s.trail[s.trail.length - 1];
  return after ? { after, trail } : { trail };
}

/** pageNumber is the current page's number, from 1. */
export function pageNumber(s: PageState): number {
  return s.trail.length + 1;
}

/** Search parameters of a paged list, as the URL holds them. */
export interface PageSearch {
  after?: string | undefined;
  trail?: string | undefined;
}

const cursor = /^[A-Za-z0-9_.:=-]{1,200}$/;

/** pageFromSearch reads the state from the URL, dropping what is not a cursor. */
export function pageFromSearch(search: PageSearch): PageState {
  const after = search.after && cursor.test(search.after) ? search.after : undefined;
  const trail = after && search.trail != null ? search.trail.split(",").filter((c) => c === "" || cursor.test(c)) : [];
  // Without a cursor this is the first page, whatever the trail says.
  return after ? { after, trail: trail.length ? trail : [""] } : firstPage;
}

/** pageToSearch writes the state for the URL. */
export function pageToSearch(s: PageState): PageSearch {
  return s.after ? { after: s.after, trail: s.trail.join(",") } : {};
}
