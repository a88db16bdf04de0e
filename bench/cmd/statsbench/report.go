package main

import (
	"fmt"
	"io"
)

// printReport writes the results as Markdown tables.
func printReport(w io.Writer, r report) {
	p := r.Populate
	fmt.Fprintf(w, "## Statistics: %s message rows, %d mailouts, one of %s messages being sent\n\n",
		thousands(int64(r.Messages)), r.Mailouts, thousands(int64(r.Running)))
	if p.FinishedRows > 0 {
		printPopulate(w, r)
	}
	s := r.Sending
	fmt.Fprintf(w, "Sending during the measurement: %s outcomes recorded in %.1f s (%.0f/s; target %d/s, %d senders, batches of %d).\n\n",
		thousands(s.Recorded), s.Seconds, s.PerSecond, s.TargetPerSecond, s.Senders, s.Batch)

	fmt.Fprintf(w, "| endpoint (%d clients) | requests | errors | p50 | p99 | max | req/s | answer |\n", r.Concurrency)
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, q := range r.Requests {
		fmt.Fprintf(w, "| %s | %d | %d | %.1f ms | %.1f ms | %.1f ms | %.0f | %s B |\n",
			q.Name, q.Requests, q.Errors, q.P50MS, q.P99MS, q.MaxMS, q.PerSecond, thousands(int64(q.Bytes)))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| exact (after sending stopped) | equal |")
	fmt.Fprintln(w, "|---|---|")
	for _, c := range r.Exact {
		fmt.Fprintf(w, "| %s | %v |\n", c.Name, c.Equal)
	}
}

// thousands formats n with comma separators.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	out := make([]byte, 0, len(s)+len(s)/3)
	for i, c := range []byte(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, c)
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

// printPopulate writes the preparation times.
func printPopulate(w io.Writer, r report) {
	p := r.Populate
	fmt.Fprintln(w, "| preparation (counting triggers on) | value |")
	fmt.Fprintln(w, "|---|---:|")
	fmt.Fprintf(w, "| %s customers | %.1f s |\n", thousands(int64(r.Running)), p.CustomersSeconds)
	fmt.Fprintf(w, "| %s messages of %d finished mailouts (INSERT … generate_series) | %.1f s (%s rows/s) |\n",
		thousands(int64(p.FinishedRows)), r.Mailouts-1, p.FinishedSeconds, thousands(int64(float64(p.FinishedRows)/max(p.FinishedSeconds, 1e-9))))
	fmt.Fprintf(w, "| fan-out of the running mailout (%s rows, one INSERT … SELECT) | %.1f s |\n", thousands(p.FanOutRows), p.FanOutSeconds)
	fmt.Fprintf(w, "| ANALYZE | %.1f s |\n\n", p.AnalyzeSeconds)
}
