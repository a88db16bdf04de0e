// Package apiclient is a small HTTP client of the mailing API for the
// measuring tools: it logs in with the OAuth2 password grant and keeps a
// keep-alive pool sized for the load it generates.
package apiclient

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

// Client calls the API at Base with the bearer token of its last Login.
type Client struct {
	Base  string
	HTTP  *http.Client
	Token string
}

// New returns a client keeping up to conns idle connections to the API,
// so a load of conns concurrent requests never dials again.
func New(base string, conns int) *Client {
	tr := &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &Client{Base: base, HTTP: &http.Client{Transport: tr}}
}

// Login gets a token with the OAuth2 password grant.
func (c *Client) Login(ctx context.Context, user, password string) error {
	form := url.Values{"grant_type": {"password"}, "username": {user}, "password": {password}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Base+"/auth/token", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := c.DoJSON(req, http.StatusOK, &tok); err != nil {
		return fmt.Errorf("log in: %w", err)
	}
	c.Token = tok.AccessToken
	return nil
}

// NewRequest builds an authenticated request to path.
func (c *Client) NewRequest(ctx context.Context, method, path string, body io.Reader, contentType string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req, nil
}

// DoJSON sends req and decodes an answer with status want into out; any
// other status is an error carrying the answer's body.
func (c *Client) DoJSON(req *http.Request, want int, out any) error {
	resp, err := c.HTTP.Do(req)
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
