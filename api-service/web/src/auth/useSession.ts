import { useQuery } from "@tanstack/react-query";

import { sessionQuery, type Principal } from "../api/queries";
import { canAdminister, canChange } from "./roles";

export interface SessionView {
  principal: Principal | null | undefined;
  /** The person may change things (operator or admin): action buttons show. */
  canChange: boolean;
  canAdminister: boolean;
}

/** useSession is who is signed in, as the signed-in layout made sure of. */
export function useSession(): SessionView {
  const { data } = useQuery(sessionQuery);
  return { principal: data, canChange: canChange(data?.role), canAdminister: canAdminister(data?.role) };
}
