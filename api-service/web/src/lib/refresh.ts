// Live updates: pages that show figures in motion (the dashboard, lists)
// refetch them every few seconds without a reload. One setting for the
// whole UI, kept in localStorage: an interval, and whether updates are
// paused, like River UI's refresh control. While paused nothing is
// refetched on a timer; a page's own actions still refresh what they
// change.

import { useSyncExternalStore } from "react";

/** The intervals offered, in milliseconds. */
export const refreshIntervals = [2000, 5000, 10000, 30000] as const;
export type RefreshInterval = (typeof refreshIntervals)[number];

export interface RefreshSettings {
  intervalMs: RefreshInterval;
  paused: boolean;
}

export const defaultRefresh: RefreshSettings = { intervalMs: 5000, paused: false };

const storageKey = "mailing.refresh";

/** parseRefresh reads stored settings, falling back field by field. */
export function parseRefresh(raw: string | null): RefreshSettings {
  if (!raw) return defaultRefresh;
  try {
    const v = JSON.parse(raw) as Partial<Record<keyof RefreshSettings, unknown>>;
    const intervalMs = refreshIntervals.find((i) => i === v.intervalMs) ?? defaultRefresh.intervalMs;
    const paused = typeof v.paused === "boolean" ? v.paused : defaultRefresh.paused;
    return { intervalMs, paused };
  } catch {
    return defaultRefresh;
  }
}

/** refetchInterval is what TanStack Query's refetchInterval gets. */
export function refetchInterval(s: RefreshSettings): number | false {
  return s.paused ? false : s.intervalMs;
}

/** describeRefresh says in words what the control does now. */
export function describeRefresh(s: RefreshSettings): string {
  return s.paused ? "Live updates paused" : `Updating every ${s.intervalMs / 1000} s`;
}

/** A store of the settings, shared by every component that reads them. */
export class RefreshStore {
  private settings: RefreshSettings;
  private readonly listeners = new Set<() => void>();
  private readonly storage: Pick<Storage, "getItem" | "setItem"> | undefined;

  constructor(storage?: Pick<Storage, "getItem" | "setItem">) {
    this.storage = storage;
    let raw: string | null = null;
    try {
      raw = storage?.getItem(storageKey) ?? null;
    } catch {
      // Storage refused (private mode): the defaults hold for this page.
    }
    this.settings = parseRefresh(raw);
  }

  get = (): RefreshSettings => this.settings;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  set(change: Partial<RefreshSettings>): void {
    const next = { ...this.settings, ...change };
    if (next.intervalMs === this.settings.intervalMs && next.paused === this.settings.paused) return;
    this.settings = next;
    try {
      this.storage?.setItem(storageKey, JSON.stringify(next));
    } catch {
      // Not kept across reloads; it still applies now.
    }
    for (const l of this.listeners) l();
  }

  togglePaused(): void {
    this.set({ paused: !this.settings.paused });
  }
}

export const refreshStore = new RefreshStore(typeof localStorage === "undefined" ? undefined : localStorage);

/** useRefresh gives a component the settings and re-renders it when they change. */
export function useRefresh(store: RefreshStore = refreshStore): RefreshSettings {
  return useSyncExternalStore(store.subscribe, store.get, store.get);
}

/** useRefetchInterval is the refetchInterval for a live query. */
export function useRefetchInterval(store: RefreshStore = refreshStore): number | false {
  return refetchInterval(useRefresh(store));
}
