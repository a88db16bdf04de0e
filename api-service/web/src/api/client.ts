// The UI's only way to the API: an openapi-fetch client typed by the
// generated description (schema.gen.ts), sending the browser session's
// cookie, and the CSRF token on every change, as any browser client of the
// public API must (README, "Browser sessions").

import createClient, { type Client, type Middleware } from "openapi-fetch";

import { apiErrorFrom, networkError } from "./errors";
import type { paths } from "./schema.gen";

export type { paths, components } from "./schema.gen";

/** The readable cookie holding the session's CSRF token. */
export const csrfCookie = "mailing_csrf";
/** The header changes made with the session cookie must carry. */
export const csrfHeader = "X-CSRF-Token";

const changing = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** readCookie returns a cookie's value from a document.cookie string. */
export function readCookie(name: string, cookies: string): string | undefined {
  for (const part of cookies.split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return decodeURIComponent(v.join("="));
  }
  return undefined;
}

export interface ClientOptions {
  baseUrl: string;
  fetch?: typeof fetch;
  /** The cookies to read the CSRF token from; document.cookie by default. */
  cookies?: () => string;
  /** Called when an /api request is answered 401: the session is gone. */
  onUnauthorized?: () => void;
}

/** csrfAndSession adds the CSRF header to changes and reports a lost session. */
export function csrfAndSession(opts: Pick<ClientOptions, "cookies" | "onUnauthorized">): Middleware {
  const cookies = opts.cookies ?? (() => document.cookie);
  return {
    onRequest({ request }) {
      if (changing.has(request.method.toUpperCase())) {
        const token = readCookie(csrfCookie, cookies());
        if (token) request.headers.set(csrfHeader, token);
      }
      return request;
    },
    onResponse({ request, response }) {
      if (response.status === 401 && new URL(request.url).pathname.startsWith("/api")) opts.onUnauthorized?.();
      return response;
    },
  };
}

export type ApiClient = Client<paths>;

export function newClient(opts: ClientOptions): ApiClient {
  const client = createClient<paths>({
    baseUrl: opts.baseUrl,
    credentials: "same-origin",
    headers: { Accept: "application/json" },
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  });
  client.use(csrfAndSession(opts));
  return client;
}

/**
 * data awaits an openapi-fetch call and returns its data, or throws an
 * ApiError for a failed answer or none at all.
 */
export async function data<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await call;
  } catch (err) {
    throw networkError(err);
  }
  if (!result.response.ok) throw apiErrorFrom(result.response, result.error);
  return result.data as T;
}

let unauthorizedListener: (() => void) | undefined;

/** onSessionLost sets what happens when the API says the session is gone. */
export function onSessionLost(listener: () => void): void {
  unauthorizedListener = listener;
}

/** api is the client the pages use. */
export const api: ApiClient = newClient({
  baseUrl: typeof window === "undefined" ? "http://localhost" : window.location.origin,
  onUnauthorized: () => unauthorizedListener?.(),
});
