package population

import (
	"bytes"
	"encoding/csv"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestPopulationIsDeterministicValidCSV(t *testing.T) {
	p := New(5000)
	var buf bytes.Buffer
	if err := p.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	records, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatalf("generated CSV does not parse: %v", err)
	}
	if len(records) != 5001 || records[0][0] != "phone" {
		t.Fatalf("%d records, header %v", len(records), records[0])
	}
	codes, zones := map[string]bool{}, map[string]bool{}
	tagged := 0
	for i, rec := range records[1:] {
		if rec[0] != strconv.FormatInt(FirstPhone+int64(i), 10) || len(rec[0]) != 11 {
			t.Fatalf("row %d: phone %q", i, rec[0])
		}
		codes[rec[1]], zones[rec[2]] = true, true
		if rec[3] != "" {
			tagged++
		}
		if again := string(p.AppendCSV(nil, p.Customer(i))); again != rec[0]+","+rec[1]+","+rec[2]+","+rec[3]+"\n" {
			t.Fatalf("row %d differs between runs: %q", i, again)
		}
	}
	if len(codes) != 20 || len(zones) != 5 || tagged < 3000 || tagged > 4500 {
		t.Fatalf("spread: %d codes, %d zones, %d tagged of 5000", len(codes), len(zones), tagged)
	}
	total := 0
	freqs := p.TagFrequencies()
	for i, f := range freqs {
		total += f.Customers
		if i > 0 && f.Customers > freqs[i-1].Customers {
			t.Fatalf("tag frequencies not most common first: %+v", freqs)
		}
	}
	if total < 5000 || total > 10000 {
		t.Fatalf("tag links %d: want about 1.5 per customer", total)
	}
}

func TestSubsetCountsTheCustomersOfItsCodes(t *testing.T) {
	p := New(10000)
	codes, audience := p.Subset(1000)
	if len(codes) != 2 {
		t.Fatalf("codes %v for a tenth of 20 codes", codes)
	}
	n := 0
	for i := range p.N {
		if slices.Contains(codes, p.Codes[p.Customer(i).Code]) {
			n++
		}
	}
	if n != audience || audience < 800 || audience > 1200 {
		t.Fatalf("audience %d, counted %d: want about 1,000 and equal", audience, n)
	}
	if codes, audience := p.Subset(1); len(codes) != 1 || audience == 0 {
		t.Fatalf("smallest subset: %v, %d", codes, audience)
	}
	if codes, audience := p.Subset(50000); len(codes) != 20 || audience != p.N {
		t.Fatalf("subset larger than the directory: %d codes, %d", len(codes), audience)
	}
}

// With attributes the CSV gains the name and city columns, empty for the
// customers without them, and the other columns stay as they were.
func TestAttributesAddNameAndCityColumns(t *testing.T) {
	plain, p := New(20000), New(20000)
	p.Attributes = true
	var buf bytes.Buffer
	if err := p.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	records, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatalf("generated CSV does not parse: %v", err)
	}
	if got := records[0]; !slices.Equal(got, []string{"phone", "phone_code", "timezone", "tags", "name", "city"}) {
		t.Fatalf("header %v", got)
	}
	noName, noCity := 0, 0
	for i, rec := range records[1:] {
		c := p.Customer(i)
		if want := string(plain.AppendCSV(nil, c)); strings.Join(rec[:4], ",")+"\n" != want {
			t.Fatalf("row %d: %v, want %q first", i, rec, want)
		}
		if rec[4] != p.NameOf(c) || rec[5] != p.CityOf(c) {
			t.Fatalf("row %d: name %q, city %q; want %q, %q", i, rec[4], rec[5], p.NameOf(c), p.CityOf(c))
		}
		if rec[4] == "" {
			noName++
		}
		if rec[5] == "" {
			noCity++
		}
		if j, ok := p.Index(FirstPhone + int64(i)); !ok || j != i {
			t.Fatalf("Index of row %d: %d, %v", i, j, ok)
		}
	}
	// 3% without a name, 0.5% without a city.
	if noName < 450 || noName > 750 || noCity < 60 || noCity > 140 {
		t.Fatalf("%d of 20,000 without a name, %d without a city", noName, noCity)
	}
	if _, ok := p.Index(FirstPhone + 20000); ok {
		t.Fatal("Index accepts a phone past the directory")
	}
}
