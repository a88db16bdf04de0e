package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkMailoutPreview measures POST /api/mailouts/preview through the
// real HTTP server on a directory of 1,000,000 customers made with
// generate_series (PREVIEW_BENCH_CUSTOMERS sets another size): 20 operator
// codes, 5 zones, tags t0–t9 held independently by 39% down to 1.7% of
// customers (as the import benchmark's population), names for half of
// them and cities for a third. One client back to back over one keep-alive
// connection, a templated text, a send window and 10 samples; each filter
// shape reports its p50 and p99 in milliseconds.
//
//	go test -run '^$' -bench MailoutPreview -benchtime 300x -timeout 30m ./api-service/internal/httpapi/
func BenchmarkMailoutPreview(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("PREVIEW_BENCH_CUSTOMERS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	bu := setup(b)
	start := time.Now()
	for _, q := range []string{
		`INSERT INTO phone_codes (code) SELECT (900 + g)::text FROM generate_series(0, 19) g`,
		`INSERT INTO timezones (name) VALUES ('Europe/Moscow'), ('Europe/Kaliningrad'), ('Asia/Yekaterinburg'), ('Asia/Novosibirsk'), ('Asia/Vladivostok')`,
		`INSERT INTO tags (name) SELECT 't' || g FROM generate_series(0, 9) g`,
		`INSERT INTO customers (phone, phone_code, timezone, attributes)
			SELECT (79000000000 + g)::text, (900 + h % 20)::text,
			       (ARRAY['Europe/Moscow', 'Europe/Kaliningrad', 'Asia/Yekaterinburg', 'Asia/Novosibirsk', 'Asia/Vladivostok'])[1 + (h / 20) % 5],
			       CASE WHEN g % 2 = 0 THEN jsonb_build_object('name', 'Имя ' || g) ELSE '{}' END
			       || CASE WHEN g % 3 = 0 THEN jsonb_build_object('city', 'Город ' || g % 1000) ELSE '{}' END
			FROM generate_series(0, $1::int - 1) g, LATERAL (SELECT abs(hashint8(g)) AS h) x`,
		`INSERT INTO customer_tags (customer_id, tag_id)
			SELECT c.id, t.id FROM customers c
			CROSS JOIN (SELECT id, (ARRAY[390, 294, 234, 192, 133, 101, 68, 35, 35, 17])[id] AS per_mille FROM tags) t
			WHERE abs(hashint8(c.id * 16 + t.id)) % 1000 < t.per_mille`,
		`VACUUM ANALYZE customers, customer_tags, customer_code_counts, tag_counts`,
	} {
		var args []any
		if strings.Contains(q, "$1") {
			args = append(args, n)
		}
		if _, err := bu.db.SQL().Exec(q, args...); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
	b.Logf("%d customers made in %s", n, time.Since(start).Round(time.Second))

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	post := func(body []byte) time.Duration {
		req, _ := http.NewRequestWithContext(context.Background(), "POST", bu.srv.URL+"/api/mailouts/preview", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+bu.token)
		req.Header.Set("Content-Type", "application/json")
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		d := time.Since(start)
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d: %s", resp.StatusCode, raw)
		}
		return d
	}
	for _, sc := range []struct {
		name   string
		filter map[string]any
	}{
		{"one-tag", map[string]any{"tags": []string{"t1"}}},
		{"one-code", map[string]any{"phone_codes": []string{"916"}}},
		{"everyone", map[string]any{}},
		{"two-codes", map[string]any{"phone_codes": []string{"916", "903"}}},
		{"tag-and-code", map[string]any{"tags": []string{"t1"}, "phone_codes": []string{"916"}}},
		{"two-tags", map[string]any{"tags": []string{"t1", "t2"}}},
		{"rare-tag-and-code", map[string]any{"tags": []string{"t9"}, "phone_codes": []string{"916"}}},
	} {
		body, err := json.Marshal(map[string]any{
			"text":        `Здравствуйте, {{ name | default: "клиент" }}! Скидка 20% в {{ city }}`,
			"filter":      sc.filter,
			"send_window": map[string]string{"start": "09:00", "end": "18:00"},
			"at":          "2026-11-27T06:30:00Z",
		})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(sc.name, func(b *testing.B) {
			for range 5 {
				post(body)
			}
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				lat = append(lat, post(body))
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
