package domain_test

import (
	"bytes"
	"encoding/json"
	"regexp"
	"testing"
	"time"

	"mailing/shared/domain"
)

func FuzzValidatePhone(f *testing.F) {
	strictPhone := regexp.MustCompile(`^7\d{10}$`)
	for _, s := range []string{"79161234567", "89161234567", "7916123456", "791612345678", "+79161234567",
		"79161234567\n", "７9161234567", "7٩161234567", "", "7", "7abcdefghij", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, phone string) {
		if domain.ValidatePhone(phone) != "" {
			return
		}
		if !strictPhone.MatchString(phone) {
			t.Fatalf("accepted %q, which is not 7 and 10 ASCII digits", phone)
		}
		if code := domain.PhoneCodeOf(phone); domain.ValidatePhoneCode(code) != "" {
			t.Fatalf("phone %q implies code %q, which is not 3 digits", phone, code)
		}
	})
}

func FuzzValidateTimezone(f *testing.F) {
	for _, s := range []string{"Europe/Moscow", "UTC", "Local", "", " UTC", "Etc/GMT+3", "../etc/passwd",
		"/etc/localtime", "Europe/", "Europe", "America/Argentina/Buenos_Aires", "Europe/Moscow\x00", "europe/moscow"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if domain.ValidateTimezone(name) != "" {
			return
		}
		if _, err := time.LoadLocation(name); err != nil {
			t.Fatalf("accepted %q, but LoadLocation fails: %v", name, err)
		}
		if len(name) == 0 || len(name) > 64 {
			t.Fatalf("accepted %q, outside the stored length 1–64", name)
		}
	})
}

func FuzzParseSendWindow(f *testing.F) {
	seeds := []struct {
		start, end string
		now        int64 // Unix seconds
		zone       uint8
	}{
		{"09:00", "21:00", 1782907200, 1}, // 2026-07-01 12:00Z, Moscow
		{"21:00", "09:00", 1782907200, 2},
		{"02:30", "10:00", 1774738800, 3},  // 2026-03-28 23:00Z, Berlin spring gap
		{"22:00", "02:30", 1774746600, 3},  // 2026-03-29 01:10Z, just after the gap
		{"02:30", "05:00", 1772949600, 4},  // 2026-03-08 06:00Z, New York gap
		{"02:15", "02:45", 1792889400, 3},  // 2026-10-25 00:50Z, Berlin repeated hour
		{"01:00", "01:30", 1793511900, 4},  // 2026-11-01 05:45Z, New York repeated hour
		{"01:40", "01:50", 1775314500, 5},  // 2026-04-04 14:55Z, Lord Howe falls back 30 minutes at 15:00Z
		{"09:00", "10:00", 1325192400, 11}, // 2011-12-29 21:00Z, Apia, the day before the skipped one
		{"00:00", "23:59", 0, 0},
		{"23:59", "00:00", 4102444800, 6},
		{"09:00", "09:00", 0, 0},
		{"9:00", "21:00", 0, 0},
		{"24:00", "21:00", 0, 0},
		{"", "", 0, 0},
		{"ab:cd", "\x00\x00:00", -1, 255},
	}
	for _, s := range seeds {
		f.Add(s.start, s.end, s.now, s.zone)
	}
	f.Fuzz(func(t *testing.T, start, end string, nowUnix int64, zoneIdx uint8) {
		w, err := domain.ParseSendWindow(start, end)
		if err != nil {
			return
		}
		if w.Start == w.End {
			t.Fatalf("accepted an empty window %q–%q", start, end)
		}
		if w.Start.String() != start || w.End.String() != end {
			t.Fatalf("%q–%q prints as %s–%s", start, end, w.Start, w.End)
		}
		checkNextSendTime(t, w, fuzzZone(t, zoneIdx), fuzzInstant(nowUnix, 0))
	})
}

func FuzzNextSendTime(f *testing.F) {
	seeds := []struct {
		start, end uint16 // minutes since midnight
		now        int64  // Unix seconds
		nanos      uint32
		zone       uint8
	}{
		{540, 1260, 1782907200, 0, 1},
		{150, 600, 1774738800, 500, 3},     // Berlin spring gap
		{1320, 150, 1792888800, 0, 3},      // Berlin autumn, 00:40Z
		{60, 90, 1793511900, 999999999, 4}, // New York autumn, 05:45Z
		{100, 110, 1775314500, 0, 5},       // Lord Howe autumn
		{0, 1, 1325192400, 1, 11},          // Apia skipped day
		{1439, 0, 0, 0, 7},
	}
	for _, s := range seeds {
		f.Add(s.start, s.end, s.now, s.nanos, s.zone)
	}
	f.Fuzz(func(t *testing.T, start, end uint16, nowUnix int64, nanos uint32, zoneIdx uint8) {
		w := domain.SendWindow{Start: domain.Clock(start % 1440), End: domain.Clock(end % 1440)}
		if w.Start == w.End {
			return
		}
		checkNextSendTime(t, w, fuzzZone(t, zoneIdx), fuzzInstant(nowUnix, nanos))
	})
}

