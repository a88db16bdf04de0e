package importer

import "testing"

func TestProgress(t *testing.T) {
	cases := []struct {
		name string
		done map[int]mark
		want string
	}{
		{"nothing committed", map[int]mark{}, "nothing was stored"},
		{"a prefix", map[int]mark{0: {lastLine: 10001, rejected: 2}, 1: {lastLine: 20001}},
			"lines 1-20001 were processed and stored (inserted 7, updated 0, skipped 1, rejected 2); nothing after line 20001 was stored"},
		{"a gap", map[int]mark{0: {lastLine: 10001}, 2: {lastLine: 30001, rejected: 1}},
			"lines 1-10001 were processed and stored, lines 10002-30001 in part (inserted 7, updated 0, skipped 1, rejected 1); nothing after line 30001 was stored"},
		{"the first batch missing", map[int]mark{1: {lastLine: 20001}},
			"lines 1-20001 were stored in part (inserted 7, updated 0, skipped 1, rejected 0); nothing after line 20001 was stored"},
	}
	for _, tc := range cases {
		j := &job{batches: 3, done: tc.done, inserted: 7, skipped: 1}
		if got := j.progress(); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}
