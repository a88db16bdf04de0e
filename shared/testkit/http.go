package testkit

import (
	"context"
	"io"
	"net/http"
	"strings"
)

// Do sends a request with body to url through hc, with the headers given
// as name, value pairs, and returns the answer with its body read and
// closed. A failure to read the body returns the answer with the error.
func Do(ctx context.Context, hc *http.Client, method, url, body string, header ...string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp, raw, err
}
