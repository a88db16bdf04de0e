// The dashboard: what is being sent now (running and paused mailouts with
// their progress and rate), what starts next (scheduled), and the totals
// of the day. Everything refreshes on the live-update interval.

import { Alert, Button, Group, Paper, SegmentedControl, Skeleton, Stack, Table, Text, Title } from "@mantine/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { lazy, Suspense, useMemo, useState } from "react";

import {
  keys,
  mailoutListQuery,
  mailoutStatsQuery,
  messageStatsQuery,
  pauseMailout,
  resumeMailout,
  type Mailout,
  type MailoutStatus,
} from "../api/queries";
import { useSession } from "../auth/useSession";
import { MailoutProgress } from "../components/MailoutProgress";
import { notifyError, notifySuccess } from "../components/notify";
import { AnchorLink } from "../components/links";
import { StatusBadge } from "../components/StatusBadge";
import { formatClock, formatCount, formatDateTime, formatRate, formatRelative, startOfDay } from "../lib/format";
import { describeRefresh, useRefetchInterval, useRefresh } from "../lib/refresh";
import classes from "./pages.module.css";

const DeliveriesChart = lazy(() => import("../components/DeliveriesChart"));

/** How many mailouts of each status the dashboard fetches. */
const perSection = 20;
/** How many scheduled mailouts it lists: the next to start. */
const scheduledShown = 5;

type Period = "today" | "week" | "all";

function periodStart(p: Period, now: Date): string | undefined {
  if (p === "all") return undefined;
  const d = startOfDay(now);
  if (p === "week") d.setDate(d.getDate() - 6);
  return d.toISOString();
}

function Totals() {
  const [period, setPeriod] = useState<Period>("today");
  // The day's start, fixed for the life of the page (a new day is a reload away).
  const from = useMemo(() => periodStart(period, new Date()), [period]);
  const totals = useQuery({ ...messageStatsQuery(from), refetchInterval: useRefetchInterval() });
  const m = totals.data?.messages;
  const mo = totals.data?.mailouts;
  const figures: [string, number | undefined][] = [
    ["Mailouts", mo?.total],
    ["Messages", m?.total],
    ["Sent", m?.sent],
    ["Pending", (m?.pending ?? 0) + (m?.sending ?? 0)],
    ["Failed", m?.failed],
    ["Expired", m?.expired],
  ];
  return (
    <section aria-labelledby="totals-title">
      <Group justify="space-between" mb="xs" wrap="wrap">
        <Title order={2} size="h4" id="totals-title">
          Totals
        </Title>
        <SegmentedControl
          size="xs"
          value={period}
          onChange={(v) => setPeriod(v as Period)}
          aria-label="Mailouts created"
          data={[
            { value: "today", label: "Today" },
            { value: "week", label: "7 days" },
            { value: "all", label: "All time" },
          ]}
        />
      </Group>
      <Text size="xs" c="dimmed" mb="xs">
        {period === "all" ? "Every mailout and its messages." : `Mailouts created ${period === "today" ? "today" : "in the last 7 days"} and their messages.`}
      </Text>
      <div className={classes.stats}>
        {figures.map(([label, value]) => (
          <Paper key={label} withBorder p="sm" radius="md">
            <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
              {label}
            </Text>
            {totals.isPending ? <Skeleton height={28} mt={4} /> : <div className={classes.statValue}>{formatCount(value ?? 0)}</div>}
          </Paper>
        ))}
      </div>
    </section>
  );
}

function MailoutCard({ mailout }: { mailout: Mailout }) {
  const id = mailout.id ?? 0;
  const session = useSession();
  const stats = useQuery({ ...mailoutStatsQuery(id), refetchInterval: useRefetchInterval() });
  const queryClient = useQueryClient();
  const action = useMutation({
    mutationFn: (kind: "pause" | "resume") => (kind === "pause" ? pauseMailout(id) : resumeMailout(id)),
    onSuccess: (_, kind) => {
      notifySuccess(`Mailout ${id} ${kind === "pause" ? "paused" : "resumed"}.`);
      return queryClient.invalidateQueries({ queryKey: keys.mailouts });
    },
    onError: (err, kind) => notifyError(err, `${kind === "pause" ? "Pause" : "Resume"} mailout ${id}`),
  });
  const s = stats.data;
  const deliveries = s?.deliveries ?? [];
  return (
    <Paper withBorder p="md" radius="md" component="article" aria-labelledby={`mailout-${id}-title`}>
      <Group justify="space-between" wrap="nowrap" gap="xs" mb={4}>
        <AnchorLink to="/mailouts/$id" params={{ id: String(id) }} fw={600} id={`mailout-${id}-title`}>
          Mailout {id}
        </AnchorLink>
        <StatusBadge status={s?.status ?? mailout.status} />
      </Group>
      <Text size="sm" className={classes.mailoutText} title={mailout.text}>
        {mailout.text}
      </Text>
      <Stack gap="xs" mt="sm">
        {s ? <MailoutProgress stats={s} /> : <Skeleton height={38} />}
        <Group gap="lg">
          <Text size="sm">
            Rate <strong>{formatRate(s?.rate?.current)}</strong>
            <Text span size="xs" c="dimmed">
              {" "}
              (average {formatRate(s?.rate?.average)})
            </Text>
          </Text>
          <Text size="sm" c="dimmed">
            ends {formatRelative(mailout.end_at)}
          </Text>
        </Group>
        {deliveries.length > 1 && (
          <div className={classes.chart}>
            <Suspense fallback={<Skeleton height={64} />}>
              <DeliveriesChart deliveries={deliveries} label={`Messages delivered per minute by mailout ${id}`} />
            </Suspense>
          </div>
        )}
        {session.canChange && (mailout.status === "running" || mailout.status === "paused") && (
          <Group justify="flex-end">
            <Button
              size="xs"
              variant="light"
              color={mailout.status === "running" ? "yellow" : "teal"}
              loading={action.isPending}
              onClick={() => action.mutate(mailout.status === "running" ? "pause" : "resume")}
              aria-label={`${mailout.status === "running" ? "Pause" : "Resume"} mailout ${id}`}
            >
              {mailout.status === "running" ? "Pause" : "Resume"}
            </Button>
          </Group>
        )}
      </Stack>
    </Paper>
  );
}

