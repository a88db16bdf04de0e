package statstruth

import (
	"reflect"
	"testing"
)

func TestCountsLeavesOutTheTotalAndNonZeroTheZeros(t *testing.T) {
	v := struct {
		Total int64 `json:"total"`
		Sent  int64 `json:"sent"`
		Fail  int64 `json:"failed"`
	}{Total: 3, Sent: 3}
	m := Counts(v)
	if want := map[string]int64{"sent": 3, "failed": 0}; !reflect.DeepEqual(m, want) {
		t.Fatalf("Counts = %v, want %v", m, want)
	}
	if nz, want := NonZero(m), map[string]int64{"sent": 3}; !reflect.DeepEqual(nz, want) {
		t.Fatalf("NonZero = %v, want %v", nz, want)
	}
}
