package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// LogConfig configures logging.
type LogConfig struct {
	Level  slog.Level
	Format string // text | json
}

// Config is Guichet's whole configuration, parsed once here and passed down.
type Config struct {
	Addr        string
	DataDir     string
	NATSURL     string
	DatabaseURL string
	NATSPort    int
	PGPort      int
	PGBin       string
	Secret      string
	PublicURL   string
	Mail        MailConfig
	WebRate     int
	APIRate     int // submissions a minute per API credential (requests, calls, scans)
	AcksPerHour int // acknowledgements one e-mail address receives in an hour
	IMAP        IMAPConfig
	Auth        AuthConfig
	Log         LogConfig
	Router      RouterConfig
	Streams     StreamConfig
}

// MailConfig says how e-mails leave: SMTP when a URL is set, else (dev) the
// outbox folder.
type MailConfig struct {
	SMTPURL string
	From    string
}

// AuthConfig says how people and systems sign in.
type AuthConfig struct {
	TrustedProxies                                     []string // reverse proxies whose X-Forwarded-For is believed
	DevToken                                           string   // accepted as an admin bearer token (development)
	OIDCIssuer, OIDCClientID, OIDCSecret, OIDCRedirect string
}

// IMAPConfig says which mailbox the mail channel reads.
type IMAPConfig struct {
	URL       string
	Processed string
	Rejected  string
	Scanners  []string // senders whose messages are scans: addresses or @domains
}

// RouterConfig tunes the router service.
type RouterConfig struct {
	Workers        int
	MaxAttempts    int
	AckWait        time.Duration
	Model          string  // classifier model file; empty: the shipped one
	Catalogue      string  // catalogue file (rules); empty: the shipped one
	TriageBelow    float64 // confidence under which a request goes to triage
	LinkWindow     time.Duration
	LinkSimilarity float64
}

// StreamConfig sizes the JetStream streams.
type StreamConfig struct {
	Replicas int
}

// envDoc documents every environment variable; printed by -h.
const envDoc = `
Variables d'environnement (une option en ligne de commande l'emporte) :
  GUICHET_ADDR            adresse HTTP (défaut 127.0.0.1:8080)
  GUICHET_DATA            dossier des données de "guichet dev"
  NATS_URL                serveur NATS externe (serve ; dev : embarqué si vide)
  DATABASE_URL            PostgreSQL externe (serve ; dev : grappe privée si vide)
  GUICHET_NATS_PORT       port du NATS embarqué (dev ; défaut 4222, 0 = libre)
  GUICHET_PG_PORT         port de la grappe PostgreSQL privée (dev ; défaut 0 = libre)
  GUICHET_PG_BIN          dossier des binaires initdb/postgres (défaut : PATH puis /usr/lib/postgresql/*/bin)
  GUICHET_SECRET          clé des codes de suivi, 16 octets au moins (obligatoire pour serve api ; dev : générée dans DIR)
  GUICHET_PUBLIC_URL      adresse publique du site, pour les liens des courriels (défaut http://ADDR)
  GUICHET_SMTP_URL        serveur d'envoi : smtp://user:pass@hôte:587 (STARTTLS), smtps://…:465 ; dev sans SMTP : dossier DIR/outbox, page /courriels
  GUICHET_MAIL_FROM       expéditeur des courriels
  GUICHET_WEB_RATE        envois de formulaires par minute et par adresse IP (défaut 10)
  GUICHET_API_RATE        dépôts par minute et par jeton d'API : demandes, appels, scans (défaut 600)
  GUICHET_ACKS_PER_HOUR   accusés de réception envoyés par heure à une même adresse électronique (défaut 5)
  GUICHET_IMAP_URL        boîte du courrier numérisé : imaps://user:pass@hôte:993/INBOX, imap://… (STARTTLS), imap+plain://… (boucle locale)
  GUICHET_IMAP_PROCESSED  dossier des messages traités (défaut Traites)
  GUICHET_IMAP_REJECTED   dossier des messages rejetés (défaut Rejetes)
  GUICHET_IMAP_SCANNERS   expéditeurs des scans, séparés par des virgules (adresses ou @domaine) ;
                          sans elle, un message qui porte un PDF ou un TIFF et presque pas de texte est un scan
  GUICHET_LOG_LEVEL       debug | info | warn | error (défaut info)
  GUICHET_LOG_FORMAT      text | json (défaut text)
  GUICHET_ROUTER_WORKERS  lots de demandes traités en parallèle par le routeur (défaut : un par cœur, au moins 2)
  GUICHET_ROUTER_MAX_ATTEMPTS  remises avant la file DEAD (défaut 5)
  GUICHET_ROUTER_ACK_WAIT délai avant nouvelle remise d'un message non acquitté (défaut 30s)
  GUICHET_TRUSTED_PROXIES adresses ou réseaux (CIDR) des mandataires inverses dont on croit l'en-tête X-Forwarded-For,
                          séparés par des virgules (limites par adresse et journal d'audit)
  GUICHET_DEV_TOKEN       jeton d'API accepté comme administrateur (développement seulement ; 16 caractères au moins)
  GUICHET_OIDC_ISSUER     fournisseur OpenID Connect des agents (ex. https://sso.ampmetropole.fr/realms/agents) ;
  GUICHET_OIDC_CLIENT_ID, GUICHET_OIDC_CLIENT_SECRET, GUICHET_OIDC_REDIRECT_URL  son enregistrement pour Guichet
  GUICHET_MODEL           fichier du modèle de classification (défaut : celui livré, appris par guichet train)
  GUICHET_CATALOGUE       fichier du catalogue : compétences et règles du routage (défaut : celui livré)
  GUICHET_TRIAGE_BELOW    confiance sous laquelle une demande va au tri humain (défaut 0.6)
  GUICHET_LINK_WINDOW     ancienneté maximale d'un dossier ouvert du même demandeur pour y joindre une demande (défaut 1440h)
  GUICHET_LINK_SIMILARITY similarité de texte minimale pour joindre ce dossier (0 à 1, défaut 0.2)
  GUICHET_STREAM_REPLICAS réplicas des flux JetStream (défaut 1 ; 3 sur une grappe)
`

