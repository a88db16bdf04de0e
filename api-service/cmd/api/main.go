// Command api serves the mailing service's HTTP API; "api migrate" applies
// the database migrations and exits; "api local-sign-in on|off" turns
// username and password sign-in on or off.
//
//	@title						Mailing service API
//	@version					1.0
//	@description				Operators keep a customer directory and create mailouts that target customers by tag and mobile operator code; the service delivers one message per matching customer to an external sending API and reports statistics.
//	@description				Every /api route needs Authorization: Bearer with a token from POST /auth/token (OAuth2 password grant) or an integrator's API key (mk_live_…, from POST /api/keys), and a role: viewer reads; operator also changes customers, mailouts, imports and reference data and cancels mailouts; admin also manages users, keys and settings. Each operation's 403 says the role it needs. Errors have one shape: {"error": {"code", "message", "fields"}}. Lists are keyset-paginated: pass the "next" value of a page as ?after= to get the following one.
//	@description				Messages are read-only: they are delivery records written by the sender, and editing them would falsify the statistics.
//	@BasePath					/
//	@securityDefinitions.oauth2.password	OAuth2Password
//	@tokenUrl					/auth/token
//	@securityDefinitions.apikey	Bearer
//	@in							header
//	@name						Authorization
//	@description				Type Bearer, a space and the credential: a token from POST /auth/token, or an API key mk_live_… from POST /api/keys.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	// Time zones compiled in: no zoneinfo needed on the host or in the image.
	_ "time/tzdata"
)

// version is stamped at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "api:", err)
		os.Exit(1)
	}
}

// run is the whole program; tests call it with their own arguments,
// environment and output.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd = args[0]
	}
	cfg, err := loadConfig(getenv, cmd == "serve")
	if err != nil {
		return err
	}
	log, err := newLogger(cfg, stdout)
	if err != nil {
		return err
	}
	switch cmd {
	case "serve":
		return serve(ctx, cfg, log)
	case "migrate":
		return migrate(ctx, cfg, log)
	case "local-sign-in":
		return localSignIn(ctx, cfg, log, args[1:], stdout)
	default:
		return fmt.Errorf("unknown command %q: want serve (default), migrate or local-sign-in on|off", cmd)
	}
}