// fuzzZone picks a zone; the list favours unusual rules.
func fuzzZone(t *testing.T, idx uint8) *time.Location {
	t.Helper()
	// Zones with unusual rules: DST in both hemispheres, a 30-minute DST
	// shift (Lord Howe), negative DST (Dublin), a two-hour shift (Troll),
	// quarter-hour offsets, a skipped calendar day (Apia, 2011-12-30) and
	// DST suspended for Ramadan (Casablanca).
	zones := []string{
		"UTC", "Europe/Moscow", "Asia/Vladivostok", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
		"Europe/Dublin", "Antarctica/Troll", "Asia/Kathmandu", "Pacific/Chatham", "America/St_Johns",
		"Pacific/Apia", "Africa/Casablanca", "America/Santiago", "Australia/Sydney", "Pacific/Kiritimati",
	}
	loc, err := time.LoadLocation(zones[int(idx)%len(zones)])
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// fuzzInstant maps any input onto an instant from 1900 to 2200, keeping
// inputs already in that range (the seeds) unchanged.
func fuzzInstant(unix int64, nanos uint32) time.Time {
	const from, span = -2208988800, 9467280000
	return time.Unix(from+(((unix-from)%span)+span)%span, int64(nanos%1e9))
}

// checkNextSendTime asserts NextSendTime's contract with the end far ahead:
// an answer exists, lies in [now, now+48h), shows a local clock inside the
// window, and is the earliest such instant (sampled points before it are
// all outside).
func checkNextSendTime(t *testing.T, w domain.SendWindow, loc *time.Location, now time.Time) {
	t.Helper()
	inside := func(at time.Time) bool {
		local := at.In(loc)
		clock := domain.Clock(local.Hour()*60 + local.Minute())
		if w.Start < w.End {
			return clock >= w.Start && clock < w.End
		}
		return clock >= w.Start || clock < w.End
	}
	got, ok := domain.NextSendTime(now, now.Add(1000*time.Hour), &w, loc)
	if !ok {
		t.Fatalf("%s–%s in %s at %s: no send time with the end far ahead", w.Start, w.End, loc, now.UTC())
	}
	if got.Before(now) || !got.Before(now.Add(48*time.Hour)) {
		t.Fatalf("%s–%s in %s at %s: got %s, not within 48h after now", w.Start, w.End, loc, now.UTC(), got.UTC())
	}
	if !inside(got) {
		t.Fatalf("%s–%s in %s at %s: got %s, local %s, outside the window", w.Start, w.End, loc, now.UTC(), got.UTC(), got.In(loc))
	}
	if !got.After(now) {
		return
	}
	gap := got.Sub(now)
	for i := time.Duration(0); i < 16; i++ {
		at := now.Add(gap * i / 16)
		if inside(at) {
			t.Fatalf("%s–%s in %s at %s: got %s, but %s (local %s) is already inside", w.Start, w.End, loc, now.UTC(), got.UTC(), at.UTC(), at.In(loc))
		}
	}
	if before := got.Add(-time.Nanosecond); inside(before) {
		t.Fatalf("%s–%s in %s at %s: got %s, but the instant before is inside", w.Start, w.End, loc, now.UTC(), got.UTC())
	}
}

func FuzzSendWindowJSON(f *testing.F) {
	for _, s := range []string{
		`{"start":"09:00","end":"21:00"}`, `{"start":"21:00","end":"09:00"}`, `{"end":"00:00","start":"23:59"}`,
		`{"start":"09:00","end":"09:00"}`, `{"start":"9:00","end":"21:00"}`, `{"start":540,"end":1260}`,
		`{"start":"09:00","end":"21:00","x":1}`, `{"START":"09:00","End":"21:00"}`, `{"start":"\u0030\u0039:00","end":"21:00"}`,
		`{}`, `null`, `[]`, `"09:00"`, `{"start":"09:00","start":"10:00","end":"21:00"}`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var w domain.SendWindow
		if err := json.Unmarshal(data, &w); err != nil {
			return
		}
		if w.Start == w.End || w.Start < 0 || w.Start >= 1440 || w.End < 0 || w.End >= 1440 {
			t.Fatalf("%s decoded to an impossible window %+v", data, w)
		}
		out, err := json.Marshal(w)
		if err != nil {
			t.Fatalf("marshal %+v: %v", w, err)
		}
		var again domain.SendWindow
		if err := json.Unmarshal(out, &again); err != nil || again != w {
			t.Fatalf("%s → %s → %+v, %v; want %+v", data, out, again, err, w)
		}
		if out2, _ := json.Marshal(again); !bytes.Equal(out, out2) {
			t.Fatalf("encoding is not stable: %s then %s", out, out2)
		}
	})
}
