package logging

import (
	"bytes"
	"encoding/json"
	"log/slog"
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

func TestPhonesAreMaskedUnlessPII(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(&buf, "info", "json", "api")
	if err != nil {
		t.Fatal(err)
	}
	log.With(Phone, "79161234567").Info("one")
	log.Info("two", Phone, "79161234567")
	if bytes.Contains(buf.Bytes(), []byte("9161234567")) || bytes.Count(buf.Bytes(), []byte(`"phone":"*******4567"`)) != 2 {
		t.Fatalf("phone not masked: %s", buf.Bytes())
	}
	buf.Reset()
	log, err = New(&buf, "info", "text", "api", PII(true))
	if err != nil {
		t.Fatal(err)
	}
	log.Info("three", Phone, "79161234567")
	if !bytes.Contains(buf.Bytes(), []byte("phone=79161234567")) {
		t.Fatalf("LOG_PII=true must keep the phone: %s", buf.Bytes())
	}
}

func TestMaskPhoneAndExcerpt(t *testing.T) {
	for in, want := range map[string]string{"": "", "123": "***", "1234": "****", "79161234567": "*******4567"} {
		if got := MaskPhone(in); got != want {
			t.Errorf("MaskPhone(%q) = %q, want %q", in, got, want)
		}
	}
	for _, c := range []struct {
		in   string
		max  int
		want string
	}{{"hello", 5, "hello"}, {"hello", 4, "hell…"}, {"привет", 2, "пр…"}, {"", 3, ""}} {
		if got := Excerpt(c.in, c.max); got != c.want {
			t.Errorf("Excerpt(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
	}
}

func TestPhonesInGroupsAndAttrsAreMasked(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(&buf, "info", "json", "worker")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("nested", slog.Group("customer", slog.String(Phone, "79031112233")))
	log.With(slog.Group("c", slog.String(Phone, "79031112233"))).WithGroup("g").Info("grouped", Phone, "79031112233")
	if bytes.Contains(buf.Bytes(), []byte("903111")) || bytes.Count(buf.Bytes(), []byte(`"phone":"*******2233"`)) != 3 {
		t.Fatalf("phone not masked: %s", buf.Bytes())
	}
}
