package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"mailing/sender-worker/probesim"
	"mailing/shared/postgres"
)

// runSpec is one measured mailout: who it targets, at which probe latency,
// with how many workers, and whether the API is loaded meanwhile.
type runSpec struct {
	Name      string
	Kind      string // one of the run kinds below
	LatencyMS int
	Workers   int
	Codes     []string // operator codes of the filter; none: every customer
	Audience  int
	APILoad   bool
	Templated bool // the templated text, else the plain one
	Ceiling   bool // measure the load generator's ceiling before the run
	Settle    bool // VACUUM (ANALYZE) the database before the run
	Pause     bool // pause the mailout in full swing, then resume it
}

// Run kinds: every customer at 0 ms with the plain text and with the
// templated one, a subset at the probe latency, and the pause.
const (
	kindZero      = "zero"
	kindTemplated = "templated"
	kindLatency   = "latency"
	kindPause     = "pause"
)

// pipelineResult is what one measured mailout gave. Times count from just
// before POST /api/mailouts, which creates the mailout starting at once.
type pipelineResult struct {
	Name                 string           `json:"name"`
	Kind                 string           `json:"kind"`
	Text                 string           `json:"text"`
	SettleSeconds        float64          `json:"settle_seconds,omitempty"` // VACUUM (ANALYZE) before the run
	LatencyMS            int              `json:"latency_ms"`
	Workers              int              `json:"workers"`
	Concurrency          int              `json:"concurrency_per_worker"`
	Codes                []string         `json:"phone_codes,omitempty"`
	Messages             int              `json:"messages"`
	MailoutID            int64            `json:"mailout_id"`
	CreateMS             float64          `json:"create_ms"` // the POST of this mailout
	FanOutSeconds        float64          `json:"fan_out_seconds"`
	FirstDeliverySeconds float64          `json:"first_delivery_seconds"`
	LastDeliverySeconds  float64          `json:"last_delivery_seconds"`
	SettledSeconds       float64          `json:"settled_seconds"`
	MessagesPerSec       float64          `json:"messages_per_sec"`        // POST → last delivery
	SteadyPerSec         float64          `json:"steady_messages_per_sec"` // first → last delivery
	LagP50Seconds        float64          `json:"lag_p50_seconds"`         // start_at → arrival at probe-sim
	LagP99Seconds        float64          `json:"lag_p99_seconds"`
	Delivered            int              `json:"delivered"`
	Duplicates           int              `json:"duplicates"`
	Statuses             map[string]int64 `json:"statuses"`
	ProbeRequests        int64            `json:"probe_requests"`
	WorkerPeakRSSMB      []float64        `json:"worker_peak_rss_mb"`
	CPU                  cpuUse           `json:"cpu"`
	API                  []latencyResult  `json:"api,omitempty"`
	Texts                textCheck        `json:"texts"`
	// MissingAttributeWarnings is the mailout's warnings.missing_attribute
	// in GET /api/mailouts/{id}/stats once it has settled.
	MissingAttributeWarnings int64        `json:"missing_attribute_warnings"`
	Pause                    *pauseResult `json:"pause,omitempty"`
}

// runPipeline sends one mailout through the whole pipeline: fresh workers,
// POST /api/mailouts starting now, the API's relay, the planner's fan-out,
// the senders, probe-sim; then it derives the figures from probe-sim's
// record of arrivals and from the database.
func (e *env) runPipeline(ctx context.Context, s runSpec) (res pipelineResult, err error) {
	res = pipelineResult{Name: s.Name, Kind: s.Kind, Text: runText(s), LatencyMS: s.LatencyMS, Workers: s.Workers,
		Concurrency: e.o.concurrency, Codes: s.Codes, Messages: s.Audience}
	if s.Settle {
		if res.SettleSeconds, err = e.settle(ctx); err != nil {
			return res, err
		}
	}
	if err := e.setLatency(s.LatencyMS); err != nil {
		return res, err
	}
	defer e.stopWorkers()
	if err := e.startWorkers(ctx, s.Workers); err != nil {
		return res, err
	}
	cpu0, err := e.cpuSnapshot()
	if err != nil {
		return res, err
	}
	created := time.Now()
	m, err := e.createMailout(ctx, s, created)
	if err != nil {
		return res, err
	}
	res.MailoutID, res.CreateMS = m.ID, ms(time.Since(created))
	var stopLoad func() []latencyResult
	if s.APILoad {
		stopLoad = e.startAPILoad(ctx, e.loadRequests(m.ID), e.o.apiPause)
	}
	// A pause that fails would leave the mailout paused and the wait
	// endless: it ends the wait.
	waitCtx, endWait := context.WithCancel(ctx)
	defer endWait()
	var paused chan error
	if s.Pause {
		paused = make(chan error, 1)
		go func() {
			p, err := e.pauseAndResume(waitCtx, m.ID, s.Audience)
			if err != nil {
				endWait()
			}
			res.Pause = &p
			paused <- err
		}()
	}
	fanOut, settled, err := e.waitSettled(waitCtx, m.ID, s.Audience, created)
	if stopLoad != nil {
		res.API = stopLoad()
	}
	if paused != nil {
		endWait() // a wait that failed stops the pause
		// A failed pause ended the wait: its error is the cause.
		if perr := <-paused; perr != nil && (err == nil || errors.Is(err, context.Canceled)) {
			return res, perr
		}
	}
	if err != nil {
		return res, err
	}
	res.FanOutSeconds, res.SettledSeconds = fanOut.Seconds(), settled.Seconds()
	return res, e.collect(ctx, &res, s, cpu0, created, m.StartAt)
}

