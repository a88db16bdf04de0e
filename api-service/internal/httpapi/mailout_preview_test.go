package httpapi_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"mailing/shared/domain"
	"mailing/shared/smstext"
)

// preview posts a draft to POST /api/mailouts/preview with token and
// decodes the 200 answer.
func (b *bundle) preview(token string, body any) domain.Preview {
	b.t.Helper()
	resp, raw := b.raw("POST", "/api/mailouts/preview", body, "application/json", token)
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("preview %v: status %d: %s", body, resp.StatusCode, raw)
	}
	var p domain.Preview
	if err := json.Unmarshal(raw, &p); err != nil {
		b.t.Fatalf("preview answer %s: %v", raw, err)
	}
	return p
}

// At 06:00 UTC on 15 January it is 09:00 in Moscow (UTC+3), 15:00 in Tokyo
// (UTC+9) and 01:00 in New York (UTC-5).
const previewAt = "2026-01-15T06:00:00Z"

func sampleIDs(p domain.Preview) []int64 {
	out := make([]int64, len(p.Samples))
	for i, s := range p.Samples {
		out[i] = s.CustomerID
	}
	return out
}

func TestMailoutPreview(t *testing.T) {
	b := setup(t)
	newCustomer := func(phone, zone string, tags []string, attrs map[string]any) int64 {
		t.Helper()
		body := map[string]any{"phone": phone, "timezone": zone, "tags": tags}
		if attrs != nil {
			body["attributes"] = attrs
		}
		return id(t, b.must(http.StatusCreated, "POST", "/api/customers", body))
	}
	anna := newCustomer("79160000001", "Europe/Moscow", []string{"vip"}, map[string]any{"name": "Анна", "city": "Казань"})
	ken := newCustomer("79160000002", "Asia/Tokyo", []string{"vip"}, map[string]any{"name": "Ken"})
	john := newCustomer("79030000003", "America/New_York", []string{"vip", "new"}, nil)
	bob := newCustomer("79030000004", "Europe/Moscow", []string{}, map[string]any{"name": "Bob", "city": "Omsk"})
	mary := newCustomer("79160000005", "America/New_York", []string{"new"}, map[string]any{"name": "Mary", "city": "Boston"})
	day := map[string]any{"start": "09:00", "end": "18:00"}   // Moscow (just opened) and Tokyo
	night := map[string]any{"start": "21:00", "end": "09:00"} // New York only: Moscow's has just closed
	text := `Hello, {{ name | default: "friend" }}! Sale in {{ city }}`

	// One tag: counted from the counters per zone.
	p := b.preview(b.token, map[string]any{"text": text, "filter": map[string]any{"tags": []string{"vip"}}, "send_window": day, "at": previewAt})
	if p.Audience != 3 || p.InWindowNow == nil || *p.InWindowNow != 2 {
		t.Fatalf("tag vip in the day window: audience %d, in window %v; want 3 and 2", p.Audience, p.InWindowNow)
	}
	if got := p.At.Format("2006-01-02T15:04:05Z07:00"); got != previewAt {
		t.Fatalf("at %s, want %s", got, previewAt)
	}
	if !slices.Equal(p.Template.Variables, []string{"name", "city"}) || p.Template.Plain || p.Template.SMS != smstext.Count(text) {
		t.Fatalf("template %+v", p.Template)
	}
	if !slices.Equal(sampleIDs(p), []int64{anna, ken, john}) {
		t.Fatalf("samples %v, want %v", sampleIDs(p), []int64{anna, ken, john})
	}
	want := []struct {
		text     string
		encoding string
		missing  []string
	}{
		{"Hello, Анна! Sale in Казань", smstext.UCS2, []string{}},
		{"Hello, Ken! Sale in ", smstext.GSM7, []string{"city"}},
		{"Hello, friend! Sale in ", smstext.GSM7, []string{"city"}},
	}
	for i, w := range want {
		s := p.Samples[i]
		if s.Text != w.text || s.SMS.Encoding != w.encoding || s.SMS != smstext.Count(w.text) || !slices.Equal(s.MissingAttributes, w.missing) {
			t.Errorf("sample %d: %+v; want %q (%s), missing %q", i, s, w.text, w.encoding, w.missing)
		}
	}
	if s := p.Samples[0]; s.Phone != "79160000001" || s.Timezone != "Europe/Moscow" || s.Attributes["name"] != "Анна" {
		t.Errorf("sample 0 customer fields: %+v", s)
	}
	if p.Samples[2].Attributes == nil || len(p.Samples[2].Attributes) != 0 {
		t.Errorf("a customer without attributes: %v, want {}", p.Samples[2].Attributes)
	}
	if p.MissingAttributes != 2 {
		t.Errorf("missing_attributes %d, want 2", p.MissingAttributes)
	}
	// 27 UCS-2 units against 23 septets: both one segment, Anna's is longer.
	if p.Longest == nil || p.Longest.CustomerID != anna || p.Longest.SMS != p.Samples[0].SMS {
		t.Errorf("longest %+v, want Anna's", p.Longest)
	}

	cases := []struct {
		name     string
		filter   map[string]any
		window   map[string]any
		audience int64
		inWindow int64
		samples  []int64
	}{
		{"one code", map[string]any{"phone_codes": []string{"916"}}, day, 3, 2, []int64{anna, ken, mary}},
		{"two codes", map[string]any{"phone_codes": []string{"916", "903"}}, night, 5, 2, []int64{anna, ken, john, bob, mary}},
		{"no filter", nil, day, 5, 3, []int64{anna, ken, john, bob, mary}},
		{"one tag at night", map[string]any{"tags": []string{"new"}}, night, 2, 2, []int64{john, mary}},
		// Shapes the counters cannot answer: the matching customers are
		// grouped by zone.
		{"two tags", map[string]any{"tags": []string{"vip", "new"}}, night, 4, 2, []int64{anna, ken, john, mary}},
		{"tag and code", map[string]any{"tags": []string{"vip"}, "phone_codes": []string{"903"}}, night, 1, 1, []int64{john}},
		{"tag and code by day", map[string]any{"tags": []string{"vip", "new"}, "phone_codes": []string{"916"}}, day, 3, 2, []int64{anna, ken, mary}},
		{"unknown tag", map[string]any{"tags": []string{"nobody-has-it"}}, day, 0, 0, []int64{}},
		{"unknown and known tag", map[string]any{"tags": []string{"nobody-has-it", "new"}}, night, 2, 2, []int64{john, mary}},
		{"unknown code", map[string]any{"phone_codes": []string{"999"}}, day, 0, 0, []int64{}},
	}
	for _, tc := range cases {
		body := map[string]any{"text": "Hi", "send_window": tc.window, "at": previewAt}
		if tc.filter != nil {
			body["filter"] = tc.filter
		}
		p := b.preview(b.token, body)
		if p.Audience != tc.audience || p.InWindowNow == nil || *p.InWindowNow != tc.inWindow || !slices.Equal(sampleIDs(p), tc.samples) {
			t.Errorf("%s: audience %d, in window %v, samples %v; want %d, %d, %v", tc.name, p.Audience, p.InWindowNow, sampleIDs(p), tc.audience, tc.inWindow, tc.samples)
		}
		// Without a window the audience is the same and nothing is counted
		// by zone.
		delete(body, "send_window")
		if q := b.preview(b.token, body); q.Audience != tc.audience || q.InWindowNow != nil {
			t.Errorf("%s without a window: audience %d, in window %v; want %d and null", tc.name, q.Audience, q.InWindowNow, tc.audience)
		}
	}

	// A plain text, fewer samples; the answer's JSON keeps its nulls.
	resp, raw := b.raw("POST", "/api/mailouts/preview", map[string]any{"text": "Sale!", "samples": 2}, "application/json", b.token)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("plain preview: %d %s", resp.StatusCode, raw)
	}
	var plain map[string]any
	if err := json.Unmarshal(raw, &plain); err != nil {
		t.Fatal(err)
	}
	if v, ok := plain["in_window_now"]; !ok || v != nil {
		t.Errorf("in_window_now without a window: %v (present %v), want null", v, ok)
	}
	if tmpl, _ := plain["template"].(map[string]any); tmpl["plain"] != true || len(tmpl["variables"].([]any)) != 0 {
		t.Errorf("plain template: %v", plain["template"])
	}
	if got := plain["samples"].([]any); len(got) != 2 || got[0].(map[string]any)["text"] != "Sale!" {
		t.Errorf("plain samples: %v", got)
	}
	if n := b.preview(b.token, map[string]any{"text": "x"}); len(n.Samples) != 5 {
		t.Errorf("default samples: %d", len(n.Samples))
	}
	none := b.preview(b.token, map[string]any{"text": "Hi", "filter": map[string]any{"tags": []string{"nobody-has-it"}}})
	if none.Longest != nil || len(none.Samples) != 0 || none.MissingAttributes != 0 {
		t.Errorf("empty audience: %+v", none)
	}

	// Segment figures of rendered texts in Cyrillic and with emoji: Mary's
	// long name pushes her text into a second UCS-2 part.
	b.must(http.StatusOK, "PATCH", "/api/customers/"+itoa(mary), map[string]any{"attributes": map[string]any{"name": strings.Repeat("Мария", 12)}})
	emoji := b.preview(b.token, map[string]any{"text": "🎉 {{ name }}, скидка {{ discount | default: \"10\" }}%", "filter": map[string]any{"phone_codes": []string{"916"}}})
	if len(emoji.Samples) != 3 {
		t.Fatalf("emoji samples: %+v", emoji.Samples)
	}
	for _, s := range emoji.Samples {
		if s.SMS != smstext.Count(s.Text) || s.SMS.Encoding != smstext.UCS2 {
			t.Errorf("sample %d: %q counted %+v, want %+v", s.CustomerID, s.Text, s.SMS, smstext.Count(s.Text))
		}
	}
	// "🎉 " is a surrogate pair and a space, "Анна, скидка 10%" 16 more.
	if s := emoji.Samples[0]; s.Text != "🎉 Анна, скидка 10%" || s.SMS.Units != 19 || s.SMS.Segments != 1 {
		t.Errorf("Anna's emoji text: %q %+v", s.Text, s.SMS)
	}
	if emoji.Longest == nil || emoji.Longest.CustomerID != mary || emoji.Longest.SMS.Segments != 2 || emoji.Longest.SMS.PerSegment != smstext.UCS2Multi {
		t.Errorf("longest %+v, want Mary's two parts", emoji.Longest)
	}
	if emoji.Template.SMS.Encoding != smstext.UCS2 || !slices.Equal(emoji.Template.Variables, []string{"name", "discount"}) {
		t.Errorf("emoji template %+v", emoji.Template)
	}

	// A preview stores nothing: no tag, no mailout.
	for _, tag := range items(t, b.must(http.StatusOK, "GET", "/api/tags?limit=1000", nil)) {
		if tag["name"] == "nobody-has-it" {
			t.Errorf("preview registered tag %v", tag)
		}
	}
	if n := len(items(t, b.must(http.StatusOK, "GET", "/api/mailouts", nil))); n != 0 {
		t.Errorf("preview stored %d mailouts", n)
	}
}

