import { describe, expect, it, vi } from "vitest";

import { ApiError } from "./errors";
import { csrfHeader, data, newClient, readCookie } from "./client";

function recorder(status = 200, body: unknown = {}) {
  const requests: Request[] = [];
  const fetch = vi.fn(async (input: Request) => {
    requests.push(input);
    return new Response(status === 204 ? null : JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
  });
  return { requests, fetch: fetch as unknown as typeof globalThis.fetch };
}

describe("readCookie", () => {
  it("finds a cookie among others", () => {
    expect(readCookie("mailing_csrf", "a=1; mailing_csrf=tok%3Den; b=2")).toBe("tok=en");
    expect(readCookie("mailing_csrf", "a=1")).toBeUndefined();
    expect(readCookie("mailing_csrf", "")).toBeUndefined();
  });
});

describe("the client", () => {
  it("sends the CSRF token with changes only", async () => {
    const r = recorder();
    const client = newClient({ baseUrl: "http://ui.test", fetch: r.fetch, cookies: () => "mailing_csrf=abc" });
    await client.GET("/api/mailouts", { params: { query: { status: ["running", "paused"] } } });
    await client.POST("/api/mailouts/{id}/pause", { params: { path: { id: 7 } } });
    expect(r.requests[0]?.headers.get(csrfHeader)).toBeNull();
    expect(new URL(r.requests[0]!.url).search).toBe("?status=running&status=paused");
    expect(r.requests[1]?.method).toBe("POST");
    expect(r.requests[1]?.headers.get(csrfHeader)).toBe("abc");
    expect(new URL(r.requests[1]!.url).pathname).toBe("/api/mailouts/7/pause");
  });

  it("reports a lost session on an /api 401, not on /auth", async () => {
    const lost = vi.fn();
    const r = recorder(401, { error: { code: "unauthorized", message: "no credentials" } });
    const client = newClient({ baseUrl: "http://ui.test", fetch: r.fetch, cookies: () => "", onUnauthorized: lost });
    await client.GET("/auth/session");
    expect(lost).not.toHaveBeenCalled();
    await client.GET("/api/mailouts");
    expect(lost).toHaveBeenCalledOnce();
  });
});

describe("data", () => {
  it("returns the data of a success", async () => {
    const r = recorder(200, { items: [{ id: 1 }], next: null });
    const client = newClient({ baseUrl: "http://ui.test", fetch: r.fetch, cookies: () => "" });
    await expect(data(client.GET("/api/mailouts"))).resolves.toEqual({ items: [{ id: 1 }], next: null });
  });

  it("throws the API's error", async () => {
    const r = recorder(409, { error: { code: "conflict", message: "the mailout is finished" } });
    const client = newClient({ baseUrl: "http://ui.test", fetch: r.fetch, cookies: () => "" });
    const err = await data(client.POST("/api/mailouts/{id}/pause", { params: { path: { id: 3 } } })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(409);
    expect((err as ApiError).message).toBe("the mailout is finished");
  });

  it("throws a network error when nothing answers", async () => {
    const client = newClient({
      baseUrl: "http://ui.test",
      fetch: (async () => {
        throw new TypeError("Failed to fetch");
      }) as unknown as typeof fetch,
      cookies: () => "",
    });
    const err = await data(client.GET("/api/mailouts")).catch((e: unknown) => e);
    expect((err as ApiError).status).toBe(0);
    expect((err as ApiError).code).toBe("network");
  });
});
