package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"mailing/sender-worker/probesim"
)

// pauseResult is what pausing a mailout in full swing showed. The commit
// of the pause lies between the request being sent and its answer; the
// figures take the answer as the commit, so an attempt counted as new
// certainly started after it.
type pauseResult struct {
	AtDelivered int64   `json:"at_delivered"` // accepted by probe-sim when the pause was sent
	RequestMS   float64 `json:"request_ms"`   // POST …/pause sent → answered
	// InFlight attempts arrived at probe-sim before the answer and were
	// answered after the request was sent; InFlightDuringRequest of them
	// arrived while it ran (before or after the commit: it cannot tell).
	InFlight              int `json:"in_flight"`
	InFlightDuringRequest int `json:"in_flight_during_request"`
	// NewAttempts arrived after the answer, before the resume; NewRequests
	// counts every request that did, whatever probe-sim answered.
	NewAttempts int   `json:"new_attempts"`
	NewRequests int64 `json:"new_requests"`
	// NewP50MS is the median new attempt's arrival after the answer;
	// NewAfter1s counts those that arrived more than a second after it.
	NewP50MS   float64 `json:"new_p50_ms"`
	NewAfter1s int     `json:"new_after_1s"`
	// LastArrivalMS is the last attempt's arrival before the resume minus
	// the answer (negative: before it); PauseLatencyMS is the same for the
	// last new attempt, 0 when there was none.
	LastArrivalMS  float64 `json:"last_arrival_ms"`
	PauseLatencyMS float64 `json:"pause_latency_ms"`
	// QuietMS is answer → the last in-flight attempt accepted by probe-sim.
	QuietMS float64 `json:"quiet_ms"`
	// ParkedSeconds is answer → every pending message parked (its job
	// dropped) and none sending; Parked is how many were.
	ParkedSeconds float64 `json:"parked_seconds"`
	Parked        int64   `json:"parked"`
	HeldSeconds   float64 `json:"held_seconds"` // answer → resume sent
	ResumeMS      float64 `json:"resume_ms"`
	// ResumeToLastSeconds is the resume's answer → the last delivery.
	ResumeToLastSeconds float64 `json:"resume_to_last_delivery_seconds"`
	resumed             time.Time
}

