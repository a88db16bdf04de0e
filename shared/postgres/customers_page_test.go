package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"mailing/shared/domain"
	"mailing/shared/postgres"
	"mailing/shared/postgres/pgtest"
)

// TestCustomerPagesMatchFilter walks every page of several filters and
// compares the customers seen with the ones the filter should select.
func TestCustomerPagesMatchFilter(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(7, 7))
	tags := []string{"a", "b", "c", "rare"}
	codes := []string{"900", "901", "902"}
	cities := []string{"Kazan", "Omsk", "Perm"}
	var rows []domain.ImportRow
	for i := range 600 {
		c := domain.Customer{Phone: fmt.Sprintf("7900%07d", i), PhoneCode: codes[r.IntN(3)], Timezone: "Europe/Moscow", Tags: []string{},
			Attributes: domain.Attributes{}}
		for _, tag := range tags[:3] {
			if r.IntN(3) == 0 {
				c.Tags = append(c.Tags, tag)
			}
		}
		if i%97 == 0 {
			c.Tags = append(c.Tags, "rare")
		}
		if n := r.IntN(4); n < 3 {
			c.Attributes["city"] = cities[n]
		}
		if r.IntN(2) == 0 {
			c.Attributes["age"] = json.Number(strconv.Itoa(r.IntN(4)))
		}
		if i%101 == 0 {
			c.Attributes["rare"] = true
		}
		rows = append(rows, domain.ImportRow{Line: int64(i + 1), Customer: c})
	}
	im := startImport(t, db, domain.ImportSkip)
	res, err := im.Write(ctx, rows)
	if err != nil || res.Inserted != len(rows) {
		t.Fatalf("seed: %+v %v", res, err)
	}
	ids := map[string]int64{}
	for _, w := range res.Written {
		ids[rows[w.Line-1].Customer.Phone] = w.ID
	}

	filters := []domain.CustomerFilter{
		{},
		{Tags: []string{"a"}},
		{Tags: []string{"a", "b"}},
		{Tags: []string{"rare"}},
		{Tags: []string{"a", "c"}, PhoneCodes: []string{"901", "902"}},
		{Tags: []string{"b"}, PhonePrefix: "79000001"},
		{Tags: []string{"nosuch"}},
		{PhoneCodes: []string{"900"}},
		{Attributes: domain.AttributeFilter{"city": {"Kazan"}}},
		{Attributes: domain.AttributeFilter{"city": {"Kazan"}, "age": {json.Number("2")}}},
		{Attributes: domain.AttributeFilter{"city": {"Kazan", "Perm"}, "age": {json.Number("1"), json.Number("3")}}},
		{Attributes: domain.AttributeFilter{"rare": {true}}},
		{Attributes: domain.AttributeFilter{"age": {"2"}}}, // a string: no customer has one
		{Tags: []string{"a", "b"}, Attributes: domain.AttributeFilter{"city": {"Omsk"}}},
		{Tags: []string{"rare"}, Attributes: domain.AttributeFilter{"rare": {true}}},
		{PhoneCodes: []string{"901"}, Attributes: domain.AttributeFilter{"age": {json.Number("0"), json.Number("1")}}},
	}
	for _, f := range filters {
		var want []int64
		for _, row := range rows {
			if matches(f, row.Customer) {
				want = append(want, ids[row.Customer.Phone])
			}
		}
		var got []int64
		after := int64(0)
		for pages := 0; ; pages++ {
			if pages > 200 {
				t.Fatalf("%+v: pagination does not end", f)
			}
			page, err := postgres.NewCustomers(db).List(ctx, f, domain.Page{Limit: 7, After: after})
			if err != nil {
				t.Fatalf("%+v: %v", f, err)
			}
			for _, c := range page {
				got = append(got, c.ID)
				if !matches(f, c) {
					t.Fatalf("%+v: customer %+v does not match", f, c)
				}
			}
			if len(page) < 7 {
				break
			}
			after = page[len(page)-1].ID
		}
		if !slices.Equal(got, want) {
			t.Errorf("%+v: got %d customers %v, want %d %v", f, len(got), got, len(want), want)
		}
	}
}

func matches(f domain.CustomerFilter, c domain.Customer) bool {
	if len(f.Tags) > 0 && !slices.ContainsFunc(c.Tags, func(t string) bool { return slices.Contains(f.Tags, t) }) {
		return false
	}
	if len(f.PhoneCodes) > 0 && !slices.Contains(f.PhoneCodes, c.PhoneCode) {
		return false
	}
	for k, vs := range f.Attributes {
		have, ok := c.Attributes[k]
		if !ok || !slices.ContainsFunc(vs, func(v any) bool { return sameJSON(v, have) }) {
			return false
		}
	}
	return f.PhonePrefix == "" || (len(c.Phone) >= len(f.PhonePrefix) && c.Phone[:len(f.PhonePrefix)] == f.PhonePrefix)
}

func sameJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}
