// Roles as the API has them: each includes the ones before it. The UI
// shows what a role may do and hides the rest; the API enforces it.

export const roles = ["viewer", "operator", "admin"] as const;
export type Role = (typeof roles)[number];

/** hasRole reports whether role includes needed (an admin is also an operator). */
export function hasRole(role: string | undefined, needed: Role): boolean {
  const have = roles.indexOf(role as Role);
  return have >= 0 && have >= roles.indexOf(needed);
}

/** canChange: operators and admins change customers, mailouts and reference data. */
export function canChange(role: string | undefined): boolean {
  return hasRole(role, "operator");
}

/** canAdminister: admins manage users, keys and settings and read the audit trail. */
export function canAdminister(role: string | undefined): boolean {
  return hasRole(role, "admin");
}
