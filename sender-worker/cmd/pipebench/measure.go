package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"syscall"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"mailing/sender-worker/internal/probesim"
	"mailing/shared/broker"
	"mailing/shared/domain"
	"mailing/shared/postgres"
)

// runResult is what one measured mailout gave.
type runResult struct {
	MailoutID            int64            `json:"mailout_id"`
	FanOutSeconds        float64          `json:"fan_out_seconds"`
	FirstDeliverySeconds float64          `json:"first_delivery_seconds"`
	LastDeliverySeconds  float64          `json:"last_delivery_seconds"`
	SettledSeconds       float64          `json:"settled_seconds"`
	MessagesPerSec       float64          `json:"messages_per_sec"`
	SteadyPerSec         float64          `json:"steady_messages_per_sec"`
	LagP50Seconds        float64          `json:"lag_p50_seconds"`
	LagP99Seconds        float64          `json:"lag_p99_seconds"`
	Delivered            int              `json:"delivered"`
	Duplicates           int              `json:"duplicates"`
	Statuses             map[string]int64 `json:"statuses"`
	ProbeRequests        int64            `json:"probe_requests"`
	WorkerPeakRSSMiB     float64          `json:"worker_peak_rss_mib"`
	WorkerCPUSeconds     float64          `json:"worker_cpu_seconds"`
	BrokerCPUSeconds     float64          `json:"broker_cpu_seconds"`   // every beam.smp process
	DatabaseCPUSeconds   float64          `json:"database_cpu_seconds"` // every postgres process
	SelfCPUSeconds       float64          `json:"self_cpu_seconds"`
	MachineBusy          float64          `json:"machine_busy"`
}

// measure creates the mailout, relays its start event and waits until every
// message is final, then derives the figures from probe-sim's record.
func (e *env) measure(ctx context.Context, o options, code string, stderr io.Writer) (runResult, error) {
	var res runResult
	cpu0, err := e.cpuSnapshot()
	if err != nil {
		return res, err
	}
	relayCtx, stopRelay := context.WithCancel(ctx)
	relayDone := make(chan struct{})
	go func() { defer close(relayDone); relay(relayCtx, e.db, e.pub) }()
	defer func() { stopRelay(); <-relayDone }()

	// start_at is stored to the microsecond; truncating keeps lags exact.
	created := time.Now().Truncate(time.Microsecond)
	m, err := e.db.CreateMailout(ctx, domain.Mailout{Text: "Pipeline benchmark: 30% off until Sunday",
		StartAt: created, EndAt: created.Add(o.duration), Filter: domain.Filter{PhoneCodes: []string{code}}})
	if err != nil {
		return res, fmt.Errorf("create mailout: %w", err)
	}
	res.MailoutID = m.ID
	if m.Audience != int64(o.customers) {
		return res, fmt.Errorf("mailout %d matches %d customers, want %d", m.ID, m.Audience, o.customers)
	}
	fanOut, settled, err := e.waitSettled(ctx, o, m.ID, created, stderr)
	if err != nil {
		return res, err
	}
	res.FanOutSeconds, res.SettledSeconds = fanOut.Seconds(), settled.Seconds()
	if err := e.cpuSince(cpu0, &res); err != nil {
		return res, err
	}
	if res.Statuses, err = statusCounts(ctx, e.db, m.ID); err != nil {
		return res, err
	}
	res.ProbeRequests = e.sim.Stats().Requests
	deliveryFigures(e.sim.Deliveries(), created, &res)
	for _, w := range e.workers {
		rss, err := w.peakRSS()
		if err != nil {
			return res, fmt.Errorf("worker %d peak RSS: %w", w.index, err)
		}
		res.WorkerPeakRSSMiB = max(res.WorkerPeakRSSMiB, float64(rss)/(1<<20))
	}
	return res, nil
}

