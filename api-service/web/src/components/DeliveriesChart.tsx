// Messages delivered per minute, drawn with Recharts: loaded as its own
// chunk by the pages that draw charts (React.lazy), so sign-in and lists
// do not wait for it.

import { Area, AreaChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";

import type { MailoutStats } from "../api/queries";
import { formatCount } from "../lib/format";

export interface DeliveriesChartProps {
  deliveries: NonNullable<MailoutStats["deliveries"]>;
  height?: number;
  /** The chart's text alternative. */
  label: string;
}

function minuteLabel(iso: string | undefined): string {
  if (!iso) return "";
  const d = new Date(iso);
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

export default function DeliveriesChart({ deliveries, height = 64, label }: DeliveriesChartProps) {
  const points = deliveries.map((d) => ({ minute: minuteLabel(d.minute), delivered: d.delivered ?? 0 }));
  return (
    <figure aria-label={label} style={{ margin: 0, height }}>
      <ResponsiveContainer width="100%" height="100%">
        <AreaChart data={points} margin={{ top: 4, right: 4, bottom: 0, left: 4 }} accessibilityLayer>
          <XAxis dataKey="minute" hide />
          <YAxis hide domain={[0, "auto"]} />
          <Tooltip formatter={(v) => [formatCount(Number(v)), "delivered"]} labelFormatter={(l) => `minute ${String(l)}`} />
          <Area type="monotone" dataKey="delivered" stroke="#12b886" fill="#c3fae8" isAnimationActive={false} />
        </AreaChart>
      </ResponsiveContainer>
    </figure>
  );
}