// pauseAndResume waits until probe-sim has accepted atShare of the
// audience, pauses the mailout through the API, watches probe-sim until
// every job has been dropped and its message parked (and at least
// e.o.pauseHold), then resumes it.
func (e *env) pauseAndResume(ctx context.Context, id int64, audience int) (pauseResult, error) {
	var res pauseResult
	threshold := max(int64(float64(audience)*e.o.pauseAt), 1)
	for e.sim.Stats().Accepted < threshold {
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
	res.AtDelivered = e.sim.Stats().Accepted
	sent := time.Now()
	if err := e.mailoutCommand(ctx, id, "pause"); err != nil {
		return res, fmt.Errorf("%w (after %d deliveries of %d; a larger audience or latency gives the pause time)", err, res.AtDelivered, audience)
	}
	answered := time.Now()
	res.RequestMS = ms(answered.Sub(sent))
	requests := e.sim.Stats().Requests
	fmt.Fprintf(e.stderr, "paused at %d delivered, answered in %.1f ms\n", res.AtDelivered, res.RequestMS)

	quiet := e.watchAccepted(answered)
	parked, err := e.waitParked(ctx, id, answered)
	lastChange := quiet()
	if err != nil {
		return res, err
	}
	res.QuietMS = ms(lastChange.Sub(answered))
	res.ParkedSeconds, res.Parked = time.Since(answered).Seconds(), parked
	for time.Since(answered) < e.o.pauseHold {
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	ds := e.sim.Deliveries()
	res.NewRequests = e.sim.Stats().Requests - requests
	classifyPause(&res, ds, res.AtDelivered, sent, answered)

	resume := time.Now()
	res.HeldSeconds = resume.Sub(answered).Seconds()
	if err := e.mailoutCommand(ctx, id, "resume"); err != nil {
		return res, err
	}
	res.resumed = time.Now()
	res.ResumeMS = ms(res.resumed.Sub(resume))
	fmt.Fprintf(e.stderr, "resumed after %.1fs: %d in flight at the pause, %d new attempts, %d parked\n",
		res.HeldSeconds, res.InFlight, res.NewAttempts, res.Parked)
	return res, nil
}

// classifyPause sorts the deliveries up to the resume: ds is in the order
// probe-sim accepted them, and the first before of them were accepted
// before the pause was sent (probe-sim counts a delivery just after
// recording it, so a delivery accepted as the pause was sent may count as
// in flight; it arrived before the answer either way).
func classifyPause(res *pauseResult, ds []probesim.Delivery, before int64, sent, answered time.Time) {
	var last time.Time
	var news []time.Duration
	for i, d := range ds {
		if d.At.After(last) {
			last = d.At
		}
		switch {
		case !d.At.Before(answered):
			news = append(news, d.At.Sub(answered))
			if d.At.Sub(answered) > time.Second {
				res.NewAfter1s++
			}
		case int64(i) >= before:
			res.InFlight++
			if !d.At.Before(sent) {
				res.InFlightDuringRequest++
			}
		}
	}
	if !last.IsZero() {
		res.LastArrivalMS = ms(last.Sub(answered))
	}
	if res.NewAttempts = len(news); len(news) > 0 {
		slices.Sort(news)
		res.PauseLatencyMS, res.NewP50MS = ms(news[len(news)-1]), ms(quantile(news, 0.5))
	}
}

// watchAccepted polls probe-sim's count of accepted deliveries every
// millisecond from since on; the function it returns stops the polling
// and tells when the count last grew (since, if it never did).
func (e *env) watchAccepted(since time.Time) func() time.Time {
	var last atomic.Int64
	last.Store(since.UnixNano())
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		n := e.sim.Stats().Accepted
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-t.C:
				if m := e.sim.Stats().Accepted; m != n {
					n = m
					last.Store(now.UnixNano())
				}
			}
		}
	}()
	return func() time.Time {
		close(stop)
		<-done
		return time.Unix(0, last.Load())
	}
}

// waitParked waits until no message of the paused mailout is sending and
// every pending one is parked: every job has reached a worker and been
// dropped, so nothing is left that could start an attempt.
func (e *env) waitParked(ctx context.Context, id int64, since time.Time) (int64, error) {
	for {
		var open, parked int64
		err := e.db.SQL().QueryRowContext(ctx, `SELECT
			count(*) FILTER (WHERE status = 'sending' OR NOT parked), count(*) FILTER (WHERE status = 'pending' AND parked)
			FROM messages WHERE mailout_id = $1 AND status IN ('pending', 'sending')`, id).Scan(&open, &parked)
		if err != nil {
			return 0, fmt.Errorf("count parked messages: %w", err)
		}
		if open == 0 {
			return parked, nil
		}
		if time.Since(since) > e.o.timeout {
			return 0, fmt.Errorf("mailout %d: %d messages neither parked nor final %s after the pause", id, open, e.o.timeout)
		}
		if err := e.workerExited(); err != nil {
			return 0, fmt.Errorf("while paused: %w", err)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// mailoutCommand posts /api/mailouts/{id}/<command> (pause, resume).
func (e *env) mailoutCommand(ctx context.Context, id int64, command string) error {
	req, err := e.client.NewRequest(ctx, http.MethodPost, "/api/mailouts/"+strconv.FormatInt(id, 10)+"/"+command, nil, "")
	if err != nil {
		return err
	}
	var m struct {
		Status string `json:"status"`
	}
	if err := e.client.DoJSON(req, http.StatusOK, &m); err != nil {
		return fmt.Errorf("%s mailout %d: %w", command, id, err)
	}
	return nil
}
