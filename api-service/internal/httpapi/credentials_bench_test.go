package httpapi_test

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"mailing/shared/domain"
	"mailing/shared/testkit"
)

// BenchmarkCredentials measures what a request pays for its credential in
// the steady state (lookups cached, the change feed connected): GET
// /api/mailouts/{id} through the real HTTP server on loopback, one client
// back to back over one keep-alive connection, alternating a JWT and an
// API key of the same role so that both see the same machine. It reports
// each one's p50 and p99 per request, in microseconds. A browser
// session's cookie is measured the same way.
//
//	go test -run '^$' -bench Credentials -benchtime 5000x ./api-service/internal/httpapi/
func BenchmarkCredentials(b *testing.B) {
	bu := setup(b)
	now := time.Now().UTC()
	m := bu.must(http.StatusCreated, "POST", "/api/mailouts", map[string]any{
		"text": "hello", "start_at": now.Add(time.Hour).Format(time.RFC3339), "end_at": now.Add(2 * time.Hour).Format(time.RFC3339),
	})
	url := bu.srv.URL + "/api/mailouts/" + itoa(id(b, m))
	_, jwt := bu.userWithRole("reader", domain.RoleViewer)
	key := bu.newKey("reader", domain.RoleViewer, nil)["secret"].(string)
	session := sessionCookie(b, bu)
	testkit.Eventually(b, "the change feed is connected", 5*time.Second, bu.authn.Listening)

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	get := func(credential string) time.Duration {
		req, _ := http.NewRequestWithContext(context.Background(), "GET", url, nil)
		if credential == session.Value {
			req.AddCookie(session)
		} else {
			req.Header.Set("Authorization", "Bearer "+credential)
		}
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		d := time.Since(start)
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
		return d
	}
	for range 200 { // warm the connection, the caches and the handler
		get(jwt)
		get(key)
		get(session.Value)
	}
	byJWT, byKey, bySession := make([]time.Duration, 0, b.N), make([]time.Duration, 0, b.N), make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		byJWT = append(byJWT, get(jwt))
		byKey = append(byKey, get(key))
		bySession = append(bySession, get(session.Value))
	}
	b.StopTimer()
	for name, lat := range map[string][]time.Duration{"jwt": byJWT, "key": byKey, "session": bySession} {
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), name+"-p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), name+"-p99-µs")
	}
}

// sessionCookie signs a viewer in through POST /auth/login and returns its
// session cookie.
func sessionCookie(b *testing.B, bu *bundle) *http.Cookie {
	b.Helper()
	bu.must(http.StatusCreated, "POST", "/api/users", map[string]any{"username": "browser", "password": "correct horse battery", "role": "viewer"})
	resp, err := http.Post(bu.srv.URL+"/auth/login", "application/json",
		strings.NewReader(`{"username": "browser", "password": "correct horse battery"}`))
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "mailing_session" {
			return c
		}
	}
	b.Fatalf("sign-in set no session cookie (status %d)", resp.StatusCode)
	return nil
}
