package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/ampmetropole/guichet/cmd/guichet/compose"

	"github.com/ampmetropole/guichet/services/cases/casestore"
)

// runServe runs the chosen services against external NATS and PostgreSQL.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	// Services first, then flags: "guichet serve api router --addr :8080".
	var services []string
	for len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		services = append(services, args[0])
		args = args[1:]
	}
	cfg, rest, err := parseConfig("serve", args, stderr, nil)
	if err != nil {
		return err
	}
	services = append(services, rest...)
	if len(services) == 0 {
		return usageError{"indiquez au moins un service : " + strings.Join(compose.Services, ", ")}
	}
	for _, s := range services {
		if !slices.Contains(compose.Services, s) {
			return usageError{fmt.Sprintf("service inconnu %q (connus : %s)", s, strings.Join(compose.Services, ", "))}
		}
	}
	var missing []string
	if cfg.NATSURL == "" {
		missing = append(missing, "NATS_URL")
	}
	if cfg.DatabaseURL == "" {
		missing = append(missing, "DATABASE_URL")
	}
	if (slices.Contains(services, "api") || slices.Contains(services, "web") || slices.Contains(services, "agent") || slices.Contains(services, "imap")) && len(cfg.Secret) < 16 {
		missing = append(missing, "GUICHET_SECRET (16 caractères au moins)")
	}
	if slices.Contains(services, "imap") && cfg.IMAP.URL == "" {
		missing = append(missing, "GUICHET_IMAP_URL")
	}
	if slices.Contains(services, "notifier") && cfg.Mail.SMTPURL == "" {
		missing = append(missing, "GUICHET_SMTP_URL")
	}
	if len(missing) > 0 {
		return usageError{"variables d'environnement requises : " + strings.Join(missing, ", ")}
	}
	log := newLogger(cfg.Log, stderr)
	a, err := compose.Start(ctx, cfg, compose.Deps{NATSURL: cfg.NATSURL, DatabaseURL: cfg.DatabaseURL}, services, log)
	if err != nil {
		return err
	}
	defer a.Stop()
	log.Info("guichet serving", "services", services, "addr", a.Addr, "version", version)
	err = a.Wait(ctx)
	log.Info("guichet stopping", "services", services, "reason", context.Cause(ctx))
	return err
}

// runMigrate applies the migrations to DATABASE_URL.
func runMigrate(ctx context.Context, args []string, stderr io.Writer) error {
	cfg, _, err := parseConfig("migrate", args, stderr, nil)
	if err != nil {
		return err
	}
	if cfg.DatabaseURL == "" {
		return usageError{"DATABASE_URL est requise"}
	}
	return casestore.Migrate(ctx, cfg.DatabaseURL, newLogger(cfg.Log, stderr))
}
