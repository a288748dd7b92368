package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ampmetropole/guichet/cmd/guichet/compose"

	"github.com/ampmetropole/guichet/services/platform/bus"
	"github.com/ampmetropole/guichet/services/platform/mailer"
	"github.com/ampmetropole/guichet/services/platform/pgcluster"
	"github.com/ampmetropole/guichet/services/platform/sms"
)

// runDev runs every service in one process on an embedded NATS server and,
// unless DATABASE_URL says otherwise, a private PostgreSQL cluster.
func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, rest, err := parseConfig("dev", args, stderr, nil)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{fmt.Sprintf("argument inattendu : %s", strings.Join(rest, " "))}
	}
	log := newLogger(cfg.Log, stderr)
	dir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("dossier de données %s : %w", dir, err)
	}
	// A partner's webhook receiver on this machine may be http://.
	cfg.Webhooks.AllowHTTP = true
	if cfg.Secret == "" {
		if cfg.Secret, err = devSecret(filepath.Join(dir, "secret")); err != nil {
			return err
		}
	}

	natsURL := cfg.NATSURL
	if natsURL == "" {
		ns, err := bus.StartEmbedded(bus.EmbeddedConfig{Port: cfg.NATSPort, StoreDir: filepath.Join(dir, "nats")})
		if err != nil {
			return fmt.Errorf("NATS embarqué : %w (port %d pris ? essayez --nats-port 0)", err, cfg.NATSPort)
		}
		defer ns.Shutdown()
		natsURL = ns.ClientURL()
		// For the tools run beside it (guichet rgpd erase, retention).
		if err := os.WriteFile(filepath.Join(dir, "nats-url"), []byte(natsURL+"\n"), 0o600); err != nil {
			return fmt.Errorf("dossier de données : %w", err)
		}
	}

	dbURL := cfg.DatabaseURL
	if dbURL == "" {
		pg, err := pgcluster.Start(ctx, pgcluster.Config{Dir: filepath.Join(dir, "postgres"), Port: cfg.PGPort, BinDir: cfg.PGBin, Log: log})
		if err != nil {
			return err
		}
		defer pg.Stop()
		if err := pg.CreateDatabase(ctx, "guichet", ""); err != nil {
			return err
		}
		dbURL = pg.URL("guichet")
		// For the tools run beside it (guichet export-training).
		if err := os.WriteFile(filepath.Join(dir, "database-url"), []byte(dbURL+"\n"), 0o600); err != nil {
			return fmt.Errorf("dossier de données : %w", err)
		}
	}

	deps := compose.Deps{NATSURL: natsURL, DatabaseURL: dbURL}
	if cfg.Mail.SMTPURL == "" {
		if deps.Outbox, err = mailer.NewOutbox(filepath.Join(dir, "outbox"), cfg.Mail.From); err != nil {
			return err
		}
	}
	if cfg.SMS.Addr == "" {
		if deps.SMSOutbox, err = sms.NewOutbox(filepath.Join(dir, "sms")); err != nil {
			return err
		}
	}
	services := compose.Services
	if cfg.IMAP.URL == "" {
		services = slices.DeleteFunc(slices.Clone(services), func(s string) bool { return s == "imap" })
	}
	a, err := compose.Start(ctx, cfg, deps, services, log)
	if err != nil {
		return err
	}
	defer a.Stop()
	base := "http://" + a.Addr
	var accounts strings.Builder
	if err := ensureDemoAccounts(ctx, a.Auth, cfg.Secret, &accounts); err != nil {
		return err
	}
	if err := ensureDemoKnowledge(ctx, a); err != nil {
		return err
	}
	if err := ensureDemoContacts(ctx, a); err != nil {
		return err
	}
	token := "(GUICHET_DEV_TOKEN non défini)"
	if cfg.Auth.DevToken != "" {
		token = "le contenu de GUICHET_DEV_TOKEN (administrateur)"
	}
	fmt.Fprintf(stdout, `
Guichet tourne (Ctrl-C pour tout arrêter).
  Formulaire     %[1]s/demande
  Suivi          %[1]s/suivi
  Mes demandes   %[1]s/mes-demandes
  Courriels, SMS %[1]s/courriels   (écrits dans %[4]s/outbox et %[4]s/sms)
  Connexion      %[1]s/bo/connexion
  Console agent  %[1]s/agent?caller=0639981427   (connecté comme agent-01)
  Courrier       %[1]s/courrier   (accusés à poster : %[1]s/courrier/accuses)
  Back-office    %[1]s/bo/dossiers   (tri : %[1]s/bo/tri, tableau de bord : %[1]s/bo/tableau, réponses types : %[1]s/bo/connaissances)
  Données perso. %[1]s/bo/rgpd   (délégué à la protection des données : export, effacement, registre)
  Mairies        %[1]s/mairie   (comptes mairie-gardanne, mairie-cassis : dossiers de la commune, accueil, demandes transmises)
  Partenaires    %[1]s/bo/webhooks   (admin : abonnements webhooks)   Open311 : %[1]s/open311/v2/discovery.json
  Données ouv.   %[1]s/donnees
  API            %[1]s/api/v1/requests   (jeton : %[5]s)
  Santé          %[1]s/healthz   %[1]s/readyz
  Métriques      %[1]s/metrics
  NATS           %[2]s
  PostgreSQL     %[3]s
  Données        %[4]s

%[6]s
`, base, natsURL, redact(dbURL), dir, token, accounts.String())
	err = a.Wait(ctx)
	fmt.Fprintln(stdout, "Arrêt de Guichet…")
	return err
}

// devSecret reads the tracking-code key kept in the data folder, creating it
// on first run so that codes stay valid across restarts.
func devSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("clé des codes de suivi : %w", err)
	}
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	s := hex.EncodeToString(buf)
	if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("clé des codes de suivi : %w", err)
	}
	return s, nil
}

// redact hides the password of a database URL for display.
func redact(u string) string {
	at := strings.LastIndex(u, "@")
	scheme := strings.Index(u, "://")
	if at < 0 || scheme < 0 {
		return u
	}
	cred := u[scheme+3 : at]
	if i := strings.IndexByte(cred, ':'); i >= 0 {
		return u[:scheme+3] + cred[:i] + ":***" + u[at:]
	}
	return u
}