// runText is the text of a run's mailout.
func runText(s runSpec) string {
	if s.Templated {
		return templatedText
	}
	return plainText
}

// settle vacuums and analyses the whole database, so a run neither pays
// for the dead rows of the one before nor finds statistics it left stale.
func (e *env) settle(ctx context.Context) (float64, error) {
	began := time.Now()
	if _, err := e.db.SQL().ExecContext(ctx, `VACUUM (ANALYZE)`); err != nil {
		return 0, fmt.Errorf("vacuum: %w", err)
	}
	d := time.Since(began).Seconds()
	fmt.Fprintf(e.stderr, "vacuumed and analysed the database in %.1fs\n", d)
	return d, nil
}

// createMailout posts the run's mailout and checks its audience.
func (e *env) createMailout(ctx context.Context, s runSpec, start time.Time) (mailoutAnswer, error) {
	var m mailoutAnswer
	body, err := mailoutBody(runText(s), start, s.Codes)
	if err != nil {
		return m, err
	}
	req, err := e.client.NewRequest(ctx, http.MethodPost, "/api/mailouts", bytes.NewReader(body), "application/json")
	if err != nil {
		return m, err
	}
	if err := e.client.DoJSON(req, http.StatusCreated, &m); err != nil {
		return m, fmt.Errorf("create mailout: %w", err)
	}
	if m.Audience != int64(s.Audience) {
		return m, fmt.Errorf("mailout %d matches %d customers, want %d", m.ID, m.Audience, s.Audience)
	}
	return m, nil
}

// collect fills in the figures once the mailout has settled, reading the
// workers' peak RSS before they are stopped.
func (e *env) collect(ctx context.Context, res *pipelineResult, s runSpec, cpu0 cpuSnapshot, created, startAt time.Time) error {
	var err error
	if res.CPU, err = e.cpuSince(cpu0); err != nil {
		return err
	}
	if res.Statuses, err = statusCounts(ctx, e.db, res.MailoutID); err != nil {
		return err
	}
	if res.MissingAttributeWarnings, err = e.mailoutWarnings(ctx, res.MailoutID); err != nil {
		return err
	}
	res.ProbeRequests = e.sim.Stats().Requests
	ds := e.sim.Deliveries()
	deliveryFigures(ds, created, startAt, res)
	res.Texts = checkTexts(e.pop, s.Templated, ds)
	if s.Templated {
		res.Texts.WithoutCity = withoutCity(e.pop, s.Codes)
	}
	if p := res.Pause; p != nil && res.LastDeliverySeconds > 0 {
		p.ResumeToLastSeconds = created.Add(time.Duration(res.LastDeliverySeconds * float64(time.Second))).Sub(p.resumed).Seconds()
	}
	for _, w := range e.workers {
		rss, err := w.PeakRSSMiB()
		if err != nil {
			return err
		}
		res.WorkerPeakRSSMB = append(res.WorkerPeakRSSMB, mib2mb(rss))
	}
	return nil
}

// waitSettled polls until the mailout runs with all its rows (the fan-out)
// and then until no message is pending or sending.
func (e *env) waitSettled(ctx context.Context, id int64, audience int, created time.Time) (fanOut, settled time.Duration, err error) {
	deadline := created.Add(e.o.timeout)
	lastCheck, lastProgress := time.Time{}, time.Now()
	for {
		now := time.Now()
		accepted := e.sim.Stats().Accepted
		if fanOut == 0 {
			rows, err := messageRows(ctx, e.db, id)
			if err != nil {
				return 0, 0, err
			}
			if rows == int64(audience) {
				fanOut = time.Since(created)
				fmt.Fprintf(e.stderr, "fan-out: %d message rows after %.2fs\n", rows, fanOut.Seconds())
			}
		} else if accepted >= int64(audience) || now.Sub(lastCheck) >= 5*time.Second {
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
		if now.Sub(lastProgress) >= 10*time.Second {
			lastProgress = now
			fmt.Fprintf(e.stderr, "%6.1fs: %d accepted by probe-sim (%.0f/s overall)\n",
				now.Sub(created).Seconds(), accepted, float64(accepted)/now.Sub(created).Seconds())
		}
		if now.After(deadline) {
			return 0, 0, fmt.Errorf("mailout %d not settled within %s (%d accepted)", id, e.o.timeout, accepted)
		}
		if err := e.workerExited(); err != nil {
			return 0, 0, fmt.Errorf("during the run (%d accepted): %w", accepted, err)
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

// deliveryFigures derives times, rates, lags and duplicates from probe-sim's
// record of accepted deliveries. Times count from created; the lag of a
// message is its arrival at probe-sim minus its due time, the mailout's
// start_at.
func deliveryFigures(ds []probesim.Delivery, created, startAt time.Time, res *pipelineResult) {
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
	res.FirstDeliverySeconds = first.Sub(created).Seconds()
	res.LastDeliverySeconds = last.Sub(created).Seconds()
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

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// mib2mb converts MiB to MB (10^6 bytes), the unit of the targets.
func mib2mb(mib float64) float64 { return mib * (1 << 20) / 1e6 }
