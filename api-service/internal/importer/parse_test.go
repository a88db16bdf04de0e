package importer

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// readRecords returns the records of an upload as "line/phone/problem".
func readRecords(t *testing.T, format Format, body string) []string {
	t.Helper()
	rr, err := newRecordReader(format, strings.NewReader(body))
	if err != nil {
		t.Fatalf("open %s: %v", format, err)
	}
	var out []string
	var rec record
	for {
		err := rr.next(&rec)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		out = append(out, fmt.Sprintf("%d/%s/%s", rec.line, rec.phone, rec.problem))
	}
}

func TestRecordLines(t *testing.T) {
	csv := "phone,tags\n" +
		"79160000001,a;b\n" + // 2
		"\"7916000000\n2\",\n" + // 3-4: one record over two lines
		"\n" + // 5: blank
		"7916\"3,\n" + // 6: bare quote
		"79160000007\n" // 7: one column short
	want := []string{"2/79160000001/", "3/7916000000\n2/", "6//malformed CSV: bare \" in non-quoted-field", "7/79160000007/has 1 columns, the header has 2"}
	if got := readRecords(t, CSV, csv); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("CSV records:\n got %q\nwant %q", got, want)
	}
	ndjson := `{"phone":"79160000001"}` + "\n\n" + // 1, 2 blank
		`{"phone":"79160000003","id":3}` + "\n" + // 3
		`{"phone":"79160000004","nick":"x"}` + "\n" + // 4
		`{"phone":79160000005}` + "\n" + // 5
		`{"phone":"79160000006"} {}` // 6, no final newline
	want = []string{"1/79160000001/", "3/79160000003/id is set by the server and cannot be given",
		`4/79160000004/unknown field "nick"`, "5//phone must be a string", "6/79160000006/line must hold exactly one JSON object"}
	if got := readRecords(t, NDJSON, ndjson); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("NDJSON records:\n got %q\nwant %q", got, want)
	}
}
