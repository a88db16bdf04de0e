// A mailout's messages as one bar: sent, failed, expired and cancelled
// parts of the audience, the rest still to go.

import { Group, Progress, Text } from "@mantine/core";

import type { MailoutStats } from "../api/queries";
import { formatCount, formatPercent } from "../lib/format";

const parts = [
  { key: "sent", color: "teal", label: "sent" },
  { key: "failed", color: "red", label: "failed" },
  { key: "expired", color: "orange", label: "expired" },
  { key: "cancelled", color: "gray", label: "cancelled" },
] as const;

export function MailoutProgress({ stats }: { stats: MailoutStats }) {
  const m = stats.messages ?? {};
  const total = m.total ?? stats.progress?.total ?? 0;
  const ratio = stats.progress?.ratio ?? 0;
  return (
    <div>
      <Progress.Root size="lg" aria-label={`${formatPercent(ratio)} done`}>
        {parts.map((p) => {
          const n = m[p.key] ?? 0;
          if (!total || !n) return null;
          return (
            <Progress.Section key={p.key} value={(n / total) * 100} color={p.color} aria-label={`${formatCount(n)} ${p.label}`} />
          );
        })}
      </Progress.Root>
      <Group justify="space-between" mt={4} gap="xs">
        <Text size="sm">
          <strong>{formatPercent(ratio)}</strong> · {formatCount(stats.progress?.final)} of {formatCount(total)} done
        </Text>
        <Text size="xs" c="dimmed">
          {parts
            .filter((p) => (m[p.key] ?? 0) > 0)
            .map((p) => `${formatCount(m[p.key])} ${p.label}`)
            .join(" · ") || "nothing sent yet"}
          {(m.pending ?? 0) + (m.sending ?? 0) > 0 ? ` · ${formatCount((m.pending ?? 0) + (m.sending ?? 0))} to go` : ""}
        </Text>
      </Group>
    </div>
  );
}
