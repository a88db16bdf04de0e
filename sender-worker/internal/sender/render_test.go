package sender

import (
	"testing"

	"mailing/shared/domain"
)

func TestRenderUsesEachCustomersAttributes(t *testing.T) {
	var tx texts
	for _, c := range []struct {
		text, attrs, want string
		missing           int
	}{
		{`Hi {{name | default: "friend"}}, {{n}}!`, `{"name": "Anna", "n": 1234567}`, "Hi Anna, 1234567!", 0},
		{`Hi {{name | default: "friend"}}, {{n}}!`, `{}`, "Hi friend, !", 1},
		{`Hi {{name | default: "friend"}}, {{n}}!`, ``, "Hi friend, !", 1},
		{`Plain text`, `{"name": "x"}`, "Plain text", 0},
		{`Broken {{`, `{}`, "Broken {{", 0}, // written before texts were templates: sent as is
	} {
		got, missing := tx.render(&domain.ClaimedMessage{MailoutID: 1, Text: c.text, Attributes: []byte(c.attrs)})
		if got != c.want || missing != c.missing {
			t.Errorf("%q with %s: %q (%d missing), want %q (%d)", c.text, c.attrs, got, missing, c.want, c.missing)
		}
	}
}

// BenchmarkRender is what the sender pays per message for a templated
// text: decoding the customer's attributes and rendering the parsed
// template (the parse is cached per mailout). A plain text costs a cache
// lookup.
func BenchmarkRender(b *testing.B) {
	job := &domain.ClaimedMessage{MailoutID: 7, Text: `Здравствуйте, {{name | default: "клиент"}}! Скидка {{discount}}% в {{city}}.`,
		Attributes: []byte(`{"name": "Анна", "discount": 15, "city": "Казань"}`)}
	plain := &domain.ClaimedMessage{MailoutID: 8, Text: "Скидка 15% для всех клиентов до воскресенья."}
	var tx texts
	b.Run("templated", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			tx.render(job)
		}
	})
	b.Run("plain", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			tx.render(plain)
		}
	})
}
