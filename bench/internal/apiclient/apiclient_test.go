package apiclient

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestLoginThenAuthenticatedRequests(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/auth/token":
			if r.PostFormValue("grant_type") != "password" || r.PostFormValue("username") != "ops" || r.PostFormValue("password") != "pw" {
				http.Error(w, `{"error":{"code":"unauthorized"}}`, http.StatusUnauthorized)
				return
			}
			_, _ = w.Write([]byte(`{"access_token":"tok","token_type":"bearer"}`))
		case "/api/things":
			if r.Header.Get("Authorization") != "Bearer tok" {
				http.Error(w, `{"error":{"code":"unauthorized"}}`, http.StatusUnauthorized)
				return
			}
			_, _ = w.Write([]byte(`{"n":3}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	c := New(srv.URL, 4)
	if err := c.Login(ctx, "ops", "wrong"); err == nil || !strings.Contains(err.Error(), "status 401") {
		t.Fatalf("login with a wrong password: %v, want a 401 error", err)
	}
	if err := c.Login(ctx, "ops", "pw"); err != nil || c.Token != "tok" {
		t.Fatalf("login: %v, token %q", err, c.Token)
	}
	req, err := c.NewRequest(ctx, http.MethodGet, "/api/things", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ N int }
	if err := c.DoJSON(req, http.StatusOK, &out); err != nil || out.N != 3 {
		t.Fatalf("authenticated request: %v, %+v", err, out)
	}
	req, _ = c.NewRequest(ctx, http.MethodGet, "/nowhere", nil, "")
	if err := c.DoJSON(req, http.StatusOK, &out); err == nil || !strings.Contains(err.Error(), "status 404") {
		t.Fatalf("unexpected status: %v, want an error naming 404", err)
	}
}
