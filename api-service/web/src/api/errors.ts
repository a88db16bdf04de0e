// One error type for everything the API (or the way to it) can answer, so
// pages show problems the same way: a toast with a title and a message,
// and field errors beside the fields of a form.

import type { components } from "./schema.gen";

type ErrorBody = components["schemas"]["internal_httpapi.ErrorBody"];

export class ApiError extends Error {
  /** HTTP status; 0 when no answer came (network down, API stopped). */
  readonly status: number;
  /** The API's error code ("invalid", "not_found", ...), or a status's name. */
  readonly code: string;
  /** Field name → what is wrong with it, for 400s with fields. */
  readonly fields: Record<string, string>;
  /** Seconds to wait before retrying, from Retry-After. */
  readonly retryAfter: number | undefined;

  constructor(init: { status: number; code: string; message: string; fields?: Record<string, string>; retryAfter?: number | undefined }) {
    super(init.message);
    this.name = "ApiError";
    this.status = init.status;
    this.code = init.code;
    this.fields = init.fields ?? {};
    this.retryAfter = init.retryAfter;
  }

  get unauthorized(): boolean {
    return this.status === 401;
  }

  /** hasFieldErrors tells a form to show the errors beside its fields. */
  get hasFieldErrors(): boolean {
    return Object.keys(this.fields).length > 0;
  }
}

const statusCodes: Record<number, string> = {
  400: "invalid",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  409: "conflict",
  413: "too_large",
  415: "unsupported_media_type",
  422: "unprocessable",
  429: "too_many_requests",
  503: "unavailable",
};

function isErrorBody(body: unknown): body is Required<ErrorBody> {
  return typeof body === "object" && body !== null && typeof (body as ErrorBody).error === "object" && (body as ErrorBody).error !== null;
}

function retryAfterSeconds(response: Response): number | undefined {
  const v = response.headers.get("Retry-After");
  if (!v) return undefined;
  const n = Number(v);
  if (Number.isFinite(n) && n >= 0) return Math.ceil(n);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/**
 * apiErrorFrom turns a failed answer into an ApiError: the API's error
 * shape when the body has it, else something that still says what
 * happened (a proxy's 502 page, an empty 500).
 */
export function apiErrorFrom(response: Response, body: unknown): ApiError {
  const retryAfter = retryAfterSeconds(response);
  if (isErrorBody(body)) {
    const e = body.error;
    return new ApiError({
      status: response.status,
      code: e.code || statusCodes[response.status] || "error",
      message: e.message || response.statusText || `HTTP ${response.status}`,
      fields: e.fields ?? {},
      retryAfter,
    });
  }
  return new ApiError({
    status: response.status,
    code: statusCodes[response.status] ?? (response.status >= 500 ? "server_error" : "error"),
    message: typeof body === "string" && body.trim() && body.length < 200 && !body.includes("<") ? body.trim() : `HTTP ${response.status} ${response.statusText}`.trim(),
    retryAfter,
  });
}

/** networkError is the ApiError of a request that got no answer. */
export function networkError(cause: unknown): ApiError {
  const e = new ApiError({ status: 0, code: "network", message: "The API cannot be reached." });
  (e as { cause?: unknown }).cause = cause;
  return e;
}

/** toApiError makes an ApiError of anything a request can throw. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof DOMException && err.name === "AbortError") {
    return new ApiError({ status: 0, code: "aborted", message: "The request was cancelled." });
  }
  return networkError(err);
}

export interface ErrorMessage {
  title: string;
  message: string;
}

/**
 * describeError is what a toast says about an error: a short title by
 * kind, and the API's own message (which names what went wrong).
 */
export function describeError(err: unknown): ErrorMessage {
  const e = toApiError(err);
  const fields = Object.entries(e.fields)
    .map(([k, v]) => `${k}: ${v}`)
    .join("; ");
  const message = fields ? `${e.message} (${fields})` : e.message;
  switch (true) {
    case e.status === 0 && e.code === "network":
      return { title: "No connection", message: "The API cannot be reached. Check the connection; the page retries by itself." };
    case e.status === 0:
      return { title: "Cancelled", message };
    case e.status === 400:
      return { title: "Not accepted", message };
    case e.status === 401:
      return { title: "Signed out", message: "Your session has ended. Sign in again to go on." };
    case e.status === 403:
      return { title: "Not allowed", message };
    case e.status === 404:
      return { title: "Not found", message };
    case e.status === 409:
      return { title: "Conflict", message };
    case e.status === 429:
      return {
        title: "Too many requests",
        message: e.retryAfter != null ? `${message} Try again in ${e.retryAfter} s.` : message,
      };
    case e.status >= 500:
      return { title: "Server error", message: e.status === 503 && e.retryAfter != null ? `${message} Try again in ${e.retryAfter} s.` : message };
    default:
      return { title: `Error ${e.status}`, message };
  }
}
