// Package probe is the client of the external sending API (DESIGN.md §6):
// it sends one message, classifies every possible answer into what the
// sender should do next, and wraps the API in a circuit breaker so a dead or
// failing API is not hammered.
package probe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"mailing/shared/domain"
	"mailing/shared/logging"
)

// Defaults for zero Config fields.
const (
	DefaultTimeout  = 10 * time.Second
	DefaultMaxConns = 64
)

// Config configures a Client.
type Config struct {
	// URL is the API base, ending in /v1 (PROBE_URL).
	URL string
	// Token is the bearer token (PROBE_TOKEN).
	Token string
	// Timeout bounds each attempt (PROBE_TIMEOUT); default DefaultTimeout.
	Timeout time.Duration
	// MaxConns is the sender's concurrency (SENDER_CONCURRENCY): the
	// connection pool keeps that many connections alive to the API host.
	// Default DefaultMaxConns.
	MaxConns int
	// Breaker configures the circuit breaker.
	Breaker BreakerConfig
	// OnStateChange, if set, is called on every breaker transition. It runs
	// while the breaker is locked: it must return quickly and must not call
	// the Client.
	OnStateChange func(from, to State)
	// Metrics counts requests and breaker changes; nil counts nothing.
	Metrics *Metrics
}

// Message is one delivery. ID, Phone and Text go to the API; Attempt,
// MailoutID and CustomerID are only logged.
type Message struct {
	ID int64
	// Phone is 11 digits, e.g. 79161234567.
	Phone      string
	Text       string
	Attempt    int
	MailoutID  int64
	CustomerID int64
}

// Client sends messages to the external API. It is safe for concurrent use
// by any number of goroutines.
type Client struct {
	sendURL string // base + "/send/"
	auth    string
	timeout time.Duration
	http    *http.Client
	breaker *breaker
	log     *slog.Logger
	metrics *Metrics
}

// request is the contract's body: id and phone are JSON numbers.
type request struct {
	ID    int64  `json:"id"`
	Phone int64  `json:"phone"`
	Text  string `json:"text"`
}