// defaultDataDir is where `guichet dev` keeps its data, and where the
// commands run beside it find its database: GUICHET_DATA, else a folder
// of the user's.
func defaultDataDir() string {
	if d := os.Getenv("GUICHET_DATA"); d != "" {
		return d
	}
	if os.Geteuid() == 0 {
		// PostgreSQL runs as an unprivileged user, who cannot enter /root.
		return "/var/lib/guichet"
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "guichet")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "share", "guichet")
	}
	return "guichet-data"
}

// parseConfig reads the environment, then the flags of a subcommand.
func parseConfig(name string, args []string, stderr io.Writer, dev bool) (Config, []string, error) {
	var cfg Config
	var errs []string
	envInt := func(key string, def int) int {
		v := os.Getenv(key)
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s=%q : nombre entier attendu", key, v))
		}
		return n
	}
	envDur := func(key string, def time.Duration) time.Duration {
		v := os.Getenv(key)
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s=%q : durée attendue (ex. 30s)", key, v))
		}
		return d
	}
	envFloat := func(key string, def float64) float64 {
		v := os.Getenv(key)
		if v == "" {
			return def
		}
		f, err := strconv.ParseFloat(strings.Replace(v, ",", ".", 1), 64)
		if err != nil || f < 0 || f > 1 {
			errs = append(errs, fmt.Sprintf("%s=%q : nombre entre 0 et 1 attendu (ex. 0.5)", key, v))
		}
		return f
	}
	envStr := func(key, def string) string {
		if v := os.Getenv(key); v != "" {
			return v
		}
		return def
	}

	fs := flag.NewFlagSet("guichet "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage de guichet %s :\n", name)
		fs.PrintDefaults()
		fmt.Fprint(stderr, envDoc)
	}
	fs.StringVar(&cfg.Addr, "addr", envStr("GUICHET_ADDR", "127.0.0.1:8080"), "adresse HTTP d'écoute")
	if dev {
		fs.StringVar(&cfg.DataDir, "data", defaultDataDir(), "dossier des données (NATS, PostgreSQL, clé)")
		fs.IntVar(&cfg.NATSPort, "nats-port", envInt("GUICHET_NATS_PORT", 4222), "port du NATS embarqué (0 = libre)")
		fs.IntVar(&cfg.PGPort, "pg-port", envInt("GUICHET_PG_PORT", 0), "port de la grappe PostgreSQL privée (0 = libre)")
	}
	cfg.NATSURL = os.Getenv("NATS_URL")
	cfg.DatabaseURL = os.Getenv("DATABASE_URL")
	cfg.PGBin = os.Getenv("GUICHET_PG_BIN")
	cfg.Secret = os.Getenv("GUICHET_SECRET")
	cfg.PublicURL = os.Getenv("GUICHET_PUBLIC_URL")
	cfg.Mail.SMTPURL = os.Getenv("GUICHET_SMTP_URL")
	cfg.Mail.From = envStr("GUICHET_MAIL_FROM", "Métropole Aix-Marseille-Provence <ne-pas-repondre@ampmetropole.fr>")
	cfg.WebRate = envInt("GUICHET_WEB_RATE", 10)
	cfg.APIRate = envInt("GUICHET_API_RATE", 600)
	cfg.AcksPerHour = envInt("GUICHET_ACKS_PER_HOUR", 5)
	cfg.IMAP = IMAPConfig{URL: os.Getenv("GUICHET_IMAP_URL"), Processed: os.Getenv("GUICHET_IMAP_PROCESSED"), Rejected: os.Getenv("GUICHET_IMAP_REJECTED")}
	cfg.Auth = AuthConfig{TrustedProxies: strings.Split(os.Getenv("GUICHET_TRUSTED_PROXIES"), ","), DevToken: os.Getenv("GUICHET_DEV_TOKEN"), OIDCIssuer: os.Getenv("GUICHET_OIDC_ISSUER"),
		OIDCClientID: os.Getenv("GUICHET_OIDC_CLIENT_ID"), OIDCSecret: os.Getenv("GUICHET_OIDC_CLIENT_SECRET"),
		OIDCRedirect: os.Getenv("GUICHET_OIDC_REDIRECT_URL")}
	for _, s := range strings.Split(os.Getenv("GUICHET_IMAP_SCANNERS"), ",") {
		if s = strings.ToLower(strings.TrimSpace(s)); s != "" {
			cfg.IMAP.Scanners = append(cfg.IMAP.Scanners, s)
		}
	}
	// One batch per core: more only make the router and PostgreSQL take
	// the cores from the intake (on 2 cores, 4 workers doubled the intake's
	// p99 for no more throughput; README, Performance).
	cfg.Router.Workers = envInt("GUICHET_ROUTER_WORKERS", max(2, runtime.GOMAXPROCS(0)))
	cfg.Router.MaxAttempts = envInt("GUICHET_ROUTER_MAX_ATTEMPTS", 5)
	cfg.Router.AckWait = envDur("GUICHET_ROUTER_ACK_WAIT", 30*time.Second)
	cfg.Router.Model = os.Getenv("GUICHET_MODEL")
	cfg.Router.Catalogue = os.Getenv("GUICHET_CATALOGUE")
	cfg.Router.TriageBelow = envFloat("GUICHET_TRIAGE_BELOW", 0.6)
	cfg.Router.LinkWindow = envDur("GUICHET_LINK_WINDOW", 60*24*time.Hour)
	cfg.Router.LinkSimilarity = envFloat("GUICHET_LINK_SIMILARITY", 0.2)
	cfg.Streams.Replicas = envInt("GUICHET_STREAM_REPLICAS", 1)
	cfg.Log.Format = envStr("GUICHET_LOG_FORMAT", "text")
	level := envStr("GUICHET_LOG_LEVEL", "info")
	if err := cfg.Log.Level.UnmarshalText([]byte(level)); err != nil {
		errs = append(errs, fmt.Sprintf("GUICHET_LOG_LEVEL=%q : debug, info, warn ou error", level))
	}
	if cfg.Log.Format != "text" && cfg.Log.Format != "json" {
		errs = append(errs, fmt.Sprintf("GUICHET_LOG_FORMAT=%q : text ou json", cfg.Log.Format))
	}
	if err := fs.Parse(args); err != nil {
		return cfg, nil, err
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://" + cfg.Addr
	}
	if cfg.WebRate < 1 || cfg.APIRate < 1 || cfg.AcksPerHour < 1 {
		errs = append(errs, "GUICHET_WEB_RATE, GUICHET_API_RATE et GUICHET_ACKS_PER_HOUR doivent valoir au moins 1")
	}
	if cfg.Router.Workers < 1 || cfg.Router.MaxAttempts < 1 {
		errs = append(errs, "GUICHET_ROUTER_WORKERS et GUICHET_ROUTER_MAX_ATTEMPTS doivent valoir au moins 1")
	}
	if len(errs) > 0 {
		return cfg, nil, usageError{"configuration invalide :\n  " + strings.Join(errs, "\n  ")}
	}
	return cfg, fs.Args(), nil
}
