// Command probe-sim is a stand-in for the external sending API: it checks
// the bearer token and the body of POST /v1/send/{id}, records accepted
// deliveries and injects faults on demand. "probe-sim token" prints a token
// it accepts, e.g. PROBE_TOKEN=$(bin/probe-sim token).
//
// Every flag can also be set through PROBE_SIM_<FLAG> (upper case, "-"
// as "_"), e.g. PROBE_SIM_ADDR or PROBE_SIM_RATE_500; a flag on the command
// line wins over the environment. Faults can be changed at runtime through
// the unauthenticated control API under /control, which is for tests and
// local use only.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	// Time zones compiled in: no zoneinfo needed on the host or in the image.
	_ "time/tzdata"

	"mailing/sender-worker/probesim"
	"mailing/shared/httpserve"
	"mailing/shared/logging"
)

// version is stamped at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "probe-sim:", err)
		os.Exit(1)
	}
}

// run is the whole program; tests call it with their own arguments,
// environment and output.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) > 0 && args[0] == "token" {
		return printToken(args[1:], getenv, stdout)
	}
	cfg, err := loadConfig(args, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log, err := logging.New(stdout, getenv("LOG_LEVEL"), getenv("LOG_FORMAT"), "probe-sim")
	if err != nil {
		return err
	}
	return serve(ctx, cfg, log)
}

// tokenTTL is long enough that a development token never needs renewing.
const tokenTTL = 10 * 365 * 24 * time.Hour

func printToken(args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("probe-sim token", flag.ContinueOnError)
	fs.SetOutput(stdout)
	secret := fs.String("secret", "", "HS256 secret (default: the public development secret)")
	ttl := fs.Duration("ttl", tokenTTL, "lifetime of the token")
	if err := parseFlags(fs, args, getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *secret == "" {
		*secret = probesim.DevSecret
	}
	if *ttl <= 0 {
		return errors.New("-ttl must be positive")
	}
	tok, err := probesim.MintToken(*secret, time.Now().Add(*ttl))
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, tok)
	return err
}

type config struct {
	addr      string
	secret    string
	devSecret bool
	seed      uint64
	faults    probesim.Faults
}

func loadConfig(args []string, getenv func(string) string, stdout io.Writer) (config, error) {
	fs := flag.NewFlagSet("probe-sim", flag.ContinueOnError)
	fs.SetOutput(stdout)
	addr := fs.String("addr", ":8090", "listen address")
	secret := fs.String("secret", "", "HS256 secret of the bearer tokens (default: the public development secret)")
	latency := fs.Duration("latency", 0, "latency added to every send (whole milliseconds)")
	jitter := fs.Duration("jitter", 0, "each send's latency varies uniformly by ± this much (whole milliseconds)")
	r500 := fs.Float64("rate-500", 0, "share of sends answered 500")
	r400 := fs.Float64("rate-400", 0, "share of sends answered 400")
	r429 := fs.Float64("rate-429", 0, "share of sends answered 429 with Retry-After")
	r503 := fs.Float64("rate-503", 0, "share of sends answered 503 with Retry-After")
	rGarbage := fs.Float64("rate-garbage", 0, "share of sends answered 200 with a non-JSON body")
	rCode := fs.Float64("rate-code-nonzero", 0, `share of sends answered 200 with {"code": 1}`)
	retryAfter := fs.Duration("retry-after", time.Second, "Retry-After of 429 and 503 answers (whole seconds)")
	hang := fs.Bool("hang", false, "hold every send unanswered until the client gives up")
	down := fs.Bool("down", false, "close every send's connection without an answer")
	seed := fs.Uint64("seed", 0, "seed of the random choices; 0 picks one (it is logged)")
	if err := parseFlags(fs, args, getenv); err != nil {
		return config{}, err
	}
	c := config{addr: *addr, secret: *secret, seed: *seed}
	if c.secret == "" {
		c.secret, c.devSecret = probesim.DevSecret, true
	}
	if c.seed == 0 {
		c.seed = rand.Uint64()
	}
	var errs []error
	c.faults = probesim.Faults{
		LatencyMS:   whole(&errs, "-latency", *latency, time.Millisecond),
		JitterMS:    whole(&errs, "-jitter", *jitter, time.Millisecond),
		RetryAfterS: whole(&errs, "-retry-after", *retryAfter, time.Second),
		Rate500:     *r500, Rate400: *r400, Rate429: *r429, Rate503: *r503,
		RateGarbage: *rGarbage, RateCodeNonzero: *rCode,
		Hang: *hang, Down: *down,
	}
	if err := c.faults.Validate(); err != nil {
		errs = append(errs, err)
	}
	return c, errors.Join(errs...)
}

// parseFlags applies PROBE_SIM_<FLAG> variables first, then the command
// line, so flags win; both go through the flag's own parser.
func parseFlags(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		key := "PROBE_SIM_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(key); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", key, v, err))
			}
		}
	})
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return nil
}

// whole converts d to a count of unit, recording an error when d is
// negative or not a whole number of units.
func whole(errs *[]error, name string, d, unit time.Duration) int {
	if d < 0 || d%unit != 0 {
		*errs = append(*errs, fmt.Errorf("%s %v: want a non-negative whole number of %v", name, d, unit))
		return 0
	}
	return int(d / unit)
}

func serve(ctx context.Context, cfg config, log *slog.Logger) error {
	if cfg.devSecret {
		log.Warn("using the public development secret; set PROBE_SIM_SECRET or -secret outside a developer machine")
	}
	sim, err := probesim.New(probesim.Options{Secret: cfg.secret, Seed: cfg.seed, Faults: cfg.faults, Logger: log})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.addr, err)
	}
	srv := httpserve.NewServer(withMetrics(sim, log), log)
	log.Info("listening", "addr", ln.Addr().String(), "version", version, "seed", cfg.seed, "faults", cfg.faults)
	return httpserve.Serve(ctx, srv, ln, log, httpserve.Options{Grace: 10 * time.Second, BeforeShutdown: sim.Close})
}