// New builds a Client. log may be nil (nothing is logged).
func New(cfg Config, log *slog.Logger) (*Client, error) {
	base, err := baseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	if cfg.Token == "" {
		return nil, errors.New("probe: empty bearer token")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	notify := func(from, to State) {
		cfg.Metrics.transition(from, to)
		if cfg.OnStateChange != nil {
			cfg.OnStateChange(from, to)
		}
	}
	br, err := newBreaker(cfg.Breaker, log, notify)
	if err != nil {
		return nil, err
	}
	return &Client{
		sendURL: base + "/send/",
		auth:    "Bearer " + cfg.Token,
		timeout: cfg.Timeout,
		http: &http.Client{
			Transport: newTransport(cfg.MaxConns, cfg.Timeout),
			// A redirect is not part of the contract; it is classified, not
			// followed (following would turn the POST into a GET).
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		breaker: br,
		log:     log,
		metrics: cfg.Metrics,
	}, nil
}

func baseURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("probe: url %q: %w", raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("probe: url %q: want an http(s) URL such as http://host/v1", raw)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// newTransport keeps up to maxConns connections alive to the one API host,
// so at thousands of requests per second every request reuses a connection
// instead of paying a TCP (and TLS) handshake.
func newTransport(maxConns int, timeout time.Duration) *http.Transport {
	dialer := &net.Dialer{Timeout: min(timeout, 5*time.Second), KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         dialer.DialContext,
		ForceAttemptHTTP2:   true,
		MaxIdleConns:        maxConns,
		MaxIdleConnsPerHost: maxConns,
		// The cap stops a dial storm; the headroom covers connections still
		// being torn down after timed-out attempts, so the sender's own
		// concurrency, not this cap, is what limits it.
		MaxConnsPerHost:       2 * maxConns,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   min(timeout, 5*time.Second),
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: time.Second,
	}
}

// Close releases idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// State is the breaker's current state.
func (c *Client) State() State { return c.breaker.state() }

// WaitReady blocks while the breaker would refuse a request: while it is
// open, and while it is half-open with every probe slot taken. The sender
// calls it before taking a job, so an open breaker stops consumption instead
// of causing a storm of deferrals, and consumption resumes by itself. It
// returns ctx.Err() if ctx ends first.
func (c *Client) WaitReady(ctx context.Context) error { return c.breaker.waitReady(ctx) }

// Send delivers m once. The attempt runs under the Client's Timeout and
// under ctx, whose deadline is expected to be the mailout's end time: the
// Result tells the two apart (domain.ReasonTimeout vs domain.ReasonDeadline).
func (c *Client) Send(ctx context.Context, m Message) Result {
	if err := ctx.Err(); err != nil {
		return c.done(ctx, m, contextResult(err))
	}
	phone, ok := parsePhone(m.Phone)
	if !ok {
		return c.done(ctx, m, Result{Outcome: Permanent, Reason: domain.ReasonInvalidMessage,
			Err: fmt.Errorf("phone %q is not 11 digits", logging.MaskPhone(m.Phone))})
	}
	report, ok := c.breaker.allow()
	if !ok {
		c.metrics.rejectedByBreaker()
		return c.done(ctx, m, Result{Outcome: Deferred, Reason: domain.ReasonBreakerOpen, RetryAfter: c.breaker.untilProbe()})
	}
	r := c.post(ctx, m, phone)
	report(r)
	c.metrics.observe(r)
	return c.done(ctx, m, r)
}

// post makes the HTTP request.
func (c *Client) post(ctx context.Context, m Message, phone int64) Result {
	body, err := json.Marshal(request{ID: m.ID, Phone: phone, Text: m.Text})
	if err != nil {
		return Result{Outcome: Permanent, Reason: domain.ReasonInvalidMessage, Err: fmt.Errorf("encode request: %w", err)}
	}
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	idStr := strconv.FormatInt(m.ID, 10)
	req, err := http.NewRequestWithContext(actx, http.MethodPost, c.sendURL+idStr, bytes.NewReader(body))
	if err != nil {
		return Result{Outcome: Permanent, Reason: domain.ReasonInvalidMessage, Err: fmt.Errorf("build request: %w", err)}
	}
	req.Header.Set("Authorization", c.auth)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	// The message id is the external id, so the request is idempotent; the
	// header also lets net/http replay it on a keep-alive connection the
	// server closed before reading it, instead of failing the attempt.
	req.Header.Set("Idempotency-Key", idStr)

	c.logRequest(ctx, m)
	c.metrics.begin()
	defer c.metrics.end()
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		r := transportResult(ctx, actx, err)
		r.Latency = time.Since(start)
		return r
	}
	data, tooLarge, readErr := readBody(resp.Body)
	latency := time.Since(start)
	if readErr != nil && resp.StatusCode == http.StatusOK {
		// A 200 whose body could not be read is not an acceptance.
		r := transportResult(ctx, actx, readErr)
		r.HTTPStatus, r.BodyExcerpt, r.Latency = resp.StatusCode, excerpt(data), latency
		return r
	}
	r := classify(resp.StatusCode, resp.Header, data, tooLarge, time.Now())
	r.Latency = latency
	if readErr != nil {
		r.Err = readErr
	}
	return r
}

// readBody reads at most maxBody bytes, then drains a bounded rest and
// closes the body, so that the connection returns to the idle pool.
func readBody(body io.ReadCloser) (data []byte, tooLarge bool, err error) {
	defer body.Close()
	data, err = io.ReadAll(io.LimitReader(body, maxBody+1))
	if err != nil {
		return data, false, fmt.Errorf("read answer: %w", err)
	}
	if len(data) > maxBody {
		data, tooLarge = data[:maxBody], true
	}
	_, _ = io.CopyN(io.Discard, body, maxDrain)
	return data, tooLarge, nil
}

// transportResult classifies a failure without a usable answer. The
// caller's context is checked first: when it is done, the attempt ended
// because of the caller (the mailout's end time, or a cancellation), not
// because the API was slow.
func transportResult(ctx, actx context.Context, err error) Result {
	if ctxErr := ctx.Err(); ctxErr != nil {
		r := contextResult(ctxErr)
		r.Err = err
		return r
	}
	var netErr net.Error
	if errors.Is(actx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) ||
		(errors.As(err, &netErr) && netErr.Timeout()) {
		return Result{Outcome: Transient, Reason: domain.ReasonTimeout, Err: err}
	}
	return Result{Outcome: Transient, Reason: domain.ReasonConnection, Err: err}
}

// contextResult describes an attempt stopped by the caller's context.
func contextResult(err error) Result {
	if errors.Is(err, context.DeadlineExceeded) {
		return Result{Outcome: Transient, Reason: domain.ReasonDeadline, Err: err}
	}
	return Result{Outcome: Transient, Reason: domain.ReasonCancelled, Err: err}
}

// parsePhone accepts exactly 11 ASCII digits.
func parsePhone(p string) (int64, bool) {
	if len(p) != 11 {
		return 0, false
	}
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(p, 10, 64)
	return n, err == nil
}

// textExcerptRunes bounds the message text in logs: enough to recognise
// it, never the whole message.
const textExcerptRunes = 32

// logRequest writes the debug line of a request about to be sent. The
// phone goes under logging.Phone, which the service's log handler masks.
func (c *Client) logRequest(ctx context.Context, m Message) {
	if !c.log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	c.log.LogAttrs(ctx, slog.LevelDebug, "probe request",
		slog.Int64(logging.MessageID, m.ID),
		slog.Int64(logging.MailoutID, m.MailoutID),
		slog.Int64(logging.CustomerID, m.CustomerID),
		slog.Int(logging.Attempt, m.Attempt),
		slog.String(logging.Phone, m.Phone),
		slog.String("text_excerpt", logging.Excerpt(m.Text, textExcerptRunes)),
	)
}

// done logs the result of one Send and returns it: one info line per
// request made, which also names the request (ids, attempt), so the
// default level records every request and its answer. Sends refused by
// the open breaker made no request and are debug lines; an auth failure
// is a warning since sending stops on it.
func (c *Client) done(ctx context.Context, m Message, r Result) Result {
	level := slog.LevelInfo
	switch r.Outcome {
	case Deferred:
		level = slog.LevelDebug
	case Auth:
		level = slog.LevelWarn
	}
	if !c.log.Enabled(ctx, level) {
		return r
	}
	attrs := []slog.Attr{
		slog.Int64(logging.MessageID, m.ID),
		slog.Int64(logging.MailoutID, m.MailoutID),
		slog.Int64(logging.CustomerID, m.CustomerID),
		slog.Int(logging.Attempt, m.Attempt),
		slog.String(logging.Outcome, string(r.Outcome)),
		slog.String("reason", string(r.Reason)),
		slog.Int(logging.HTTPStatus, r.HTTPStatus),
		slog.Float64(logging.LatencyMS, float64(r.Latency.Microseconds())/1000),
	}
	if r.RetryAfter > 0 {
		attrs = append(attrs, slog.Int64("retry_after_ms", r.RetryAfter.Milliseconds()))
	}
	if r.BodyExcerpt != "" {
		attrs = append(attrs, slog.String("body", r.BodyExcerpt))
	}
	if r.Err != nil {
		attrs = append(attrs, slog.String("error", r.Err.Error()))
	}
	c.log.LogAttrs(ctx, level, "probe response", attrs...)
	return r
}
