package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// client is an HTTP client of the API, holding the bearer token.
type client struct {
	base  string
	http  *http.Client
	token string
}

func newClient(base string, conns int) *client {
	tr := &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &client{base: base, http: &http.Client{Transport: tr}}
}

// login gets a token with the OAuth2 password grant.
func (c *client) login(ctx context.Context, user, password string) error {
	form := url.Values{"grant_type": {"password"}, "username": {user}, "password": {password}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/auth/token", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := c.doJSON(req, http.StatusOK, &tok); err != nil {
		return fmt.Errorf("log in: %w", err)
	}
	c.token = tok.AccessToken
	return nil
}

// newRequest builds an authenticated request to path.
func (c *client) newRequest(ctx context.Context, method, path string, body io.Reader, contentType string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req, nil
}

// doJSON sends req and decodes a want-status answer into out.
func (c *client) doJSON(req *http.Request, want int, out any) error {
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", req.Method, req.URL.Path, err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: status %d: %s", req.Method, req.URL.Path, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", req.Method, req.URL.Path, err)
	}
	return nil
}

// mailoutAnswer is the part of a mailout the run reads.
type mailoutAnswer struct {
	ID       int64     `json:"id"`
	StartAt  time.Time `json:"start_at"`
	Audience int64     `json:"audience"`
}

// mailoutBody is a POST /api/mailouts body: start as given, an hour long,
// for the customers of codes (all customers when codes is empty).
func mailoutBody(text string, start time.Time, codes []string) ([]byte, error) {
	filter := map[string]any{}
	if len(codes) > 0 {
		filter["phone_codes"] = codes
	}
	return json.Marshal(map[string]any{
		"text":     text,
		"start_at": start.UTC().Format(time.RFC3339Nano),
		"end_at":   start.Add(time.Hour).UTC().Format(time.RFC3339Nano),
		"filter":   filter,
	})
}