func TestMailoutPreviewValidation(t *testing.T) {
	b := setup(t)
	valid := func(extra map[string]any) map[string]any {
		body := map[string]any{"text": "Hello, {{ name }}"}
		for k, v := range extra {
			if v == nil {
				delete(body, k)
				continue
			}
			body[k] = v
		}
		return body
	}
	cases := []struct {
		name  string
		body  any
		field string
		says  string
	}{
		{"missing text", valid(map[string]any{"text": nil}), "text", "is required"},
		{"empty text", valid(map[string]any{"text": ""}), "text", "must not be empty"},
		{"text of 1601 characters", valid(map[string]any{"text": strings.Repeat("я", 1601)}), "text", "1600"},
		{"unclosed placeholder", valid(map[string]any{"text": "Hello,\n{{ name"}), "text", "line 2, column"},
		{"unknown filter", valid(map[string]any{"text": "Hi {{ name | shout }}"}), "text", "line 1, column"},
		{"a tag", valid(map[string]any{"text": "{% if vip %}Hi{% endif %}"}), "text", "line 1, column 1"},
		{"bad phone code", valid(map[string]any{"filter": map[string]any{"phone_codes": []string{"91"}}}), "filter.phone_codes", ""},
		{"empty tag", valid(map[string]any{"filter": map[string]any{"tags": []string{""}}}), "filter.tags", ""},
		{"tags not a list", valid(map[string]any{"filter": map[string]any{"tags": "vip"}}), "filter.tags", ""},
		{"unknown filter field", valid(map[string]any{"filter": map[string]any{"timezone": "UTC"}}), "timezone", ""},
		{"window hour 25", valid(map[string]any{"send_window": map[string]any{"start": "25:00", "end": "21:00"}}), "send_window.start", ""},
		{"window start equals end", valid(map[string]any{"send_window": map[string]any{"start": "09:00", "end": "09:00"}}), "send_window", ""},
		{"window as string", valid(map[string]any{"send_window": "09:00-21:00"}), "send_window", ""},
		{"no samples", valid(map[string]any{"samples": 0}), "samples", "from 1 to 50"},
		{"too many samples", valid(map[string]any{"samples": 51}), "samples", "from 1 to 50"},
		{"samples as text", valid(map[string]any{"samples": "ten"}), "samples", ""},
		{"samples fractional", valid(map[string]any{"samples": 2.5}), "samples", ""},
		{"at without offset", valid(map[string]any{"at": "2026-01-15T06:00:00"}), "at", "RFC 3339"},
		{"at as number", valid(map[string]any{"at": 1767225600}), "at", "RFC 3339"},
		{"unknown field", valid(map[string]any{"start_at": previewAt}), "start_at", ""},
		{"server-owned audience", valid(map[string]any{"audience": 5}), "audience", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, out := b.do("POST", "/api/mailouts/preview", tc.body)
			if st != http.StatusBadRequest {
				t.Fatalf("status %d: %v", st, out)
			}
			fields := wantError(t, out, "invalid")
			msg, _ := fields[tc.field].(string)
			if msg == "" || !strings.Contains(msg, tc.says) {
				t.Fatalf("message for %s: %q, want one saying %q: %v", tc.field, msg, tc.says, out)
			}
		})
	}
	// Problems of several fields come back together.
	st, out := b.do("POST", "/api/mailouts/preview", map[string]any{"text": "{{", "samples": 99, "send_window": map[string]any{"start": "9", "end": "10:00"}})
	if st != http.StatusBadRequest {
		t.Fatalf("several problems: %d %v", st, out)
	}
	if fields := wantError(t, out, "invalid"); fields["text"] == nil || fields["samples"] == nil || fields["send_window.start"] == nil {
		t.Fatalf("several problems: %v", out)
	}
	// The limits themselves are fine.
	for _, n := range []int{1, domain.MaxPreviewSamples} {
		b.preview(b.token, valid(map[string]any{"samples": n, "send_window": map[string]any{"start": "21:00", "end": "09:00"}, "at": "2026-01-15T09:00:00+03:00"}))
	}
}

// A viewer may preview: it reads and stores nothing.
func TestMailoutPreviewForViewers(t *testing.T) {
	b := setup(t)
	b.must(http.StatusCreated, "POST", "/api/customers", map[string]any{"phone": "79160000001", "attributes": map[string]any{"name": "Анна"}})
	_, viewer := b.userWithRole("reader", domain.RoleViewer)
	p := b.preview(viewer, map[string]any{"text": "Hi {{ name }}"})
	if p.Audience != 1 || len(p.Samples) != 1 || p.Samples[0].Text != "Hi Анна" {
		t.Fatalf("viewer's preview: %+v", p)
	}
	if st, _ := b.call("", "", "POST", "/api/mailouts/preview", map[string]any{"text": "Hi"}); st != http.StatusUnauthorized {
		t.Fatalf("without credentials: %d", st)
	}
}
