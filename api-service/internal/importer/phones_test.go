package importer

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func TestPhoneSet(t *testing.T) {
	s := newPhoneSet()
	want := map[string]bool{}
	// A dense run turns containers into bitmaps; random phones stay in
	// arrays; both kinds must agree with a map.
	r := rand.New(rand.NewPCG(1, 2))
	phones := make([]string, 0, 40000)
	for i := range 20000 {
		phones = append(phones, fmt.Sprintf("7916%07d", i))
		phones = append(phones, fmt.Sprintf("7%010d", r.Int64N(10_000_000_000)))
	}
	phones = append(phones, phones[:30000]...) // every one of these is a repeat
	for i, p := range phones {
		if got := s.add(p); got != !want[p] {
			t.Fatalf("add %s (#%d): %v, want %v", p, i, got, !want[p])
		}
		want[p] = true
	}
	bitmaps := 0
	for _, c := range s.containers {
		if c.bits != nil {
			bitmaps++
		}
	}
	if bitmaps == 0 {
		t.Fatal("a dense run of phones never switched a container to a bitmap")
	}
	if s.add("79999999999") != true || s.add("70000000000") != true || s.add("70000000000") != false {
		t.Fatal("extremes of the phone range")
	}
}
