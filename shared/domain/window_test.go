package domain_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"mailing/shared/domain"
)

func TestParseClock(t *testing.T) {
	good := map[string]domain.Clock{
		"00:00": 0,
		"00:01": 1,
		"09:30": 9*60 + 30,
		"12:00": 720,
		"23:59": 23*60 + 59,
	}
	for s, want := range good {
		got, err := domain.ParseClock(s)
		if err != nil || got != want {
			t.Errorf("ParseClock(%q) = %d, %v; want %d", s, got, err, want)
		}
		if got.String() != s {
			t.Errorf("Clock(%d).String() = %q, want %q", got, got.String(), s)
		}
	}
	for _, s := range []string{"", "9:30", "09:3", "0930", "09-30", "24:00", "23:60", "99:99", "ab:cd",
		"-1:00", "09:30 ", " 9:30", "09:30:00", "０9:30", "+9:30"} {
		if got, err := domain.ParseClock(s); err == nil {
			t.Errorf("ParseClock(%q) = %d, want an error", s, got)
		}
	}
}

func TestParseSendWindow(t *testing.T) {
	cases := []struct {
		start, end string
		want       domain.SendWindow
		errPart    string // empty: must succeed
	}{
		{"09:00", "21:00", domain.SendWindow{Start: 540, End: 1260}, ""},
		{"21:00", "09:00", domain.SendWindow{Start: 1260, End: 540}, ""}, // crosses midnight
		{"00:00", "23:59", domain.SendWindow{Start: 0, End: 1439}, ""},
		{"23:59", "00:00", domain.SendWindow{Start: 1439, End: 0}, ""},
		{"09:00", "09:00", domain.SendWindow{}, "differ"},
		{"9:00", "21:00", domain.SendWindow{}, "send_window.start"},
		{"09:00", "24:00", domain.SendWindow{}, "send_window.end"},
		{"", "", domain.SendWindow{}, "send_window.start"},
	}
	for _, tc := range cases {
		got, err := domain.ParseSendWindow(tc.start, tc.end)
		switch {
		case tc.errPart == "" && (err != nil || got != tc.want):
			t.Errorf("ParseSendWindow(%q, %q) = %+v, %v; want %+v", tc.start, tc.end, got, err, tc.want)
		case tc.errPart != "" && (err == nil || !strings.Contains(err.Error(), tc.errPart)):
			t.Errorf("ParseSendWindow(%q, %q) error %v, want one mentioning %q", tc.start, tc.end, err, tc.errPart)
		}
	}
}

func TestSendWindowJSON(t *testing.T) {
	good := []struct {
		in, canonical string
	}{
		{`{"start":"09:00","end":"21:00"}`, `{"start":"09:00","end":"21:00"}`},
		{`{"end":"09:00","start":"21:00"}`, `{"start":"21:00","end":"09:00"}`},
		{` { "start" : "00:00" , "end" : "00:01" } `, `{"start":"00:00","end":"00:01"}`},
	}
	for _, tc := range good {
		var w domain.SendWindow
		if err := json.Unmarshal([]byte(tc.in), &w); err != nil {
			t.Errorf("unmarshal %s: %v", tc.in, err)
			continue
		}
		out, err := json.Marshal(w)
		if err != nil || string(out) != tc.canonical {
			t.Errorf("marshal of %s = %s, %v; want %s", tc.in, out, err, tc.canonical)
		}
		var again domain.SendWindow
		if err := json.Unmarshal(out, &again); err != nil || again != w {
			t.Errorf("round trip of %s: %+v, %v; want %+v", tc.in, again, err, w)
		}
	}
	for _, in := range []string{
		`{}`, `{"start":"09:00"}`, `{"start":"09:00","end":"09:00"}`, `{"start":"9:00","end":"21:00"}`,
		`{"start":540,"end":1260}`, `"09:00-21:00"`, `[]`, `null`, `{"start":"09:00","end":"21:00","tz":"UTC"}`,
	} {
		var w domain.SendWindow
		if err := json.Unmarshal([]byte(in), &w); err == nil {
			t.Errorf("unmarshal %s = %+v, want an error", in, w)
		}
	}
	// Inside a mailout the window is optional: null leaves the pointer nil.
	var m struct {
		W *domain.SendWindow `json:"send_window"`
	}
	if err := json.Unmarshal([]byte(`{"send_window":null}`), &m); err != nil || m.W != nil {
		t.Errorf("null window: %+v, %v", m.W, err)
	}
	if out, _ := json.Marshal(m); string(out) != `{"send_window":null}` {
		t.Errorf("absent window marshals as %s", out)
	}
}

