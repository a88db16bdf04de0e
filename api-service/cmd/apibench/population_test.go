package main

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"testing"
	"time"
)

func TestPopulationIsDeterministicAndValid(t *testing.T) {
	p := newPopulation(5000)
	var buf bytes.Buffer
	if err := p.writeCSV(&buf); err != nil {
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
		if rec[0] != strconv.FormatInt(firstPhone+int64(i), 10) || len(rec[0]) != 11 {
			t.Fatalf("row %d: phone %q", i, rec[0])
		}
		codes[rec[1]], zones[rec[2]] = true, true
		if rec[3] != "" {
			tagged++
		}
		if again := string(p.appendCSV(nil, p.customer(i))); again != rec[0]+","+rec[1]+","+rec[2]+","+rec[3]+"\n" {
			t.Fatalf("row %d differs between runs: %q", i, again)
		}
	}
	if len(codes) != 20 || len(zones) != 5 || tagged < 3000 || tagged > 4500 {
		t.Fatalf("spread: %d codes, %d zones, %d tagged of 5000", len(codes), len(zones), tagged)
	}
	total := 0
	for _, f := range p.tagFrequencies() {
		total += f.Customers
	}
	if total < 5000 || total > 10000 {
		t.Fatalf("tag links %d: want about 1.5 per customer", total)
	}
}

func TestPercentile(t *testing.T) {
	var lat []time.Duration
	for i := 1; i <= 200; i++ {
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	for p, want := range map[int]time.Duration{50: 100 * time.Millisecond, 99: 198 * time.Millisecond, 100: 200 * time.Millisecond} {
		if got := percentile(lat, p); got != want {
			t.Errorf("p%d = %v, want %v", p, got, want)
		}
	}
}
