package main

import (
	"context"
	"testing"
	"time"

	"mailing/shared/domain"
	"mailing/shared/postgres"
)

// Each customer gets the text rendered with their own attributes; a
// placeholder with no value and no default renders empty and is counted as
// a warning, not a failure.
func TestTemplatedTextsAreRenderedPerCustomer(t *testing.T) {
	t.Parallel()
	p := startPipeline(t, nil)
	ctx := context.Background()
	people := []domain.Attributes{
		{"name": "Anna", "discount": 15},
		{"name": "Борис"},
		{},
	}
	phones := map[string]string{}
	for i, attrs := range people {
		phone := "7916000000" + string(rune('1'+i))
		if _, err := postgres.NewCustomers(p.db).Create(ctx, domain.Customer{Phone: phone, PhoneCode: "916", Timezone: "Europe/Moscow",
			Tags: []string{"tpl"}, Attributes: attrs}); err != nil {
			t.Fatal(err)
		}
		phones[phone] = ""
	}
	now := time.Now()
	m, err := postgres.NewMailouts(p.db).Create(ctx, domain.Mailout{Text: `Hi {{name | default: "friend"}}, {{discount}}% off`,
		StartAt: now.Add(-time.Second), EndAt: now.Add(time.Hour), Filter: domain.Filter{Tags: []string{"tpl"}}})
	if err != nil {
		t.Fatal(err)
	}
	if counts := p.settle(m.ID, 30*time.Second); counts["sent"] != 3 {
		t.Fatalf("messages %v, want 3 sent", counts)
	}
	want := map[int64]string{79160000001: "Hi Anna, 15% off", 79160000002: "Hi Борис, % off", 79160000003: "Hi friend, % off"}
	got := map[int64]string{}
	for _, d := range p.deliveriesOf(m.ID) {
		got[d.Phone] = d.Text
	}
	for phone, text := range want {
		if got[phone] != text {
			t.Errorf("%d got %q, want %q", phone, got[phone], text)
		}
	}
	st, err := postgres.NewStats(p.db).MailoutStats(ctx, m.ID, time.Now())
	if err != nil || st.Warnings.MissingAttribute != 2 || st.Messages.Sent != 3 {
		t.Fatalf("statistics: warnings %+v, sent %d (%v); want 2 missing_attribute warnings", st.Warnings, st.Messages.Sent, err)
	}
}
