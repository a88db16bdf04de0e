// The mailouts list: filter by status, walk the pages with the API's
// cursors. The filter and the page are in the URL.

import { Alert, Button, Chip, Group, NativeSelect, Skeleton, Stack, Table, Text, Title } from "@mantine/core";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";

import { mailoutListQuery, mailoutStatuses, type MailoutStatus } from "../api/queries";
import { useSession } from "../auth/useSession";
import { AnchorLink, ButtonLink } from "../components/links";
import { StatusBadge } from "../components/StatusBadge";
import { formatCount, formatDateTime } from "../lib/format";
import { nextPage, pageFromSearch, pageNumber, pageToSearch, previousPage, type PageState } from "../lib/paging";
import { useRefetchInterval } from "../lib/refresh";
import classes from "./pages.module.css";

export const pageSizes = [20, 50, 100] as const;

export interface MailoutsSearch {
  status?: MailoutStatus[] | undefined;
  limit?: number | undefined;
  after?: string | undefined;
  trail?: string | undefined;
}

/** validateMailoutsSearch reads the list's URL, keeping only what it understands. */
export function validateMailoutsSearch(search: Record<string, unknown>): MailoutsSearch {
  const raw = Array.isArray(search.status) ? search.status : search.status != null ? [search.status] : [];
  const status = mailoutStatuses.filter((s) => raw.includes(s));
  const limit = pageSizes.find((n) => n === Number(search.limit));
  const page = pageFromSearch({
    after: typeof search.after === "string" || typeof search.after === "number" ? String(search.after) : undefined,
    trail: typeof search.trail === "string" ? search.trail : undefined,
  });
  return { ...(status.length ? { status } : {}), ...(limit && limit !== 50 ? { limit } : {}), ...pageToSearch(page) };
}

export function MailoutsPage({ search }: { search: MailoutsSearch }) {
  const navigate = useNavigate();
  const session = useSession();
  const statuses = search.status ?? [];
  const limit = search.limit ?? 50;
  const page = pageFromSearch(search);
  const list = useQuery({
    ...mailoutListQuery(statuses, limit, page.after),
    refetchInterval: useRefetchInterval(),
    placeholderData: keepPreviousData,
  });
  const items = list.data?.items ?? [];

  function go(change: { status?: MailoutStatus[]; limit?: number; page?: PageState }) {
    const next: MailoutsSearch = {
      ...(change.status ?? statuses).length ? { status: change.status ?? statuses } : {},
      ...((change.limit ?? limit) !== 50 ? { limit: change.limit ?? limit } : {}),
      ...pageToSearch(change.page ?? page),
    };
    void navigate({ to: "/mailouts", search: next });
  }

  return (
    <Stack gap="md">
      <Group justify="space-between" align="center" wrap="wrap">
        <Title order={1} size="h2">
          Mailouts
        </Title>
        {session.canChange && (
          <ButtonLink to="/mailouts/new">New mailout</ButtonLink>
        )}
      </Group>

      <Group gap="xs" align="center" wrap="wrap" role="group" aria-labelledby="status-filter-label">
        <Text size="sm" fw={500} id="status-filter-label">
          Status
        </Text>
        <Chip.Group multiple value={statuses} onChange={(v) => go({ status: v as MailoutStatus[], page: { trail: [] } })}>
          {mailoutStatuses.map((s) => (
            <Chip key={s} value={s} size="xs">
              {s}
            </Chip>
          ))}
        </Chip.Group>
        {statuses.length > 0 && (
          <Button size="compact-xs" variant="subtle" onClick={() => go({ status: [], page: { trail: [] } })}>
            Clear
          </Button>
        )}
      </Group>

      {list.isPending ? (
        <Skeleton height={240} />
      ) : list.isError && !list.data ? (
        <Alert color="red" variant="light">
          The mailouts could not be loaded.
        </Alert>
      ) : items.length === 0 ? (
        <Text c="dimmed">{statuses.length ? `No ${statuses.join(" or ")} mailout${page.after ? " on this page" : ""}.` : "No mailouts yet."}</Text>
      ) : (
        <Table.ScrollContainer minWidth={560}>
          <Table striped highlightOnHover aria-label="Mailouts">
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">ID</Table.Th>
                <Table.Th scope="col">Text</Table.Th>
                <Table.Th scope="col">Status</Table.Th>
                <Table.Th scope="col">Start</Table.Th>
                <Table.Th scope="col" className={classes.hideOnPhone}>
                  End
                </Table.Th>
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
                  <Table.Td>
                    <StatusBadge status={m.status} />
                  </Table.Td>
                  <Table.Td>{formatDateTime(m.start_at)}</Table.Td>
                  <Table.Td className={classes.hideOnPhone}>{formatDateTime(m.end_at)}</Table.Td>
                  <Table.Td className={classes.numeric}>{formatCount(m.audience)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}

      <Group justify="space-between" wrap="wrap">
        <Group gap="xs">
          <Button variant="default" size="xs" disabled={pageNumber(page) === 1} onClick={() => go({ page: previousPage(page) })}>
            Previous page
          </Button>
          <Text size="sm" aria-live="polite">
            Page {pageNumber(page)}
          </Text>
          <Button
            variant="default"
            size="xs"
            disabled={!list.data?.next}
            onClick={() => list.data?.next && go({ page: nextPage(page, list.data.next) })}
          >
            Next page
          </Button>
        </Group>
        <NativeSelect
          size="xs"
          label="Per page"
          value={String(limit)}
          onChange={(e) => go({ limit: Number(e.currentTarget.value), page: { trail: [] } })}
          data={pageSizes.map((n) => String(n))}
          style={{ display: "flex", alignItems: "center", gap: 8 }}
        />
      </Group>
    </Stack>
  );
}
