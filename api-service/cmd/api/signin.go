package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"mailing/api-service/internal/accounts"
	"mailing/shared/domain"
	"mailing/shared/postgres"
)

// localSignIn is "api local-sign-in on|off": the way back in for an
// operator of the server when local sign-in is off and the identity
// provider cannot sign an admin in. Turning it off obeys the API's rule
// (a provider with an enabled admin must be configured).
func localSignIn(ctx context.Context, cfg appConfig, log *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) != 1 || (args[0] != "on" && args[0] != "off") {
		return fmt.Errorf("usage: api local-sign-in on|off")
	}
	on := args[0] == "on"
	db, err := postgres.Open(ctx, cfg.DatabaseURL, log)
	if err != nil {
		return err
	}
	defer db.Close()
	users := postgres.NewUsers(db)
	svc := accounts.New(accounts.Config{Users: users, Keys: postgres.NewKeys(db), Settings: postgres.NewSettings(db),
		Admins: users, OIDCIssuer: cfg.OIDC.Issuer, Log: log})
	st, err := svc.UpdateSettings(ctx, domain.SettingsChange{LocalSignIn: &on})
	if err != nil {
		return fmt.Errorf("turn local sign-in %s: %w", args[0], err)
	}
	state := "off"
	if st.LocalSignIn {
		state = "on"
	}
	_, err = fmt.Fprintf(stdout, "local sign-in is %s\n", state)
	return err
}
