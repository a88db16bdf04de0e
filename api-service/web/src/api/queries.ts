// The queries and changes the pages use, each in one place with its key,
// so that a change can invalidate exactly what it makes stale.

import { queryOptions } from "@tanstack/react-query";

import { api, csrfCookie, csrfHeader, data, readCookie, type components } from "./client";
import { ApiError } from "./errors";

export type Mailout = components["schemas"]["domain.Mailout"];
export type MailoutStatus = components["schemas"]["domain.MailoutStatus"];
export type MailoutStats = components["schemas"]["domain.MailoutStats"];
export type MessageStats = components["schemas"]["internal_httpapi.MessageStats"];
export type Principal = components["schemas"]["internal_httpapi.PrincipalResponse"];
export type Providers = components["schemas"]["internal_httpapi.ProvidersResponse"];

export const mailoutStatuses: MailoutStatus[] = ["scheduled", "running", "paused", "finished", "cancelled"];

export const keys = {
  session: ["session"] as const,
  providers: ["providers"] as const,
  mailouts: ["mailouts"] as const,
  mailoutList: (statuses: MailoutStatus[], limit: number, after?: string) => ["mailouts", "list", { statuses, limit, after }] as const,
  mailoutStats: (id: number) => ["mailouts", id, "stats"] as const,
  messageStats: (from?: string) => ["messages", "stats", { from }] as const,
};

/** sessionQuery is who is signed in; null when nobody is (a 401). */
export const sessionQuery = queryOptions({
  queryKey: keys.session,
  queryFn: async (): Promise<Principal | null> => {
    try {
      return await data(api.GET("/auth/session"));
    } catch (err) {
      if (err instanceof ApiError && err.unauthorized) return null;
      throw err;
    }
  },
  staleTime: 60_000,
  retry: false,
});

export const providersQuery = queryOptions({
  queryKey: keys.providers,
  queryFn: () => data(api.GET("/auth/providers")),
  staleTime: 5 * 60_000,
});

export function mailoutListQuery(statuses: MailoutStatus[], limit: number, after?: string) {
  return queryOptions({
    queryKey: keys.mailoutList(statuses, limit, after),
    queryFn: ({ signal }) =>
      data(
        api.GET("/api/mailouts", {
          params: { query: { ...(statuses.length ? { status: statuses } : {}), limit, ...(after ? { after } : {}) } },
          signal,
        }),
      ),
  });
}

export function mailoutStatsQuery(id: number) {
  return queryOptions({
    queryKey: keys.mailoutStats(id),
    queryFn: ({ signal }) => data(api.GET("/api/mailouts/{id}/stats", { params: { path: { id } }, signal })),
  });
}

/** messageStatsQuery is the totals over mailouts created since from (all when undefined). */
export function messageStatsQuery(from?: string) {
  return queryOptions({
    queryKey: keys.messageStats(from),
    queryFn: ({ signal }) =>
      data(api.GET("/api/messages/stats", { params: { query: { limit: 1, ...(from ? { created_from: from } : {}) } }, signal })),
  });
}

export async function signIn(username: string, password: string) {
  return data(api.POST("/auth/login", { body: { username, password } }));
}

/** signOut ends the session; the provider's end-session URL when there is one to follow. */
export async function signOut(): Promise<string | undefined> {
  const token = readCookie(csrfCookie, document.cookie) ?? "";
  const out = await data(api.POST("/auth/logout", { params: { header: { [csrfHeader]: token } } }));
  // 200 names the provider's end-session URL; 204 has no body.
  return out?.end_session_url || undefined;
}

export async function pauseMailout(id: number) {
  return data(api.POST("/api/mailouts/{id}/pause", { params: { path: { id } } }));
}

export async function resumeMailout(id: number) {
  return data(api.POST("/api/mailouts/{id}/resume", { params: { path: { id } } }));
}
