package logging

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestNewWritesJSONWithServiceAndIDs(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(&buf, "debug", "", "api")
	if err != nil {
		t.Fatal(err)
	}
	log.Debug("customer created", CustomerID, int64(42))
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("not JSON: %v: %s", err, buf.Bytes())
	}
	if line["service"] != "api" || line["customer_id"] != float64(42) {
		t.Fatalf("line: %v", line)
	}
	if _, err := New(&buf, "loud", "json", "api"); err == nil {
		t.Fatal("bad level accepted")
	}
	if _, err := New(&buf, "info", "xml", "api"); err == nil {
		t.Fatal("bad format accepted")
	}
}
