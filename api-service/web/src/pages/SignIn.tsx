// Sign-in: the OpenID Provider's button when the API has one, the
// username and password form when local sign-in is on. Afterwards the
// browser goes back to the page that sent it here.

import { Alert, Button, Center, Divider, Paper, PasswordInput, Skeleton, Stack, Text, TextInput, Title } from "@mantine/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { useEffect, useState, type FormEvent } from "react";

import { toApiError } from "../api/errors";
import { keys, providersQuery, sessionQuery, signIn } from "../api/queries";
import { oidcLoginHref, safeRedirect } from "../auth/returnTo";
import { notifyError } from "../components/notify";

/** providerName is how the sign-in button names the provider: its host. */
export function providerName(issuer: string | undefined): string {
  if (!issuer) return "your organisation's account";
  try {
    return new URL(issuer).host;
  } catch {
    return issuer;
  }
}

export function SignInPage({ redirect }: { redirect?: string | undefined }) {
  const target = safeRedirect(redirect);
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const providers = useQuery(providersQuery);
  const session = useQuery(sessionQuery);
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [fields, setFields] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string>();

  // Already signed in (another tab, the back button): go on.
  useEffect(() => {
    if (session.data) void navigate({ href: target, replace: true });
  }, [session.data, navigate, target]);

  const login = useMutation({
    mutationFn: () => signIn(username, password),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: keys.session });
      await queryClient.fetchQuery(sessionQuery);
      await navigate({ href: target, replace: true });
    },
    onError: (err) => {
      const e = toApiError(err);
      if (e.status === 400 && e.hasFieldErrors) {
        setFields(e.fields);
      } else if (e.status === 401 || e.status === 403) {
        // Wrong password, or local sign-in turned off: the form says so.
        setFormError(e.status === 401 ? "Wrong username or password." : e.message);
      } else {
        notifyError(err, "Sign in");
      }
    },
  });

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    const missing: Record<string, string> = {};
    if (!username.trim()) missing.username = "Enter your username";
    if (!password) missing.password = "Enter your password";
    setFields(missing);
    setFormError(undefined);
    if (Object.keys(missing).length === 0) login.mutate();
  }

  const p = providers.data;
  return (
    <Center mih="100vh" p="md">
      <Paper withBorder shadow="sm" p="xl" radius="md" w="100%" maw={420} component="main">
        <Stack gap="md">
          <div>
            <Title order={1} size="h3">
              Sign in
            </Title>
            <Text size="sm" c="dimmed">
              Mailing admin: mailouts, customers and their statistics.
            </Text>
          </div>
          {providers.isPending ? (
            <Skeleton height={120} />
          ) : providers.isError ? (
            <Alert color="red" title="The API cannot be reached">
              {toApiError(providers.error).message} Reload the page to try again.
            </Alert>
          ) : (
            <>
              {p?.oidc?.login_url && (
                <Button component="a" href={oidcLoginHref(p.oidc.login_url, target)} size="md" fullWidth>
                  Sign in with {providerName(p.oidc.issuer)}
                </Button>
              )}
              {p?.oidc?.login_url && p.local_sign_in && <Divider label="or with a password" labelPosition="center" />}
              {p?.local_sign_in && (
                <form onSubmit={onSubmit} noValidate aria-label="Sign in with a username and password">
                  <Stack gap="sm">
                    {formError && (
                      <Alert color="red" variant="light" role="alert">
                        {formError}
                      </Alert>
                    )}
                    <TextInput
                      label="Username"
                      name="username"
                      autoComplete="username"
                      required
                      value={username}
                      onChange={(e) => setUsername(e.currentTarget.value)}
                      error={fields.username}
                      autoFocus={!p.oidc}
                    />
                    <PasswordInput
                      label="Password"
                      name="password"
                      autoComplete="current-password"
                      required
                      value={password}
                      onChange={(e) => setPassword(e.currentTarget.value)}
                      error={fields.password}
                    />
                    <Button type="submit" loading={login.isPending} variant={p.oidc ? "default" : "filled"} fullWidth>
                      Sign in
                    </Button>
                  </Stack>
                </form>
              )}
              {!p?.oidc && !p?.local_sign_in && (
                <Alert color="yellow" title="No way to sign in">
                  This service has neither an identity provider nor password sign-in turned on. An administrator can turn
                  password sign-in back on with <code>api local-sign-in on</code>.
                </Alert>
              )}
            </>
          )}
        </Stack>
      </Paper>
    </Center>
  );
}

