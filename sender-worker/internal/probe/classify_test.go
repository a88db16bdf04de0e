package probe

import (
	"mailing/shared/domain"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"-5", 0},
		{"120", 2 * time.Minute},
		{" 7 ", 7 * time.Second},
		{"1.5", 0},
		{"soon", 0},
		{"99999999999999999", time.Duration(math.MaxInt64)},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{"Wed, 01 May 2024 12:00:30 GMT", 30 * time.Second},
		{"Wednesday, 01-May-24 12:01:00 GMT", time.Minute}, // RFC 850, still accepted by HTTP
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestClassifyWithoutServer(t *testing.T) {
	now := time.Now()
	h := http.Header{"Retry-After": {"3"}}
	tests := []struct {
		status   int
		body     string
		tooLarge bool
		outcome  Outcome
		reason   domain.Reason
		retry    time.Duration
	}{
		{200, okBody, false, Sent, domain.ReasonOK, 0},
		{200, " \n" + okBody + "\n", false, Sent, domain.ReasonOK, 0},
		{200, okBody, true, Transient, domain.ReasonBadResponse, 0},
		{200, `{"code":0.5}`, false, Transient, domain.ReasonBadResponse, 0},
		{200, `[]`, false, Transient, domain.ReasonBadResponse, 0},
		{200, `{"code":-1}`, false, Transient, domain.ReasonCodeNonzero, 0},
		{204, "", false, Transient, domain.ReasonUnexpectedStatus, 0},
		{301, "", false, Transient, domain.ReasonUnexpectedStatus, 0},
		{999, "", false, Transient, domain.ReasonUnexpectedStatus, 0},
		{429, "", false, Transient, domain.ReasonHTTP429, 3 * time.Second},
		{503, "", false, Transient, domain.ReasonHTTP503, 3 * time.Second},
		{504, "", false, Transient, domain.ReasonHTTP5xx, 0},
		{451, "", false, Permanent, domain.ReasonRejected4xx, 0},
		{403, "", false, Auth, domain.ReasonAuth, 0},
	}
	for _, tt := range tests {
		r := classify(tt.status, h, []byte(tt.body), tt.tooLarge, now)
		if r.Outcome != tt.outcome || r.Reason != tt.reason || r.RetryAfter != tt.retry || r.HTTPStatus != tt.status {
			t.Errorf("classify(%d, %q, tooLarge=%v) = %+v, want %s/%s retry %v", tt.status, tt.body, tt.tooLarge, r, tt.outcome, tt.reason, tt.retry)
		}
		if r.Outcome != Sent && tt.status == 200 && r.Err == nil {
			t.Errorf("classify(200, %q): a rejected 200 must say why", tt.body)
		}
	}
}

func TestExcerpt(t *testing.T) {
	long := strings.Repeat("я", 200) // 400 bytes, the cut falls inside a rune
	got := excerpt([]byte(long))
	if len(got) > maxExcerpt || !utf8.ValidString(got) || !strings.HasPrefix(long, strings.TrimSuffix(got, "?")) {
		t.Fatalf("excerpt = %q (%d bytes), want a valid UTF-8 prefix of at most %d bytes", got, len(got), maxExcerpt)
	}
	if got := excerpt([]byte("ok\xff")); got != "ok?" {
		t.Fatalf("excerpt of invalid UTF-8 = %q", got)
	}
}