// waitSettled polls until the mailout runs with all its rows (the fan-out)
// and then until no message is pending or sending.
func (e *env) waitSettled(ctx context.Context, o options, id int64, created time.Time, stderr io.Writer) (fanOut, settled time.Duration, err error) {
	deadline := created.Add(o.timeout)
	lastCheck, lastProgress := time.Time{}, time.Now()
	for {
		now := time.Now()
		accepted := e.sim.Stats().Accepted
		if fanOut == 0 {
			rows, err := messageRows(ctx, e.db, id)
			if err != nil {
				return 0, 0, err
			}
			if rows == int64(o.customers) {
				fanOut = time.Since(created)
				fmt.Fprintf(stderr, "fan-out: %d message rows after %.2fs\n", rows, fanOut.Seconds())
			}
		} else if accepted >= int64(o.customers) || now.Sub(lastCheck) >= 5*time.Second {
			// Counting open messages reads the mailout's index entries and
			// competes with the workers; do it often only at the end.
			lastCheck = now
			open, err := openMessages(ctx, e.db, id)
			if err != nil {
				return 0, 0, err
			}
			if open == 0 {
				return fanOut, time.Since(created), nil
			}
		}
		if now.Sub(lastProgress) >= 5*time.Second {
			lastProgress = now
			fmt.Fprintf(stderr, "%6.1fs: %d accepted by probe-sim (%.0f/s overall)\n",
				now.Sub(created).Seconds(), accepted, float64(accepted)/now.Sub(created).Seconds())
		}
		if now.After(deadline) {
			return 0, 0, fmt.Errorf("mailout %d not settled within %s (%d accepted)", id, o.timeout, accepted)
		}
		for _, w := range e.workers {
			if w.exited() {
				return 0, 0, fmt.Errorf("worker %d exited during the run (%d accepted)", w.index, accepted)
			}
		}
		select {
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// messageRows counts a mailout's message rows once it is running: they are
// inserted in the transaction that marks it running, so before that there
// are none to count.
func messageRows(ctx context.Context, db *postgres.DB, id int64) (int64, error) {
	var n int64
	err := db.SQL().QueryRowContext(ctx, `SELECT CASE WHEN mo.status = 'scheduled' THEN 0
		ELSE (SELECT count(*) FROM messages m WHERE m.mailout_id = mo.id) END
		FROM mailouts mo WHERE mo.id = $1`, id).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count message rows: %w", err)
	}
	return n, nil
}

func openMessages(ctx context.Context, db *postgres.DB, id int64) (int64, error) {
	var n int64
	err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM messages
		WHERE mailout_id = $1 AND status IN ('pending', 'sending')`, id).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count open messages: %w", err)
	}
	return n, nil
}

func statusCounts(ctx context.Context, db *postgres.DB, id int64) (map[string]int64, error) {
	rows, err := db.SQL().QueryContext(ctx, `SELECT status, count(*) FROM messages WHERE mailout_id = $1 GROUP BY status`, id)
	if err != nil {
		return nil, fmt.Errorf("count messages by status: %w", err)
	}
	defer rows.Close()
	counts := map[string]int64{}
	for rows.Next() {
		var s string
		var n int64
		if err := rows.Scan(&s, &n); err != nil {
			return nil, fmt.Errorf("count messages by status: %w", err)
		}
		counts[s] = n
	}
	return counts, rows.Err()
}

func formatCounts(c map[string]int64) string {
	parts := make([]string, 0, len(c))
	for _, k := range slices.Sorted(maps.Keys(c)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, c[k]))
	}
	return strings.Join(parts, ", ")
}

// deliveryFigures derives times, rates, lags and duplicates from probe-sim's
// record of accepted deliveries.
func deliveryFigures(ds []probesim.Delivery, startAt time.Time, res *runResult) {
	if len(ds) == 0 {
		return
	}
	lags := make([]time.Duration, 0, len(ds))
	first, last := ds[0].At, ds[0].At
	for _, d := range ds {
		if d.Nth == 1 {
			res.Delivered++
			lags = append(lags, d.At.Sub(startAt))
		} else {
			res.Duplicates++
		}
		if d.At.Before(first) {
			first = d.At
		}
		if d.At.After(last) {
			last = d.At
		}
	}
	slices.Sort(lags)
	res.FirstDeliverySeconds = first.Sub(startAt).Seconds()
	res.LastDeliverySeconds = last.Sub(startAt).Seconds()
	res.MessagesPerSec = float64(res.Delivered) / res.LastDeliverySeconds
	if span := last.Sub(first).Seconds(); span > 0 {
		res.SteadyPerSec = float64(res.Delivered) / span
	}
	res.LagP50Seconds = quantile(lags, 0.50).Seconds()
	res.LagP99Seconds = quantile(lags, 0.99).Seconds()
}

// quantile of sorted values, nearest rank.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// cpuSnapshot is the CPU time used so far by the workers, this process and
// the machine.
type cpuSnapshot struct {
	workers, self       float64
	others              map[string]float64
	machBusy, machTotal int64
}

// Command names of the broker's and the database's processes.
const (
	brokerCommand   = "beam.smp"
	databaseCommand = "postgres"
)

func (e *env) cpuSnapshot() (cpuSnapshot, error) {
	var s cpuSnapshot
	for _, w := range e.workers {
		c, err := w.cpuSeconds()
		if err != nil {
			return s, fmt.Errorf("worker %d CPU: %w", w.index, err)
		}
		s.workers += c
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return s, fmt.Errorf("own CPU: %w", err)
	}
	s.self = tv(ru.Utime) + tv(ru.Stime)
	var err error
	if s.others, err = cpuByCommand(brokerCommand, databaseCommand); err != nil {
		return s, err
	}
	s.machBusy, s.machTotal, err = machineCPU()
	return s, err
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

func (e *env) cpuSince(before cpuSnapshot, res *runResult) error {
	now, err := e.cpuSnapshot()
	if err != nil {
		return err
	}
	res.WorkerCPUSeconds = now.workers - before.workers
	res.SelfCPUSeconds = now.self - before.self
	res.BrokerCPUSeconds = now.others[brokerCommand] - before.others[brokerCommand]
	res.DatabaseCPUSeconds = now.others[databaseCommand] - before.others[databaseCommand]
	if dt := now.machTotal - before.machTotal; dt > 0 {
		res.MachineBusy = float64(now.machBusy-before.machBusy) / float64(dt)
	}
	return nil
}

// relay publishes the outbox as the API's relay does: start events delayed
// to their start time.
func relay(ctx context.Context, db *postgres.DB, pub *broker.Publisher) {
	for ctx.Err() == nil {
		_, _ = db.RelayOutbox(ctx, 100, 100*time.Millisecond, func(ctx context.Context, evs []postgres.OutboxEvent) error {
			msgs := make([]broker.Outgoing, len(evs))
			for i, ev := range evs {
				var start domain.MailoutStartEvent
				_ = json.Unmarshal(ev.Payload, &start)
				msgs[i] = broker.Outgoing{Queue: broker.StartQueue, Body: ev.Payload, Delay: max(time.Until(start.StartAt), 0),
					Headers: amqp.Table{broker.HeaderTopic: ev.Topic}}
			}
			return pub.Publish(ctx, msgs)
		})
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
}
