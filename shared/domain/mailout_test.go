package domain_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"mailing/shared/domain"
)

func TestMailoutInputApplyCreate(t *testing.T) {
	now := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { v := now.Add(d); return &v }
	msk := time.FixedZone("MSK", 3*3600)
	cases := []struct {
		name      string
		in        domain.MailoutInput
		badFields []string
	}{
		{"minimal", domain.MailoutInput{Text: ptr("hi"), StartAt: at(time.Hour), EndAt: at(2 * time.Hour)}, nil},
		{"start in the past is fine while end is ahead", domain.MailoutInput{Text: ptr("hi"), StartAt: at(-time.Hour), EndAt: at(time.Hour)}, nil},
		{"nothing given", domain.MailoutInput{}, []string{"text", "start_at", "end_at"}},
		{"no text", domain.MailoutInput{StartAt: at(time.Hour), EndAt: at(2 * time.Hour)}, []string{"text"}},
		{"no start", domain.MailoutInput{Text: ptr("hi"), EndAt: at(2 * time.Hour)}, []string{"start_at"}},
		{"no end", domain.MailoutInput{Text: ptr("hi"), StartAt: at(time.Hour)}, []string{"end_at"}},
		{"empty text", domain.MailoutInput{Text: ptr(""), StartAt: at(time.Hour), EndAt: at(2 * time.Hour)}, []string{"text"}},
		{"end equals start", domain.MailoutInput{Text: ptr("hi"), StartAt: at(time.Hour), EndAt: at(time.Hour)}, []string{"end_at"}},
		{"end before start", domain.MailoutInput{Text: ptr("hi"), StartAt: at(2 * time.Hour), EndAt: at(time.Hour)}, []string{"end_at"}},
		{"end in the past", domain.MailoutInput{Text: ptr("hi"), StartAt: at(-3 * time.Hour), EndAt: at(-time.Hour)}, []string{"end_at"}},
		{"end exactly now", domain.MailoutInput{Text: ptr("hi"), StartAt: at(-time.Hour), EndAt: at(0)}, []string{"end_at"}},
		// The limit counts characters, not bytes: "я" is 2 bytes, "😀" 4.
		{"1600 ASCII characters", domain.MailoutInput{Text: ptr(strings.Repeat("a", 1600)), StartAt: at(time.Hour), EndAt: at(2 * time.Hour)}, nil},
		{"1601 ASCII characters", domain.MailoutInput{Text: ptr(strings.Repeat("a", 1601)), StartAt: at(time.Hour), EndAt: at(2 * time.Hour)}, []string{"text"}},
		{"1600 Cyrillic characters (3200 bytes)", domain.MailoutInput{Text: ptr(strings.Repeat("я", 1600)), StartAt: at(time.Hour), EndAt: at(2 * time.Hour)}, nil},
		{"1601 Cyrillic characters", domain.MailoutInput{Text: ptr(strings.Repeat("я", 1601)), StartAt: at(time.Hour), EndAt: at(2 * time.Hour)}, []string{"text"}},
		{"1600 emoji (6400 bytes)", domain.MailoutInput{Text: ptr(strings.Repeat("😀", 1600)), StartAt: at(time.Hour), EndAt: at(2 * time.Hour)}, nil},
		{"1601 emoji", domain.MailoutInput{Text: ptr(strings.Repeat("😀", 1601)), StartAt: at(time.Hour), EndAt: at(2 * time.Hour)}, []string{"text"}},
		{"bad filter", domain.MailoutInput{Text: ptr("hi"), StartAt: at(time.Hour), EndAt: at(2 * time.Hour),
			Tags: &[]string{"a,b"}, PhoneCodes: &[]string{"91"}}, []string{"filter.tags", "filter.phone_codes"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := tc.in.Apply(domain.Mailout{}, now)
			if len(tc.badFields) > 0 {
				wantFields(t, err, tc.badFields...)
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if m.Status != domain.MailoutScheduled {
				t.Fatalf("status %q, want scheduled", m.Status)
			}
		})
	}

	// Times are stored in UTC at microsecond precision (PostgreSQL's);
	// the filter is normalised; the window is kept.
	start := time.Date(2026, 7, 1, 16, 0, 0, 123456789, msk)
	end := start.Add(24 * time.Hour)
	w := domain.SendWindow{Start: 540, End: 1260}
	m, err := domain.MailoutInput{
		Text: ptr("hi"), StartAt: &start, EndAt: &end, SendWindow: &w, SendWindowSet: true,
		Tags: &[]string{" vip", "vip", "new"}, PhoneCodes: &[]string{"916", "916", "903"},
	}.Apply(domain.Mailout{}, now)
	if err != nil {
		t.Fatal(err)
	}
	wantStart := time.Date(2026, 7, 1, 13, 0, 0, 123456000, time.UTC)
	if m.StartAt != wantStart || m.EndAt != wantStart.Add(24*time.Hour) {
		t.Fatalf("times %v %v, want UTC truncated to microseconds", m.StartAt, m.EndAt)
	}
	if m.SendWindow == nil || *m.SendWindow != w {
		t.Fatalf("window %v", m.SendWindow)
	}
	if !reflect.DeepEqual(m.Filter, domain.Filter{Tags: []string{"vip", "new"}, PhoneCodes: []string{"916", "903"}}) {
		t.Fatalf("filter %+v", m.Filter)
	}
	m, err = domain.MailoutInput{Text: ptr("hi"), StartAt: &start, EndAt: &end}.Apply(domain.Mailout{}, now)
	if err != nil || m.Filter.Tags == nil || m.Filter.PhoneCodes == nil || m.SendWindow != nil {
		t.Fatalf("an empty filter must be empty lists and no window: %+v %v", m, err)
	}
}

func TestMailoutInputApplyEdit(t *testing.T) {
	now := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	start := now.Add(-time.Hour)
	end := now.Add(time.Hour)
	later := now.Add(3 * time.Hour)
	earlierStart := start.Add(-time.Minute)
	w := domain.SendWindow{Start: 540, End: 1260}
	otherW := domain.SendWindow{Start: 600, End: 1260}
	stored := func(status domain.MailoutStatus) domain.Mailout {
		return domain.Mailout{
			ID: 9, Text: "hello", StartAt: start, EndAt: end, SendWindow: &w, Status: status, Version: 3,
			Filter: domain.Filter{Tags: []string{"vip", "new"}, PhoneCodes: []string{"916"}},
		}
	}
	// A full PUT repeating every stored value, with a new end.
	repeat := domain.MailoutInput{
		Text: ptr("hello"), StartAt: &start, EndAt: &later, SendWindow: &w, SendWindowSet: true,
		Tags: &[]string{"new", "vip"}, PhoneCodes: &[]string{"916"},
	}
	type result int
	const (
		ok result = iota
		conflict
		invalid
	)
	cases := []struct {
		name   string
		status domain.MailoutStatus
		in     domain.MailoutInput
		want   result
	}{
		{"scheduled: text", domain.MailoutScheduled, domain.MailoutInput{Text: ptr("new text")}, ok},
		{"scheduled: filter", domain.MailoutScheduled, domain.MailoutInput{Tags: &[]string{"other"}}, ok},
		{"scheduled: remove window", domain.MailoutScheduled, domain.MailoutInput{SendWindowSet: true}, ok},
		{"scheduled: end before start", domain.MailoutScheduled, domain.MailoutInput{EndAt: &earlierStart}, invalid},
		{"running: end only", domain.MailoutRunning, domain.MailoutInput{EndAt: &later}, ok},
		{"running: full repeat with new end", domain.MailoutRunning, repeat, ok},
		{"running: nothing given", domain.MailoutRunning, domain.MailoutInput{}, ok},
		{"running: end in the past", domain.MailoutRunning, domain.MailoutInput{EndAt: &start}, invalid},
		{"running: text", domain.MailoutRunning, domain.MailoutInput{Text: ptr("changed")}, conflict},
		{"running: start", domain.MailoutRunning, domain.MailoutInput{StartAt: &earlierStart}, conflict},
		{"running: window", domain.MailoutRunning, domain.MailoutInput{SendWindow: &otherW, SendWindowSet: true}, conflict},
		{"running: window removed", domain.MailoutRunning, domain.MailoutInput{SendWindowSet: true}, conflict},
		{"running: tags", domain.MailoutRunning, domain.MailoutInput{Tags: &[]string{"vip"}}, conflict},
		{"running: codes", domain.MailoutRunning, domain.MailoutInput{PhoneCodes: &[]string{"916", "903"}}, conflict},
		{"finished: end", domain.MailoutFinished, domain.MailoutInput{EndAt: &later}, conflict},
		{"finished: unchanged repeat", domain.MailoutFinished, repeat, conflict},
		{"finished: nothing given", domain.MailoutFinished, domain.MailoutInput{}, conflict},
		{"cancelled: text", domain.MailoutCancelled, domain.MailoutInput{Text: ptr("x")}, conflict},
		{"cancelled: end", domain.MailoutCancelled, domain.MailoutInput{EndAt: &later}, conflict},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cur := stored(tc.status)
			got, err := tc.in.Apply(cur, now)
			switch tc.want {
			case ok:
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if got.ID != cur.ID || got.Status != cur.Status {
					t.Fatalf("edit changed id or status: %+v", got)
				}
			case conflict:
				if domain.ErrorCode(err) != domain.CodeConflict {
					t.Fatalf("want conflict, got %v", err)
				}
			case invalid:
				wantFields(t, err, "end_at")
			}
		})
	}
	got, err := domain.MailoutInput{EndAt: &later}.Apply(stored(domain.MailoutRunning), now)
	if err != nil || !got.EndAt.Equal(later) || got.Text != "hello" {
		t.Fatalf("running end change: %+v %v", got, err)
	}
}
