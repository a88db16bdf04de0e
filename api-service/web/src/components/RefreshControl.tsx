// The live-update control in the header: pause or resume every page's
// refresh, and choose how often it happens.

import { Button, Group, NativeSelect } from "@mantine/core";

import { describeRefresh, refreshIntervals, refreshStore, useRefresh, type RefreshInterval } from "../lib/refresh";

export function RefreshControl({ compact = false }: { compact?: boolean }) {
  const settings = useRefresh();
  return (
    <Group gap={6} wrap="nowrap" role="group" aria-label="Live updates">
      <Button
        size="xs"
        variant={settings.paused ? "filled" : "default"}
        color={settings.paused ? "yellow" : "gray"}
        onClick={() => refreshStore.togglePaused()}
        aria-pressed={settings.paused}
        title={describeRefresh(settings)}
      >
        {settings.paused ? "Resume live updates" : compact ? "Pause" : "Pause live updates"}
      </Button>
      <NativeSelect
        size="xs"
        aria-label="Update interval"
        value={String(settings.intervalMs)}
        disabled={settings.paused}
        onChange={(e) => refreshStore.set({ intervalMs: Number(e.currentTarget.value) as RefreshInterval })}
        data={refreshIntervals.map((ms) => ({ value: String(ms), label: `every ${ms / 1000} s` }))}
      />
    </Group>
  );
}