// utc parses an RFC 3339 instant; expectations below are written in UTC,
// computed by hand from each zone's offset, so the function under test is
// never used to produce its own expected answer.
func utc(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func window(t *testing.T, start, end string) *domain.SendWindow {
	t.Helper()
	w, err := domain.ParseSendWindow(start, end)
	if err != nil {
		t.Fatal(err)
	}
	return &w
}

func TestNextSendTime(t *testing.T) {
	far := "2027-01-01T00:00:00Z"
	cases := []struct {
		name       string
		zone       string
		start, end string // window; empty means none
		now, endAt string
		want       string // empty: no send time (false)
	}{
		// Europe/Moscow is UTC+3 all year.
		{"nil window sends now", "Europe/Moscow", "", "", "2026-07-01T10:00:00Z", far, "2026-07-01T10:00:00Z"},
		{"nil window, now at end", "Europe/Moscow", "", "", "2026-07-01T10:00:00Z", "2026-07-01T10:00:00Z", ""},
		// 08:00Z = 11:00 MSK, inside 09:00–21:00.
		{"inside", "Europe/Moscow", "09:00", "21:00", "2026-07-01T08:00:00Z", far, "2026-07-01T08:00:00Z"},
		// 06:00Z = 09:00 MSK: the opening minute itself is inside.
		{"at opening", "Europe/Moscow", "09:00", "21:00", "2026-07-01T06:00:00Z", far, "2026-07-01T06:00:00Z"},
		// 03:00Z = 06:00 MSK → opens 09:00 MSK = 06:00Z.
		{"before opening same day", "Europe/Moscow", "09:00", "21:00", "2026-07-01T03:00:00Z", far, "2026-07-01T06:00:00Z"},
		// 19:30Z = 22:30 MSK → next day 09:00 MSK = 06:00Z.
		{"after closing", "Europe/Moscow", "09:00", "21:00", "2026-07-01T19:30:00Z", far, "2026-07-02T06:00:00Z"},
		// 18:00Z = 21:00 MSK: the end is exclusive.
		{"at closing", "Europe/Moscow", "09:00", "21:00", "2026-07-01T18:00:00Z", far, "2026-07-02T06:00:00Z"},
		// 17:59:59.5Z = 20:59:59.5 MSK, still inside.
		{"just before closing", "Europe/Moscow", "09:00", "21:00", "2026-07-01T17:59:59.5Z", far, "2026-07-01T17:59:59.5Z"},
		// 21:00–09:00 crosses midnight. 20:00Z = 23:00 MSK, inside.
		{"night window at 23:00", "Europe/Moscow", "21:00", "09:00", "2026-07-01T20:00:00Z", far, "2026-07-01T20:00:00Z"},
		// 00:00Z = 03:00 MSK, inside (opened the evening before).
		{"night window at 03:00", "Europe/Moscow", "21:00", "09:00", "2026-07-01T00:00:00Z", far, "2026-07-01T00:00:00Z"},
		// 09:00Z = 12:00 MSK → opens 21:00 MSK = 18:00Z.
		{"night window at 12:00", "Europe/Moscow", "21:00", "09:00", "2026-07-01T09:00:00Z", far, "2026-07-01T18:00:00Z"},
		// Opening 18:00Z is exactly endAt: never sendable.
		{"opening at endAt", "Europe/Moscow", "21:00", "09:00", "2026-07-01T09:00:00Z", "2026-07-01T18:00:00Z", ""},
		{"opening after endAt", "Europe/Moscow", "21:00", "09:00", "2026-07-01T09:00:00Z", "2026-07-01T12:00:00Z", ""},
		{"opening just before endAt", "Europe/Moscow", "21:00", "09:00", "2026-07-01T09:00:00Z", "2026-07-01T18:00:01Z", "2026-07-01T18:00:00Z"},
		{"now after endAt", "Europe/Moscow", "09:00", "21:00", "2026-07-01T08:00:00Z", "2026-07-01T07:00:00Z", ""},
		{"now at endAt", "Europe/Moscow", "09:00", "21:00", "2026-07-01T08:00:00Z", "2026-07-01T08:00:00Z", ""},

		// The same instant, 00:00Z, is 03:00 in Moscow (UTC+3, closed until
		// 09:00 MSK = 06:00Z) and 10:00 in Vladivostok (UTC+10, open).
		{"same instant, Moscow", "Europe/Moscow", "09:00", "21:00", "2026-07-01T00:00:00Z", far, "2026-07-01T06:00:00Z"},
		{"same instant, Vladivostok", "Asia/Vladivostok", "09:00", "21:00", "2026-07-01T00:00:00Z", far, "2026-07-01T00:00:00Z"},
		// 13:00Z is 16:00 MSK (open) and 23:00 in Vladivostok (closed until
		// 09:00 VLAT the next day = 23:00Z).
		{"evening, Moscow", "Europe/Moscow", "09:00", "21:00", "2026-07-01T13:00:00Z", far, "2026-07-01T13:00:00Z"},
		{"evening, Vladivostok", "Asia/Vladivostok", "09:00", "21:00", "2026-07-01T13:00:00Z", far, "2026-07-01T23:00:00Z"},

		// Europe/Berlin, 2026-03-29: CET (UTC+1) until 01:00Z, when 02:00
		// local becomes 03:00 CEST (UTC+2). now 23:00Z on the 28th is 00:00
		// CET on the 29th.
		// 02:30 never shows on the clock: the window opens when the clock
		// jumps past it, 03:00 CEST = 01:00Z.
		{"Berlin spring gap opening", "Europe/Berlin", "02:30", "10:00", "2026-03-28T23:00:00Z", far, "2026-03-29T01:00:00Z"},
		// 09:00 CEST = 07:00Z (not 08:00Z: the opening follows the wall clock).
		{"Berlin spring day opening", "Europe/Berlin", "09:00", "21:00", "2026-03-28T23:00:00Z", far, "2026-03-29T07:00:00Z"},
		// A window wholly inside the gap does not exist that day: next is
		// 02:15 CEST on the 30th = 00:15Z.
		{"Berlin window inside the gap", "Europe/Berlin", "02:15", "02:45", "2026-03-28T23:00:00Z", far, "2026-03-30T00:15:00Z"},
		// 00:30Z = 01:30 CET, inside 22:00–02:30.
		{"Berlin night window before the gap", "Europe/Berlin", "22:00", "02:30", "2026-03-29T00:30:00Z", far, "2026-03-29T00:30:00Z"},
		// 01:10Z = 03:10 CEST: the window closed when the clock jumped;
		// next 22:00 CEST = 20:00Z.
		{"Berlin night window after the gap", "Europe/Berlin", "22:00", "02:30", "2026-03-29T01:10:00Z", far, "2026-03-29T20:00:00Z"},

		// Europe/Berlin, 2026-10-25: CEST (UTC+2) until 01:00Z, when 03:00
		// local falls back to 02:00 CET (UTC+1); 02:00–03:00 shows twice.
		// 22:00Z on the 24th is 00:00 CEST on the 25th.
		{"Berlin autumn day opening", "Europe/Berlin", "09:00", "21:00", "2026-10-24T22:00:00Z", far, "2026-10-25T08:00:00Z"},
		// The first 02:30 is CEST = 00:30Z.
		{"Berlin autumn opening in the repeated hour", "Europe/Berlin", "02:30", "06:00", "2026-10-24T22:00:00Z", far, "2026-10-25T00:30:00Z"},
		// 00:50Z = 02:50 CEST, after 02:15–02:45; at 01:00Z the clock
		// falls back to 02:00 CET and reaches 02:15 CET at 01:15Z.
		{"Berlin autumn window shows twice", "Europe/Berlin", "02:15", "02:45", "2026-10-25T00:50:00Z", far, "2026-10-25T01:15:00Z"},
		// 00:40Z = 02:40 CEST, after 22:00–02:30; at 01:00Z the clock falls
		// back to 02:00 CET, inside again.
		{"Berlin autumn clock falls back into the window", "Europe/Berlin", "22:00", "02:30", "2026-10-25T00:40:00Z", far, "2026-10-25T01:00:00Z"},

		// America/New_York, 2026-03-08: EST (UTC-5) until 07:00Z, when
		// 02:00 local becomes 03:00 EDT (UTC-4). 05:00Z is 00:00 EST.
		// 02:30 does not exist: opens at 03:00 EDT = 07:00Z. (time.Date
		// would give 01:30 EST here, before the gap and outside the window.)
		{"New York spring gap opening", "America/New_York", "02:30", "05:00", "2026-03-08T05:00:00Z", far, "2026-03-08T07:00:00Z"},
		// 09:00 EDT = 13:00Z.
		{"New York spring day opening", "America/New_York", "09:00", "17:00", "2026-03-08T05:00:00Z", far, "2026-03-08T13:00:00Z"},
		// 06:45Z = 01:45 EST, outside 02:30–05:00; not sendable at 06:30Z.
		{"New York just before the gap", "America/New_York", "02:30", "05:00", "2026-03-08T06:45:00Z", far, "2026-03-08T07:00:00Z"},

		// America/New_York, 2026-11-01: EDT (UTC-4) until 06:00Z, when
		// 02:00 local falls back to 01:00 EST (UTC-5). 04:00Z is 00:00 EDT.
		// First 01:30 is EDT = 05:30Z.
		{"New York autumn first occurrence", "America/New_York", "01:30", "03:00", "2026-11-01T04:00:00Z", far, "2026-11-01T05:30:00Z"},
		// 05:40Z = 01:40 EDT, inside.
		{"New York autumn inside", "America/New_York", "01:30", "03:00", "2026-11-01T05:40:00Z", far, "2026-11-01T05:40:00Z"},
		// 05:45Z = 01:45 EDT, after 01:00–01:30; at 06:00Z the clock falls
		// back to 01:00 EST, inside again.
		{"New York autumn falls back into the window", "America/New_York", "01:00", "01:30", "2026-11-01T05:45:00Z", far, "2026-11-01T06:00:00Z"},
		// 09:00 EST = 14:00Z.
		{"New York autumn day opening", "America/New_York", "09:00", "17:00", "2026-11-01T04:00:00Z", far, "2026-11-01T14:00:00Z"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var w *domain.SendWindow
			if tc.start != "" {
				w = window(t, tc.start, tc.end)
			}
			got, ok := domain.NextSendTime(utc(t, tc.now), utc(t, tc.endAt), w, zone(t, tc.zone))
			if tc.want == "" {
				if ok {
					t.Fatalf("got %s, want no send time", got.UTC().Format(time.RFC3339Nano))
				}
				return
			}
			if !ok || !got.Equal(utc(t, tc.want)) {
				t.Fatalf("got %s %v, want %s", got.UTC().Format(time.RFC3339Nano), ok, tc.want)
			}
		})
	}
}

