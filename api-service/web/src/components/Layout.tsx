// The frame of the signed-in pages: header with who is signed in, the
// live-update control and sign-out; navigation; the page.

import { Badge, Burger, Button, Drawer, NavLink, Stack, Text } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { useQueryClient } from "@tanstack/react-query";
import { Link, Outlet, useNavigate, useRouterState } from "@tanstack/react-router";
import { useState } from "react";

import { keys, signOut, type Principal } from "../api/queries";
import { canAdminister } from "../auth/roles";
import classes from "./Layout.module.css";
import { notifyError } from "./notify";
import { RefreshControl } from "./RefreshControl";

interface NavItem {
  to: string;
  label: string;
  /** Only admins may read these pages' data. */
  admin?: boolean;
}

export const navItems: NavItem[] = [
  { to: "/", label: "Dashboard" },
  { to: "/mailouts", label: "Mailouts" },
  { to: "/customers", label: "Customers" },
  { to: "/reference", label: "Reference data" },
  { to: "/audit", label: "Audit log", admin: true },
  { to: "/users", label: "Users & keys", admin: true },
];

function isActive(pathname: string, to: string): boolean {
  return to === "/" ? pathname === "/" : pathname === to || pathname.startsWith(to + "/");
}

function Navigation({ role, onNavigate }: { role: string | undefined; onNavigate?: () => void }) {
  const pathname = useRouterState({ select: (s) => s.location.pathname });
  return (
    <Stack gap={2} component="ul" m={0} p={0} style={{ listStyle: "none" }}>
      {navItems
        .filter((i) => !i.admin || canAdminister(role))
        .map((i) => {
          const active = isActive(pathname, i.to);
          return (
            <li key={i.to}>
              <NavLink
                component={Link}
                to={i.to}
                label={i.label}
                active={active}
                aria-current={active ? "page" : undefined}
                onClick={onNavigate}
                variant="light"
              />
            </li>
          );
        })}
    </Stack>
  );
}

export function Layout({ session }: { session: Principal }) {
  const [drawerOpen, drawer] = useDisclosure(false);
  const [signingOut, setSigningOut] = useState(false);
  const queryClient = useQueryClient();
  const navigate = useNavigate();

  async function onSignOut() {
    setSigningOut(true);
    try {
      const endSession = await signOut();
      queryClient.clear();
      if (endSession) {
        // Signed in through the provider: sign out there too.
        window.location.assign(endSession);
        return;
      }
      queryClient.setQueryData(keys.session, null);
      await navigate({ to: "/signin", search: {} });
    } catch (err) {
      notifyError(err, "Sign out");
      setSigningOut(false);
    }
  }

  return (
    <div className={classes.shell}>
      <a href="#main" className={classes.skip}>
        Skip to content
      </a>
      <header className={classes.header}>
        <Burger
          className={classes.burger}
          opened={drawerOpen}
          onClick={drawer.toggle}
          size="sm"
          aria-label={drawerOpen ? "Close navigation" : "Open navigation"}
          aria-expanded={drawerOpen}
          aria-controls="nav-drawer"
        />
        <Link to="/" className={classes.brand}>
          Mailing admin
        </Link>
        <div className={classes.spacer} />
        <div className={classes.wideOnly}>
          <RefreshControl />
        </div>
        <div className={classes.user} aria-label="Signed in as">
          <Text size="sm" fw={500} className={classes.userName} title={session.name}>
            {session.name}
          </Text>
          <Badge variant="outline" radius="sm" aria-label={`role ${session.role}`}>
            {session.role}
          </Badge>
        </div>
        <Button size="xs" variant="subtle" onClick={onSignOut} loading={signingOut}>
          Sign out
        </Button>
      </header>
      <nav className={classes.nav} aria-label="Main">
        <Navigation role={session.role} />
      </nav>
      <Drawer opened={drawerOpen} onClose={drawer.close} title="Mailing admin" size="xs" id="nav-drawer">
        <Text size="sm" mb="sm">
          Signed in as <strong>{session.name}</strong> ({session.role})
        </Text>
        <nav aria-label="Main">
          <Navigation role={session.role} onNavigate={drawer.close} />
        </nav>
        <Stack mt="lg">
          <RefreshControl />
        </Stack>
      </Drawer>
      <main id="main" className={classes.main} tabIndex={-1}>
        <Outlet />
      </main>
    </div>
  );
}
