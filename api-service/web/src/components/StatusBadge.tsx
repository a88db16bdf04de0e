import { Badge } from "@mantine/core";

import type { MailoutStatus } from "../api/queries";

const colors: Record<MailoutStatus, string> = {
  scheduled: "blue",
  running: "teal",
  paused: "yellow",
  finished: "gray",
  cancelled: "red",
};

export function StatusBadge({ status }: { status: MailoutStatus | undefined }) {
  if (!status) return null;
  return (
    <Badge color={colors[status]} variant="light" radius="sm">
      {status}
    </Badge>
  );
}
