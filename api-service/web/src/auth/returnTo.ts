// Where the browser goes back to after signing in: a path of this app,
// kept in the sign-in page's ?redirect=. Only paths under the app's base
// are accepted, so the sign-in page cannot be made to send anyone
// elsewhere (the API checks return_to the same way).

export const basePath = "/admin";

/** safeRedirect returns a path of the app ("/mailouts?status=running"), or "/" for anything else. */
export function safeRedirect(redirect: unknown): string {
  if (typeof redirect !== "string" || !redirect.startsWith("/") || redirect.startsWith("//") || redirect.includes("\\")) return "/";
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(redirect)) return "/";
  if (redirect === "/signin" || redirect.startsWith("/signin?") || redirect.startsWith("/signin/")) return "/";
  return redirect;
}

/** serverPath is the app path as the server knows it, for the API's return_to. */
export function serverPath(appPath: string): string {
  return basePath + (appPath === "/" ? "/" : appPath);
}

/** oidcLoginHref is the provider sign-in link that comes back to appPath. */
export function oidcLoginHref(loginURL: string, appPath: string): string {
  const sep = loginURL.includes("?") ? "&" : "?";
  return `${loginURL}${sep}return_to=${encodeURIComponent(serverPath(safeRedirect(appPath)))}`;
}