function useMailouts(status: MailoutStatus) {
  return useQuery({ ...mailoutListQuery([status], perSection), refetchInterval: useRefetchInterval() });
}

function MoreLink({ status, more }: { status: MailoutStatus; more: boolean }) {
  if (!more) return null;
  return (
    <AnchorLink to="/mailouts" search={{ status: [status] }} size="sm" mt="xs" display="inline-block">
      All {status} mailouts
    </AnchorLink>
  );
}

function ActiveSection({ status, title, empty }: { status: MailoutStatus; title: string; empty: string }) {
  const list = useMailouts(status);
  const items = list.data?.items ?? [];
  return (
    <section aria-labelledby={`${status}-title`}>
      <Title order={2} size="h4" mb="xs" id={`${status}-title`}>
        {title} {list.data && <Text span c="dimmed">({items.length}{list.data.next ? "+" : ""})</Text>}
      </Title>
      {list.isPending ? (
        <Skeleton height={120} />
      ) : list.isError ? (
        <Alert color="red" variant="light">
          Could not load the {status} mailouts.
        </Alert>
      ) : items.length === 0 ? (
        <Text c="dimmed" size="sm">
          {empty}
        </Text>
      ) : (
        <div className={classes.cards}>
          {items.map((m) => (
            <MailoutCard key={m.id} mailout={m} />
          ))}
        </div>
      )}
      <MoreLink status={status} more={!!list.data?.next} />
    </section>
  );
}

function ScheduledSection() {
  const list = useMailouts("scheduled");
  // The API lists by id: the soonest of the page fetched.
  const all = [...(list.data?.items ?? [])].sort((a, b) => (a.start_at ?? "").localeCompare(b.start_at ?? ""));
  const items = all.slice(0, scheduledShown);
  return (
    <section aria-labelledby="scheduled-title">
      <Title order={2} size="h4" mb="xs" id="scheduled-title">
        Scheduled{" "}
        {list.data && (
          <Text span c="dimmed">
            ({all.length}
            {list.data.next ? "+" : ""}){all.length > items.length ? `, the next ${items.length}` : ""}
          </Text>
        )}
      </Title>
      {list.isPending ? (
        <Skeleton height={80} />
      ) : items.length === 0 ? (
        <Text c="dimmed" size="sm">
          Nothing is scheduled.
        </Text>
      ) : (
        <Table.ScrollContainer minWidth={480}>
          <Table striped highlightOnHover>
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">Mailout</Table.Th>
                <Table.Th scope="col">Text</Table.Th>
                <Table.Th scope="col">Starts</Table.Th>
                <Table.Th scope="col" className={classes.numeric}>
                  Audience
                </Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {items.map((m) => (
                <Table.Tr key={m.id}>
                  <Table.Td>
                    <AnchorLink to="/mailouts/$id" params={{ id: String(m.id) }}>
                      {m.id}
                    </AnchorLink>
                  </Table.Td>
                  <Table.Td className={classes.tableText} title={m.text}>
                    {m.text}
                  </Table.Td>
                  <Table.Td title={formatDateTime(m.start_at)}>{formatRelative(m.start_at)}</Table.Td>
                  <Table.Td className={classes.numeric}>{formatCount(m.audience)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <MoreLink status="scheduled" more={!!list.data?.next || all.length > items.length} />
    </section>
  );
}

function UpdatedAt() {
  const settings = useRefresh();
  const queryClient = useQueryClient();
  const running = queryClient.getQueryState(keys.mailoutList(["running"], perSection, undefined));
  const at = running?.dataUpdatedAt ? new Date(running.dataUpdatedAt) : undefined;
  return (
    <Text size="xs" c="dimmed">
      {describeRefresh(settings)}
      {at ? ` · updated ${formatClock(at)}` : ""}
    </Text>
  );
}

export function Dashboard() {
  // Re-render on every refresh so "updated" moves.
  useQuery({ ...mailoutListQuery(["running"], perSection), refetchInterval: useRefetchInterval() });
  return (
    <Stack gap="xl">
      <Group justify="space-between" align="baseline" wrap="wrap">
        <Title order={1} size="h2">
          Dashboard
        </Title>
        <UpdatedAt />
      </Group>
      <Totals />
      <ActiveSection status="running" title="Running" empty="Nothing is being sent now." />
      <ActiveSection status="paused" title="Paused" empty="No mailout is paused." />
      <ScheduledSection />
    </Stack>
  );
}
