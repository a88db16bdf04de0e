// The pages still to be built: each says what it will hold, and where the
// same is done today (the API, in Swagger UI).

import { Anchor, Paper, Stack, Text, Title } from "@mantine/core";

export function ComingPage({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <Stack gap="md">
      <Title order={1} size="h2">
        {title}
      </Title>
      <Paper withBorder p="lg" radius="md">
        <Text fw={600} mb="xs">
          Coming soon
        </Text>
        <Text size="sm">{children}</Text>
        <Text size="sm" mt="sm">
          Until then the same is done through the API: see its reference in{" "}
          <Anchor href="/docs/" target="_blank" rel="noopener">
            Swagger UI
          </Anchor>
          .
        </Text>
      </Paper>
    </Stack>
  );
}

export function NotFoundPage() {
  return (
    <ComingPage title="Page not found">
      There is no page at this address. Use the navigation to find what you are looking for.
    </ComingPage>
  );
}