// TestNextSendTimeAroundTransitions walks instants across every zone
// transition of a year in zones with unusual rules and checks the contract
// (inside the window, earliest, within 48h) for windows placed on, around
// and across the shifted hours.
func TestNextSendTimeAroundTransitions(t *testing.T) {
	zones := []struct {
		name string
		year int
	}{
		{"Europe/Berlin", 2026}, {"America/New_York", 2026}, {"Australia/Lord_Howe", 2026},
		{"Antarctica/Troll", 2026}, {"Europe/Dublin", 2026}, {"Africa/Casablanca", 2026},
		{"America/Santiago", 2026}, {"Pacific/Apia", 2011},
	}
	windows := []domain.SendWindow{
		{Start: 150, End: 600}, {Start: 135, End: 165}, {Start: 1320, End: 150}, {Start: 60, End: 90},
		{Start: 0, End: 1439}, {Start: 1439, End: 0}, {Start: 120, End: 180}, {Start: 540, End: 1260},
		{Start: 100, End: 110}, {Start: 0, End: 60},
	}
	checked := 0
	for _, z := range zones {
		loc := zone(t, z.name)
		at := time.Date(z.year, 1, 1, 0, 0, 0, 0, loc)
		for {
			_, next := at.ZoneBounds()
			if next.IsZero() || next.Year() > z.year {
				break
			}
			// An odd step lands on many different seconds and minutes.
			for now := next.Add(-36 * time.Hour); now.Before(next.Add(36 * time.Hour)); now = now.Add(7*time.Minute + 13*time.Second) {
				for _, w := range windows {
					checkNextSendTime(t, w, loc, now)
					checked++
				}
			}
			at = next
		}
	}
	if checked < 10000 {
		t.Fatalf("only %d checks ran: the zones have fewer transitions than expected", checked)
	}
}
