package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"mailing/bench/internal/population"
	"mailing/sender-worker/probesim"
)

// The runs' texts: the plain one as every run before templates had, and a
// template over the customers' attributes (Cyrillic, so UCS-2, one
// segment), whose name has a default and whose city has none.
const (
	plainText     = "Pipeline benchmark: 30% off until Sunday"
	templatedText = `Здравствуйте, {{name | default: "клиент"}}! Скидка в городе {{city}}.`
)

// expectedText is what probe-sim must receive for customer c: the
// template rendered by hand, so the check does not share the sender's
// renderer. A customer without a city gets an empty city (and its message
// a missing-attribute warning).
func expectedText(p population.Population, templated bool, c population.Customer) string {
	if !templated {
		return plainText
	}
	name := p.NameOf(c)
	if name == "" {
		name = "клиент"
	}
	return "Здравствуйте, " + name + "! Скидка в городе " + p.CityOf(c) + "."
}

// textCheck compares every text probe-sim received with the text expected
// for its customer.
type textCheck struct {
	Checked int    `json:"checked"`
	Wrong   int    `json:"wrong"`
	Example string `json:"example,omitempty"` // the first wrong one, with what was expected
	// WithoutCity is how many of the audience's customers have no city:
	// the missing-attribute warnings a templated run must report.
	WithoutCity int `json:"without_city"`
}

func checkTexts(p population.Population, templated bool, ds []probesim.Delivery) textCheck {
	var tc textCheck
	for _, d := range ds {
		tc.Checked++
		i, ok := p.Index(d.Phone)
		want := "a customer of the directory"
		if ok {
			if want = expectedText(p, templated, p.Customer(i)); d.Text == want {
				continue
			}
		}
		if tc.Wrong++; tc.Example == "" {
			tc.Example = fmt.Sprintf("phone %d: %q, want %q", d.Phone, d.Text, want)
		}
	}
	return tc
}

// withoutCity counts the audience's customers without a city: those of
// codes, or all of them when codes is empty.
func withoutCity(p population.Population, codes []string) int {
	in := make([]bool, len(p.Codes))
	for i, c := range p.Codes {
		in[i] = len(codes) == 0 || slices.Contains(codes, c)
	}
	n := 0
	for i := range p.N {
		if c := p.Customer(i); in[c.Code] && p.CityOf(c) == "" {
			n++
		}
	}
	return n
}

// mailoutWarnings reads warnings.missing_attribute from
// GET /api/mailouts/{id}/stats.
func (e *env) mailoutWarnings(ctx context.Context, id int64) (int64, error) {
	req, err := e.client.NewRequest(ctx, http.MethodGet, "/api/mailouts/"+strconv.FormatInt(id, 10)+"/stats", nil, "")
	if err != nil {
		return 0, err
	}
	var st struct {
		Warnings struct {
			MissingAttribute int64 `json:"missing_attribute"`
		} `json:"warnings"`
	}
	if err := e.client.DoJSON(req, http.StatusOK, &st); err != nil {
		return 0, fmt.Errorf("mailout statistics: %w", err)
	}
	return st.Warnings.MissingAttribute, nil
}
