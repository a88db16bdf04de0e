// Every page of the UI and how one gets there. The signed-in pages sit
// under one layout route that makes sure of the session first; the
// sign-in page remembers where to go back to.

import { Center, Loader } from "@mantine/core";
import type { QueryClient } from "@tanstack/react-query";
import { createRootRouteWithContext, createRoute, createRouter, Outlet, redirect } from "@tanstack/react-router";

import { sessionQuery } from "./api/queries";
import { basePath, safeRedirect } from "./auth/returnTo";
import { parseSearch, stringifySearch } from "./lib/search";
import { Layout } from "./components/Layout";
import { ComingPage, NotFoundPage } from "./pages/Coming";
import { Dashboard } from "./pages/Dashboard";
import { MailoutsPage, validateMailoutsSearch } from "./pages/Mailouts";
import { SignInPage } from "./pages/SignIn";

export interface RouterContext {
  queryClient: QueryClient;
}

const rootRoute = createRootRouteWithContext<RouterContext>()({
  component: Outlet,
  notFoundComponent: NotFoundPage,
});

const signInRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "signin",
  validateSearch: (search: Record<string, unknown>): { redirect?: string } =>
    typeof search.redirect === "string" && safeRedirect(search.redirect) !== "/" ? { redirect: safeRedirect(search.redirect) } : {},
  component: function SignIn() {
    const { redirect: to } = signInRoute.useSearch();
    return <SignInPage redirect={to} />;
  },
});

/** The signed-in part: every page below needs a session. */
const appRoute = createRoute({
  getParentRoute: () => rootRoute,
  id: "app",
  beforeLoad: async ({ context, location }) => {
    const session = await context.queryClient.ensureQueryData(sessionQuery);
    if (!session) {
      throw redirect({ to: "/signin", search: location.href === "/" ? {} : { redirect: location.href } });
    }
    return { session };
  },
  pendingComponent: () => (
    <Center mih="100vh">
      <Loader aria-label="Loading" />
    </Center>
  ),
  component: function App() {
    const { session } = appRoute.useRouteContext();
    return <Layout session={session} />;
  },
});

const dashboardRoute = createRoute({ getParentRoute: () => appRoute, path: "/", component: Dashboard });

const mailoutsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "mailouts",
  validateSearch: validateMailoutsSearch,
  component: function Mailouts() {
    return <MailoutsPage search={mailoutsRoute.useSearch()} />;
  },
});

const newMailoutRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "mailouts/new",
  component: () => (
    <ComingPage title="New mailout">
      The form to write a mailout&apos;s text with a preview of it for real customers, choose its audience by tags and
      operator codes, set its start, end and send window, and send a test message before it starts.
    </ComingPage>
  ),
});

const mailoutRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "mailouts/$id",
  component: function Mailout() {
    const { id } = mailoutRoute.useParams();
    return (
      <ComingPage title={`Mailout ${id}`}>
        This mailout&apos;s details: its text and audience, charts of deliveries per minute, attempts and failures by
        reason, its messages, and the actions its status allows (pause, resume, retry, cancel, edit).
      </ComingPage>
    );
  },
});

function coming(path: string, title: string, text: string) {
  return createRoute({
    getParentRoute: () => appRoute,
    path,
    component: () => <ComingPage title={title}>{text}</ComingPage>,
  });
}

const routeTree = rootRoute.addChildren([
  signInRoute,
  appRoute.addChildren([
    dashboardRoute,
    mailoutsRoute,
    newMailoutRoute,
    mailoutRoute,
    coming("customers", "Customers", "The customer directory: search by phone, tag, operator code and attributes; create and edit customers; import them in bulk from CSV or NDJSON with a report of the rows refused."),
    coming("reference", "Reference data", "Operator codes, time zones and tags: what exists, what uses it, and changes to it."),
    coming("audit", "Audit log", "Every change and sign-in: who did what, when, through which request, with the fields it changed."),
    coming("users", "Users & keys", "Users and their roles, password resets, API keys for integrations (shown once), and whether password sign-in is on."),
  ]),
]);

export function newRouter(queryClient: QueryClient) {
  return createRouter({
    routeTree,
    basepath: basePath,
    context: { queryClient },
    defaultPreload: "intent",
    // Loaders read through the query cache, which keeps its own freshness.
    defaultPreloadStaleTime: 0,
    scrollRestoration: true,
    parseSearch,
    stringifySearch,
  });
}

declare module "@tanstack/react-router" {
  interface Register {
    router: ReturnType<typeof newRouter>;
  }
}
