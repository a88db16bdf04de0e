package probesim

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Upper bounds keep a typo from turning into a server that never answers.
const (
	maxDelayMS     = 3_600_000 // one hour
	maxRetryAfterS = 86_400    // one day
	// rateSlack absorbs float rounding when rates such as 0.1 × 10 are
	// meant to sum to exactly 1.
	rateSlack = 1e-9
)

// Faults says how the send endpoint misbehaves. The zero value is a
// healthy server. Rates are probabilities in [0, 1] whose sum is at most 1;
// whatever is left is the chance of a normal, recorded delivery.
type Faults struct {
	// LatencyMS delays every answer; each request sleeps a uniform
	// duration in [LatencyMS-JitterMS, LatencyMS+JitterMS] (never below 0).
	LatencyMS int `json:"latency_ms"`
	JitterMS  int `json:"jitter_ms"`

	Rate500         float64 `json:"rate_500"`          // 500, transient
	Rate400         float64 `json:"rate_400"`          // 400, permanent
	Rate429         float64 `json:"rate_429"`          // 429 with Retry-After
	Rate503         float64 `json:"rate_503"`          // 503 with Retry-After
	RateGarbage     float64 `json:"rate_garbage"`      // 200 with a non-JSON body
	RateCodeNonzero float64 `json:"rate_code_nonzero"` // 200 with {"code":1,...}

	// RetryAfterS is the Retry-After value, in seconds, of 429 and 503
	// answers (0 is sent as "Retry-After: 0").
	RetryAfterS int `json:"retry_after_s"`

	// Hang makes requests wait, unanswered, until the client gives up,
	// the fault is lifted or the server shuts down; then the connection
	// is closed without an answer.
	Hang bool `json:"hang"`
	// Down makes the send endpoint close the connection without an
	// answer; the control API keeps working.
	Down bool `json:"down"`
}

// FaultsError lists every invalid field of a Faults value, keyed by its
// JSON name.
type FaultsError struct {
	Fields map[string]string
}

func (e *FaultsError) Error() string {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + " " + e.Fields[k]
	}
	return "invalid faults: " + strings.Join(parts, "; ")
}

// Validate reports every out-of-range setting at once.
func (f Faults) Validate() error {
	bad := map[string]string{}
	delay := func(name string, v int) {
		if v < 0 || v > maxDelayMS {
			bad[name] = fmt.Sprintf("must be between 0 and %d", maxDelayMS)
		}
	}
	delay("latency_ms", f.LatencyMS)
	delay("jitter_ms", f.JitterMS)
	if f.RetryAfterS < 0 || f.RetryAfterS > maxRetryAfterS {
		bad["retry_after_s"] = fmt.Sprintf("must be between 0 and %d", maxRetryAfterS)
	}
	sum := 0.0
	for _, r := range f.rates() {
		// The negated test also catches NaN.
		if !(r.v >= 0 && r.v <= 1) {
			bad[r.name] = "must be between 0 and 1"
			continue
		}
		sum += r.v
	}
	if sum > 1+rateSlack {
		bad["rates"] = "must sum to at most 1, got " + strconv.FormatFloat(sum, 'g', -1, 64)
	}
	if len(bad) > 0 {
		return &FaultsError{Fields: bad}
	}
	return nil
}

type namedRate struct {
	name string
	v    float64
	o    outcome
}

// rates lists the rate faults in the order they are drawn.
func (f Faults) rates() [6]namedRate {
	return [6]namedRate{
		{"rate_500", f.Rate500, out500},
		{"rate_400", f.Rate400, out400},
		{"rate_429", f.Rate429, out429},
		{"rate_503", f.Rate503, out503},
		{"rate_garbage", f.RateGarbage, outGarbage},
		{"rate_code_nonzero", f.RateCodeNonzero, outCodeNonzero},
	}
}

// faultState is an immutable, precomputed view of Faults read by every
// request through one atomic load.
type faultState struct {
	faults     Faults
	latency    time.Duration
	jitter     time.Duration
	cum        [6]float64 // cumulative rates, in draw order
	outcomes   [6]outcome
	anyRate    bool
	retryAfter string
	// release is closed when the server stops hanging, freeing the
	// requests that hang under this state.
	release chan struct{}
}

func newFaultState(f Faults) *faultState {
	st := &faultState{
		faults:     f,
		latency:    time.Duration(f.LatencyMS) * time.Millisecond,
		jitter:     time.Duration(f.JitterMS) * time.Millisecond,
		retryAfter: strconv.Itoa(f.RetryAfterS),
		release:    make(chan struct{}),
	}
	sum := 0.0
	for i, r := range f.rates() {
		sum += r.v
		st.cum[i] = sum
		st.outcomes[i] = r.o
	}
	st.anyRate = sum > 0
	if sum >= 1-rateSlack {
		// Rates meant to sum to 1 must leave no room for a delivery, even
		// when float addition lands just below 1.
		for i := len(st.cum) - 1; i >= 0; i-- {
			if f.rates()[i].v > 0 {
				st.cum[i] = 2
				break
			}
		}
	}
	return st
}

// pick maps a uniform draw in [0, 1) to an outcome.
func (st *faultState) pick(u float64) outcome {
	for i, c := range st.cum {
		if u < c {
			return st.outcomes[i]
		}
	}
	return outAccepted
}

// delay returns latency ± jitter for a uniform draw in [0, 1).
func (st *faultState) delay(u float64) time.Duration {
	d := st.latency
	if st.jitter > 0 {
		d += time.Duration((2*u - 1) * float64(st.jitter))
	}
	return max(d, 0)
}
