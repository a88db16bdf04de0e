// @vitest-environment jsdom
import { act, renderHook } from "@testing-library/react";
import { describe, expect, it } from "vitest";

import { defaultRefresh, describeRefresh, parseRefresh, refetchInterval, RefreshStore, useRefetchInterval } from "./refresh";

function memoryStorage(initial: Record<string, string> = {}) {
  const m = new Map(Object.entries(initial));
  return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v), map: m };
}

describe("refresh settings", () => {
  it("reads what was stored, field by field", () => {
    expect(parseRefresh(null)).toEqual(defaultRefresh);
    expect(parseRefresh("not json")).toEqual(defaultRefresh);
    expect(parseRefresh('{"intervalMs":2000,"paused":true}')).toEqual({ intervalMs: 2000, paused: true });
    expect(parseRefresh('{"intervalMs":1234,"paused":true}')).toEqual({ intervalMs: 5000, paused: true });
    expect(parseRefresh('{"intervalMs":10000,"paused":"yes"}')).toEqual({ intervalMs: 10000, paused: false });
  });

  it("gives queries no interval while paused", () => {
    expect(refetchInterval({ intervalMs: 2000, paused: false })).toBe(2000);
    expect(refetchInterval({ intervalMs: 2000, paused: true })).toBe(false);
    expect(describeRefresh({ intervalMs: 10000, paused: false })).toBe("Updating every 10 s");
    expect(describeRefresh({ intervalMs: 10000, paused: true })).toBe("Live updates paused");
  });

  it("keeps changes and tells the components that read them", () => {
    const storage = memoryStorage();
    const store = new RefreshStore(storage);
    const { result } = renderHook(() => useRefetchInterval(store));
    expect(result.current).toBe(5000);
    act(() => store.togglePaused());
    expect(result.current).toBe(false);
    act(() => store.set({ intervalMs: 2000 }));
    expect(result.current).toBe(false);
    act(() => store.togglePaused());
    expect(result.current).toBe(2000);
    expect(new RefreshStore(storage).get()).toEqual({ intervalMs: 2000, paused: false });
  });

  it("works without storage", () => {
    const store = new RefreshStore({
      getItem: () => {
        throw new Error("denied");
      },
      setItem: () => {
        throw new Error("denied");
      },
    });
    store.togglePaused();
    expect(store.get().paused).toBe(true);
  });
});
