package probesim

import (
	"errors"
	"math"
	"net/http"
	"sort"
	"strings"
	"testing"
)

func TestControlFaultsReplaceAndValidate(t *testing.T) {
	b := setup(t, Options{})
	var got Faults
	b.control(http.MethodPut, "/control/faults", `{"latency_ms": 5, "jitter_ms": 2, "rate_429": 0.25, "retry_after_s": 3}`, http.StatusOK, &got)
	want := Faults{LatencyMS: 5, JitterMS: 2, Rate429: 0.25, RetryAfterS: 3}
	if got != want || b.srv.Faults() != want {
		t.Fatalf("PUT answered %+v, server has %+v, want %+v", got, b.srv.Faults(), want)
	}
	b.control(http.MethodGet, "/control/faults", "", http.StatusOK, &got)
	if got != want {
		t.Fatalf("GET: %+v", got)
	}

	bad := []struct {
		body   string
		fields []string // nil: a body error without fields
	}{
		{`{"rate_500": 1.5}`, []string{"rate_500"}},
		{`{"rate_400": -0.1}`, []string{"rate_400"}},
		{`{"rate_500": 0.6, "rate_503": 0.5}`, []string{"rates"}},
		{`{"latency_ms": -1, "jitter_ms": -2, "retry_after_s": -3}`, []string{"jitter_ms", "latency_ms", "retry_after_s"}},
		{`{"latency_ms": 3600001}`, []string{"latency_ms"}},
		{`{"rate_garbage": 0.5, "surprise": true}`, nil},
		{`{"hang": "yes"}`, nil},
		{`{"down": true} {"down": false}`, nil},
		{`not json`, nil},
	}
	for _, c := range bad {
		var e struct {
			Error struct {
				Code    string            `json:"code"`
				Message string            `json:"message"`
				Fields  map[string]string `json:"fields"`
			} `json:"error"`
		}
		b.control(http.MethodPut, "/control/faults", c.body, http.StatusBadRequest, &e)
		keys := make([]string, 0, len(e.Error.Fields))
		for k := range e.Error.Fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if e.Error.Code != "invalid" || e.Error.Message == "" || strings.Join(keys, ",") != strings.Join(c.fields, ",") {
			t.Errorf("%s: error %+v, want fields %v", c.body, e.Error, c.fields)
		}
		if b.srv.Faults() != want {
			t.Fatalf("%s: a refused PUT changed the faults to %+v", c.body, b.srv.Faults())
		}
	}

	// Full replacement: whatever is left out goes back to zero.
	b.control(http.MethodPut, "/control/faults", `{"rate_500": 0.1}`, http.StatusOK, &got)
	if b.srv.Faults() != (Faults{Rate500: 0.1}) {
		t.Fatalf("after replacement: %+v", b.srv.Faults())
	}
	// Rates meant to add up to exactly 1 are accepted despite float rounding.
	tenths := `{"rate_500": 0.1, "rate_400": 0.1, "rate_429": 0.1, "rate_503": 0.2, "rate_garbage": 0.2, "rate_code_nonzero": 0.3}`
	b.control(http.MethodPut, "/control/faults", tenths, http.StatusOK, &got)
}

func TestRatesSummingToOneLeaveNoDelivery(t *testing.T) {
	f := Faults{Rate500: 0.1, Rate400: 0.1, Rate429: 0.1, Rate503: 0.2, RateGarbage: 0.2, RateCodeNonzero: 0.3}
	st := newFaultState(f)
	for _, u := range []float64{0, 0.5, 0.9999999999999999, math.Nextafter(1, 0)} {
		if o := st.pick(u); o == outAccepted {
			t.Fatalf("draw %v gave a delivery with rates summing to 1", u)
		}
	}
	if o := newFaultState(Faults{Rate500: 0.5}).pick(0.5); o != outAccepted {
		t.Fatalf("draw 0.5 with rate 0.5: %v", o)
	}
	if d := newFaultState(Faults{LatencyMS: 10, JitterMS: 30}).delay(0); d != 0 {
		t.Fatalf("latency - jitter below zero gave %v", d)
	}
}

func TestValidateRejectsNaNAndNewRejectsBadOptions(t *testing.T) {
	var fe *FaultsError
	if err := (Faults{Rate503: math.NaN()}).Validate(); !errors.As(err, &fe) || fe.Fields["rate_503"] == "" {
		t.Fatalf("NaN rate: %v", err)
	}
	if _, err := New(Options{}); err == nil {
		t.Fatal("New accepted an empty secret")
	}
	if _, err := New(Options{Secret: testSecret, Faults: Faults{Rate500: 2}}); err == nil || !strings.Contains(err.Error(), "rate_500") {
		t.Fatalf("New with a bad rate: %v", err)
	}
}

func TestResetForgetsEverything(t *testing.T) {
	b := setup(t, Options{Faults: Faults{Rate500: 0.5}, Seed: 3})
	for i := int64(1); i <= 20; i++ {
		b.send(i)
	}
	if st := b.srv.Stats(); st.Requests != 20 || st.Accepted == 0 || st.Status500 == 0 {
		t.Fatalf("before reset: %+v", st)
	}
	b.control(http.MethodPost, "/control/reset", "", http.StatusNoContent, nil)
	var st Stats
	b.control(http.MethodGet, "/control/stats", "", http.StatusOK, &st)
	var ds []Delivery
	b.control(http.MethodGet, "/control/deliveries", "", http.StatusOK, &ds)
	var f Faults
	b.control(http.MethodGet, "/control/faults", "", http.StatusOK, &f)
	if st != (Stats{}) || len(ds) != 0 || f != (Faults{}) {
		t.Fatalf("after reset: stats %+v, deliveries %d, faults %+v", st, len(ds), f)
	}
	if status, _, raw := b.send(1); status != http.StatusOK || len(b.srv.Deliveries()) != 1 {
		t.Fatalf("after reset: %d %s", status, raw)
	}
}

func TestStatsJSONNamesEveryOutcome(t *testing.T) {
	b := setup(t, Options{})
	var st map[string]int64
	b.control(http.MethodGet, "/control/stats", "", http.StatusOK, &st)
	for o := outcome(0); o < numOutcomes; o++ {
		if _, ok := st[o.String()]; !ok {
			t.Errorf("stats has no %q: %v", o, st)
		}
	}
	if _, ok := st["requests"]; !ok || len(st) != int(numOutcomes)+1 {
		t.Fatalf("stats keys: %v", st)
	}
}

func TestUnknownRoutesAndMethods(t *testing.T) {
	b := setup(t, Options{})
	b.control(http.MethodGet, "/v1/send/1", "", http.StatusMethodNotAllowed, nil)
	b.control(http.MethodPost, "/v1/other", "", http.StatusNotFound, nil)
	var h map[string]string
	b.control(http.MethodGet, "/healthz", "", http.StatusOK, &h)
	if h["status"] != "ok" {
		t.Fatalf("healthz: %v", h)
	}
	if st := b.srv.Stats(); st.Requests != 0 {
		t.Fatalf("non-send requests counted: %+v", st)
	}
}
