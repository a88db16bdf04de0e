package domain_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"mailing/shared/domain"
	"mailing/shared/smstext"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// OpenAt agrees with NextSendTime: the window is open at t exactly when a
// message would be sent at t itself, DST days included.
func TestSendWindowOpenAt(t *testing.T) {
	windows := []domain.SendWindow{
		{Start: 9 * 60, End: 18 * 60},
		{Start: 21 * 60, End: 9 * 60},
		{Start: 2*60 + 30, End: 3 * 60},
	}
	zones := []string{"Europe/Moscow", "Asia/Tokyo", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "UTC"}
	// Quarter hours around the 2026 spring-forward and fall-back days of
	// New York and Berlin.
	var instants []time.Time
	for _, day := range []string{"2026-03-08", "2026-03-29", "2026-10-25", "2026-11-01", "2026-01-15"} {
		start, _ := time.Parse(time.DateOnly, day)
		for m := -12 * 60; m < 36*60; m += 15 {
			instants = append(instants, start.Add(time.Duration(m)*time.Minute))
		}
	}
	far := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, w := range windows {
		for _, z := range zones {
			loc := mustZone(t, z)
			for _, at := range instants {
				next, ok := domain.NextSendTime(at, far, &w, loc)
				if want := ok && next.Equal(at); w.OpenAt(at, loc) != want {
					t.Fatalf("window %v–%v in %s at %s: OpenAt %v, NextSendTime %s", w.Start, w.End, z, at, !want, next)
				}
			}
		}
	}
}

func TestPreviewInputDraft(t *testing.T) {
	now := time.Date(2026, 1, 15, 9, 0, 0, 0, time.FixedZone("MSK", 3*3600))
	text := "Hi {{ name }}"
	d, err := domain.PreviewInput{Text: &text, Tags: &[]string{" vip", "vip"}}.Draft(now, domain.FieldErrors{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Samples != domain.DefaultPreviewSamples || !d.At.Equal(now) || d.At.Location() != time.UTC ||
		!slices.Equal(d.Filter.Tags, []string{"vip"}) || d.Filter.PhoneCodes == nil || len(d.Filter.PhoneCodes) != 0 || d.Template == nil {
		t.Fatalf("draft %+v", d)
	}

	bad := "Hi {{ name"
	samples := 0
	errs := domain.FieldErrors{"send_window.start": "out of range"}
	_, err = domain.PreviewInput{Text: &bad, Samples: &samples, PhoneCodes: &[]string{"9"}}.Draft(now, errs)
	wantFields(t, err, "text", "samples", "filter.phone_codes", "send_window.start")
	if msg := err.(*domain.Error).Fields["text"]; !strings.Contains(msg, "line 1, column") {
		t.Errorf("template error without its position: %q", msg)
	}
	_, err = domain.PreviewInput{}.Draft(now, domain.FieldErrors{})
	wantFields(t, err, "text")
}

func TestDraftPreview(t *testing.T) {
	text := `{{ name | default: "friend" }}, {{ city }}: {{ code }}`
	at := time.Date(2026, 7, 15, 6, 0, 0, 0, time.UTC) // 09:00 Moscow, 15:00 Tokyo, 02:00 New York (DST)
	d, err := domain.PreviewInput{Text: &text, SendWindow: &domain.SendWindow{Start: 2 * 60, End: 10 * 60}, At: &at}.Draft(time.Now(), domain.FieldErrors{})
	if err != nil {
		t.Fatal(err)
	}
	zones := map[string]*time.Location{}
	zone := func(name string) *time.Location {
		if zones[name] == nil {
			zones[name] = mustZone(t, name)
		}
		return zones[name]
	}
	a := domain.Audience{
		Count:  60,
		ByZone: map[string]int64{"Europe/Moscow": 10, "Asia/Tokyo": 20, "America/New_York": 30},
		Samples: []domain.Customer{
			{ID: 3, Phone: "79160000003", Timezone: "Asia/Tokyo", Attributes: domain.Attributes{"city": "Kyoto", "code": "A1"}},
			{ID: 5, Phone: "79160000005", Timezone: "Europe/Moscow", Attributes: domain.Attributes{"name": "Анна", "city": "Казань", "code": "Б"}},
			{ID: 7, Phone: "79160000007", Timezone: "America/New_York"},
			{ID: 9, Phone: "79160000009", Timezone: "America/New_York", Attributes: domain.Attributes{"name": strings.Repeat("x", 200), "city": "NY", "code": "1"}},
		},
	}
	p := d.Preview(a, zone)
	// 02:00–10:00: Moscow (09:00) and New York (02:00, the start) are in.
	if p.Audience != 60 || p.InWindowNow == nil || *p.InWindowNow != 40 || !p.At.Equal(at) {
		t.Fatalf("audience %d, in window %v at %s", p.Audience, p.InWindowNow, p.At)
	}
	texts := []string{"friend, Kyoto: A1", "Анна, Казань: Б", "friend, : ", strings.Repeat("x", 200) + ", NY: 1"}
	missing := [][]string{{}, {}, {"city", "code"}, {}}
	for i, s := range p.Samples {
		if s.Text != texts[i] || s.SMS != smstext.Count(texts[i]) || !slices.Equal(s.MissingAttributes, missing[i]) {
			t.Errorf("sample %d: %+v, want %q missing %q", i, s, texts[i], missing[i])
		}
	}
	if p.Samples[2].Attributes == nil {
		t.Error("a customer without attributes renders them as nil, want {}")
	}
	if p.MissingAttributes != 1 {
		t.Errorf("missing_attributes %d, want 1", p.MissingAttributes)
	}
	if p.Longest == nil || p.Longest.CustomerID != 9 || p.Longest.SMS.Segments != 2 {
		t.Errorf("longest %+v, want customer 9's two segments", p.Longest)
	}
	if !slices.Equal(p.Template.Variables, []string{"name", "city", "code"}) || p.Template.Plain || p.Template.SMS != smstext.Count(text) {
		t.Errorf("template %+v", p.Template)
	}

	// Without a window nothing is counted by zone; without samples there
	// is no longest.
	d.SendWindow = nil
	p = d.Preview(domain.Audience{Count: 0}, zone)
	if p.InWindowNow != nil || p.Longest != nil || p.Samples == nil || len(p.Samples) != 0 {
		t.Errorf("empty preview %+v", p)
	}
}
