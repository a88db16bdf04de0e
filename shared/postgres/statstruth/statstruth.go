// Package statstruth holds what the checks of the statistics compute
// their ground truth with: plain SQL over the messages and plain maps,
// written out independently of the code under test.
package statstruth

import "encoding/json"

// ReasonGroupSQL maps a message's (status, reason) to the reason groups
// the statistics promise.
const ReasonGroupSQL = `CASE
	WHEN status = 'expired' AND reason IN ('outside_window', 'window_wait') THEN 'outside_window'
	WHEN status = 'expired' THEN 'expired'
	WHEN reason IN ('timeout', 'http_408') THEN 'timeout'
	WHEN reason = 'connection' THEN 'connection'
	WHEN reason IN ('http_5xx', 'http_503') THEN 'http_5xx'
	WHEN reason = 'http_429' THEN 'rate_limited'
	WHEN reason IN ('bad_response', 'code_nonzero', 'unexpected_status') THEN 'bad_response'
	WHEN reason IN ('rejected_4xx', 'invalid_message') THEN 'rejected_4xx'
	WHEN reason IN ('auth', 'auth_paused') THEN 'auth'
	ELSE 'other' END`

// Counts turns a counts struct into its JSON fields, total left out (a
// truth counts by key only).
func Counts(v any) map[string]int64 {
	raw, _ := json.Marshal(v)
	var m map[string]int64
	_ = json.Unmarshal(raw, &m)
	delete(m, "total")
	return m
}

// NonZero is m without its zero counts.
func NonZero(m map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for k, v := range m {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}
