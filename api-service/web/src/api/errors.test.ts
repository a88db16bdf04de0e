import { describe, expect, it } from "vitest";

import { ApiError, apiErrorFrom, describeError, networkError, toApiError } from "./errors";

function response(status: number, headers: Record<string, string> = {}, statusText = ""): Response {
  return new Response(null, { status, headers, statusText });
}

describe("apiErrorFrom", () => {
  it("reads the API's error shape with its fields", () => {
    const e = apiErrorFrom(response(400), {
      error: { code: "invalid", message: "validation failed", fields: { phone: "must match 7XXXXXXXXXX" } },
    });
    expect(e).toBeInstanceOf(ApiError);
    expect(e.status).toBe(400);
    expect(e.code).toBe("invalid");
    expect(e.message).toBe("validation failed");
    expect(e.fields).toEqual({ phone: "must match 7XXXXXXXXXX" });
    expect(e.hasFieldErrors).toBe(true);
  });

  it("reads Retry-After in seconds and as a date", () => {
    expect(apiErrorFrom(response(429, { "Retry-After": "3" }), { error: { code: "too_many_requests", message: "slow down" } }).retryAfter).toBe(3);
    const later = new Date(Date.now() + 10_000).toUTCString();
    const s = apiErrorFrom(response(503, { "Retry-After": later }), null).retryAfter;
    expect(s).toBeGreaterThanOrEqual(8);
    expect(s).toBeLessThanOrEqual(11);
  });

  it("names the status when the body is not the error shape", () => {
    const e = apiErrorFrom(response(502, {}, "Bad Gateway"), "<html>proxy error</html>");
    expect(e.code).toBe("server_error");
    expect(e.message).toBe("HTTP 502 Bad Gateway");
    expect(e.hasFieldErrors).toBe(false);
    expect(apiErrorFrom(response(404), undefined).code).toBe("not_found");
    expect(apiErrorFrom(response(500), "database is down").message).toBe("database is down");
  });

  it("flags a lost session", () => {
    expect(apiErrorFrom(response(401), { error: { code: "unauthorized", message: "no credentials" } }).unauthorized).toBe(true);
  });
});

describe("toApiError", () => {
  it("keeps ApiErrors and turns the rest into network errors", () => {
    const e = new ApiError({ status: 409, code: "conflict", message: "busy" });
    expect(toApiError(e)).toBe(e);
    const net = toApiError(new TypeError("Failed to fetch"));
    expect(net.status).toBe(0);
    expect(net.code).toBe("network");
    expect(toApiError(new DOMException("aborted", "AbortError")).code).toBe("aborted");
  });
});

describe("describeError", () => {
  it("titles each kind and keeps the API's message", () => {
    expect(describeError(new ApiError({ status: 403, code: "forbidden", message: "needs the operator role" }))).toEqual({
      title: "Not allowed",
      message: "needs the operator role",
    });
    expect(describeError(new ApiError({ status: 409, code: "conflict", message: "the mailout is finished" })).title).toBe("Conflict");
    expect(describeError(new ApiError({ status: 500, code: "internal", message: "internal error" })).title).toBe("Server error");
    expect(describeError(networkError(new TypeError("x"))).title).toBe("No connection");
    expect(describeError(new ApiError({ status: 401, code: "unauthorized", message: "x" })).title).toBe("Signed out");
  });

  it("lists field errors when a toast is all there is", () => {
    const d = describeError(new ApiError({ status: 400, code: "invalid", message: "validation failed", fields: { end_at: "must be after start_at" } }));
    expect(d).toEqual({ title: "Not accepted", message: "validation failed (end_at: must be after start_at)" });
  });

  it("says when to retry", () => {
    const d = describeError(new ApiError({ status: 429, code: "too_many_requests", message: "too many login attempts; retry later", retryAfter: 2 }));
    expect(d.message).toBe("too many login attempts; retry later Try again in 2 s.");
  });
});
