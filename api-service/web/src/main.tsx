import "@mantine/core/styles.css";
import "@mantine/notifications/styles.css";
import "./app.css";

import { MantineProvider } from "@mantine/core";
import { Notifications, notifications } from "@mantine/notifications";
import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { RouterProvider } from "@tanstack/react-router";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";

import { onSessionLost } from "./api/client";
import { toApiError } from "./api/errors";
import { keys } from "./api/queries";
import { notifyError } from "./components/notify";
import { newRouter } from "./router";
import { theme } from "./theme";

const queryClient = new QueryClient({
  queryCache: new QueryCache({
    // A failed read says so once, as a toast; a lost session is handled
    // below instead.
    onError: (err, query) => {
      const e = toApiError(err);
      if (e.unauthorized || query.state.data !== undefined) return;
      notifyError(err);
    },
  }),
  mutationCache: new MutationCache({}),
  defaultOptions: {
    queries: {
      retry: (count, err) => {
        const e = toApiError(err);
        return count < 2 && (e.status === 0 || e.status >= 500);
      },
      refetchOnWindowFocus: true,
      staleTime: 1000,
    },
  },
});

const router = newRouter(queryClient);

// The API answered 401 to a page's request: the session ended (timed out,
// signed out elsewhere, user disabled). Back to sign-in, and to this page
// afterwards.
let leaving = false;
onSessionLost(() => {
  if (leaving || router.state.location.pathname === "/signin") return;
  leaving = true;
  queryClient.setQueryData(keys.session, null);
  notifications.show({
    id: "session-lost",
    color: "yellow",
    title: "Signed out",
    message: "Your session has ended. Sign in again to go on where you were.",
    autoClose: 8000,
  });
  const here = router.state.location.href;
  void router.navigate({ to: "/signin", search: here === "/" ? {} : { redirect: here }, replace: true }).finally(() => {
    leaving = false;
  });
});

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    {/* No runtime <style> elements: the policy allows the style sheets only; the
        default theme's variables are in Mantine's styles.css (docs/admin-ui.md). */}
    <MantineProvider theme={theme} withCssVariables={false} withGlobalClasses={false}>
      <Notifications position="top-right" limit={4} />
      <QueryClientProvider client={queryClient}>
        <RouterProvider router={router} />
      </QueryClientProvider>
    </MantineProvider>
  </StrictMode>,
);
