package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ampmetropole/guichet/services/channels/web/webform"
)

// setting is one option of Guichet, declared once: its environment
// variable, its flag, its default, what it means (in French for -h, in
// English for docs/configuration.md), the commands that read it, and how it
// sets the configuration. -h and docs/configuration.md are both written
// from the table in settings(); a test fails when the page is stale.
type setting struct {
	env, flag string
	def       string // the default, as written; "" when computed or none
	defNote   string // the default when it is computed or none (docs)
	fr, en    string // what it means
	cmds      []string
	set       func(c *Config, v string) error // v is the value, or def when unset
}

// Commands that read settings.
var (
	cmdsRun    = []string{"dev", "serve"}
	cmdsServer = []string{"dev", "serve", "bench"}
	cmdsDB     = []string{"dev", "serve", "migrate", "bench", "token", "account", "seed", "export-training", "rgpd", "opendata", "commune", "footprint"}
	cmdsBeside = []string{"dev", "token", "account", "seed", "export-training", "rgpd", "opendata", "commune", "footprint"}
	cmdsAll    = []string{"dev", "serve", "migrate", "bench", "token", "account", "seed", "export-training", "train", "route-eval", "rgpd", "opendata", "commune", "footprint"}
	cmdsRules  = []string{"dev", "serve", "bench", "token", "account", "train", "route-eval", "rgpd", "opendata"}
)

// settings is the table of every option.
func settings() []setting {
	str := func(dst func(c *Config) *string) func(*Config, string) error {
		return func(c *Config, v string) error { *dst(c) = v; return nil }
	}
	intAtLeast := func(min int, dst func(c *Config) *int) func(*Config, string) error {
		return func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < min {
				return fmt.Errorf("nombre entier d'au moins %d attendu", min)
			}
			*dst(c) = n
			return nil
		}
	}
	port := func(dst func(c *Config) *int) func(*Config, string) error {
		return func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 65535 {
				return errors.New("port de 0 à 65535 attendu")
			}
			*dst(c) = n
			return nil
		}
	}
	dur := func(dst func(c *Config) *time.Duration) func(*Config, string) error {
		return func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return errors.New("durée positive attendue (ex. 30s)")
			}
			*dst(c) = d
			return nil
		}
	}
	ratio := func(dst func(c *Config) *float64) func(*Config, string) error {
		return func(c *Config, v string) error {
			f, err := strconv.ParseFloat(strings.Replace(v, ",", ".", 1), 64)
			if err != nil || f < 0 || f > 1 {
				return errors.New("nombre entre 0 et 1 attendu (ex. 0.5)")
			}
			*dst(c) = f
			return nil
		}
	}
	list := func(dst func(c *Config) *[]string, lower bool) func(*Config, string) error {
		return func(c *Config, v string) error {
			*dst(c) = nil
			for _, x := range strings.Split(v, ",") {
				if x = strings.TrimSpace(x); x != "" {
					if lower {
						x = strings.ToLower(x)
					}
					*dst(c) = append(*dst(c), x)
				}
			}
			return nil
		}
	}
	return []setting{
		{env: "GUICHET_ADDR", flag: "addr", def: "127.0.0.1:8080", cmds: cmdsRun,
			fr: "adresse HTTP d'écoute", en: "HTTP listen address",
			set: str(func(c *Config) *string { return &c.Addr })},
		{env: "GUICHET_DATA", flag: "data", defNote: "`/var/lib/guichet` as root, else `~/.local/share/guichet`", cmds: cmdsBeside,
			fr: "dossier des données de guichet dev (NATS, PostgreSQL, clé), où les autres commandes trouvent sa base",
			en: "data folder of `guichet dev` (`nats/`, `postgres/`, `secret`); the commands run beside it find its database (and `rgpd`, `footprint` its NATS server) there",
			set: func(c *Config, v string) error {
				if v == "" {
					v = homeDataDir()
				}
				c.DataDir = v
				return nil
			}},
		{env: "GUICHET_NATS_PORT", flag: "nats-port", def: "4222", cmds: []string{"dev"},
			fr: "port du NATS embarqué (0 = libre)", en: "port of the embedded NATS server (`0`: any free port)",
			set: port(func(c *Config) *int { return &c.NATSPort })},
		{env: "GUICHET_PG_PORT", flag: "pg-port", def: "0", cmds: []string{"dev"},
			fr: "port de la grappe PostgreSQL privée (0 = libre)", en: "port of the private PostgreSQL cluster (`0`: any free port)",
			set: port(func(c *Config) *int { return &c.PGPort })},
		{env: "NATS_URL", defNote: "embedded (dev, bench), the one `guichet dev` keeps in its data folder (rgpd, footprint)", cmds: append(cmdsServer, "rgpd", "footprint"),
			fr:  "serveur NATS externe (obligatoire pour serve ; dev et bench : embarqué si vide ; rgpd, footprint : celui de guichet dev si vide)",
			en:  "external NATS; required by `serve`",
			set: str(func(c *Config) *string { return &c.NATSURL })},
		{env: "DATABASE_URL", defNote: "private cluster (dev, bench), the one `guichet dev` keeps in its data folder (tools)", cmds: cmdsDB,
			fr:  "PostgreSQL externe (obligatoire pour serve et migrate ; dev et bench : grappe privée si vide)",
			en:  "external PostgreSQL; required by `serve` and `migrate`",
			set: str(func(c *Config) *string { return &c.DatabaseURL })},
		{env: "GUICHET_PG_BIN", defNote: "PATH, then `/usr/lib/postgresql/*/bin`", cmds: []string{"dev", "bench"},
			fr: "dossier des binaires initdb et postgres", en: "folder holding `initdb` and `postgres`",
			set: str(func(c *Config) *string { return &c.PGBin })},
		{env: "GUICHET_SECRET", defNote: "generated in the data folder (dev)", cmds: cmdsServer,
			fr:  "clé des codes de suivi et des identifiants dérivés, 16 octets au moins (obligatoire pour serve api, web, agent, imap)",
			en:  "key of the tracking codes, derived ids, demo passwords and form tokens, ≥ 16 characters; required by `serve api`, `web`, `agent`, `imap`. Keep it stable: changing it changes the codes of requests that are retried",
			set: str(func(c *Config) *string { return &c.Secret })},
		{env: "GUICHET_PUBLIC_URL", defNote: "`http://` + address", cmds: append(slices.Clone(cmdsRun), "opendata", "footprint"),
			fr: "adresse publique du site, pour les liens des courriels", en: "public address of the site, for the links in e-mails",
			set: str(func(c *Config) *string { return &c.PublicURL })},
		{env: "GUICHET_SMTP_URL", defNote: "outbox folder (dev)", cmds: cmdsRun,
			fr:  "serveur d'envoi : smtp://user:pass@hôte:587 (STARTTLS), smtps://…:465, smtp+plain://… (boucle locale) ; dev sans SMTP : dossier DIR/outbox, page /courriels",
			en:  "`smtp://user:pass@host:587` (STARTTLS required), `smtps://user:pass@host:465`, `smtp+plain://host:port` (loopback only); required by `serve notifier`",
			set: str(func(c *Config) *string { return &c.Mail.SMTPURL })},
		{env: "GUICHET_MAIL_FROM", def: "Métropole Aix-Marseille-Provence <ne-pas-repondre@ampmetropole.fr>", cmds: cmdsRun,
			fr: "expéditeur des courriels", en: "sender of e-mails",
			set: str(func(c *Config) *string { return &c.Mail.From })},
		{env: "GUICHET_SMPP_ADDR", defNote: "outbox folder (dev)", cmds: cmdsRun,
			fr:  "centre SMS (SMPP 3.4, hôte:port, liaison privée : le mot de passe passe en clair) pour les accusés, avis et liens par SMS ; dev sans SMPP : dossier DIR/sms, page /courriels ; serve sans SMPP : pas de SMS",
			en:  "the SMS centre, `host:port`, Guichet binds to as an SMPP 3.4 transmitter (plain TCP: a private link or VPN) for receipts, notices and sign-in links by SMS; without it `dev` writes SMS to DIR/sms (shown at /courriels) and `serve` sends none (e-mail or letter instead)",
			set: str(func(c *Config) *string { return &c.SMS.Addr })},
		{env: "GUICHET_SMPP_SYSTEM_ID", defNote: "none", cmds: cmdsRun,
			fr: "identifiant (system_id) chez le centre SMS", en: "`system_id` given by the SMS operator",
			set: str(func(c *Config) *string { return &c.SMS.SystemID })},
		{env: "GUICHET_SMPP_PASSWORD", defNote: "none", cmds: cmdsRun,
			fr: "mot de passe chez le centre SMS", en: "password given by the SMS operator",
			set: str(func(c *Config) *string { return &c.SMS.Password })},
		{env: "GUICHET_SMPP_SYSTEM_TYPE", defNote: "none", cmds: cmdsRun,
			fr: "system_type, si l'opérateur en demande un", en: "`system_type`, when the operator asks for one",
			set: str(func(c *Config) *string { return &c.SMS.SystemType })},
		{env: "GUICHET_SMS_SENDER", def: "Metropole", cmds: cmdsRun,
			fr: "nom d'expéditeur affiché sur le téléphone (1 à 11 lettres ou chiffres)", en: "sender name phones show: 1 to 11 ASCII letters or digits, at least one letter (alphanumeric originator)",
			set: str(func(c *Config) *string { return &c.SMS.Sender })},
		{env: "GUICHET_WEB_RATE", def: "10", cmds: cmdsRun,
			fr: "envois de formulaires par minute et par adresse IP", en: "form submissions a minute per client address",
			set: intAtLeast(1, func(c *Config) *int { return &c.WebRate })},
		{env: "GUICHET_MAP_TILES", def: webform.PlanIGN, cmds: cmdsRun,
			fr: "tuiles de la carte du formulaire : modèle d'URL avec {z}, {x} et {y}, en https, un seul hôte (défaut : Plan IGN de la Géoplateforme) ; none : pas de carte",
			en: "the web form's map tiles: a URL template with `{z}`, `{x}`, `{y}` (Web Mercator), https, one host (its origin is added to the pages' CSP `img-src`; no `{s}`); the default is Plan IGN from the Géoplateforme; `none`: no map, the form as without JavaScript",
			set: func(c *Config, v string) error {
				if v == "none" {
					v = ""
				}
				c.Map.Tiles = v
				return nil
			}},
		{env: "GUICHET_MAP_ATTRIBUTION", defNote: "`" + webform.PlanIGNAttribution + "` with the default tiles; required with others", cmds: cmdsRun,
			fr:  "crédit du fond de carte, affiché sous la carte (texte ; obligatoire avec d'autres tuiles que Plan IGN)",
			en:  "the credit of the map's tiles, shown under the map, as text",
			set: str(func(c *Config) *string { return &c.Map.Attribution })},
		{env: "GUICHET_GEOCODER_URL", defNote: "none (the pin only)", cmds: cmdsRun,
			fr:  "géocodeur inverse au format de la BAN qui remplit l'adresse et la commune depuis le repère (ex. https://api-adresse.data.gouv.fr/reverse/ ou https://data.geopf.fr/geocodage/reverse) ; interrogé par le serveur seulement",
			en:  "the reverse geocoder, in the format of the Base Adresse Nationale, that fills the address and commune from the pin (e.g. `https://api-adresse.data.gouv.fr/reverse/` or `https://data.geopf.fr/geocodage/reverse`): Guichet's server asks it (3 s and 64 KiB at most) through `GET /adresse/inverse`, the citizen's browser never does; only the Métropole's communes are taken",
			set: str(func(c *Config) *string { return &c.Map.GeocoderURL })},
		{env: "GUICHET_GEOCODER_RATE", def: "30", cmds: cmdsRun,
			fr: "recherches d'adresse depuis la carte par minute et par adresse IP", en: "address look-ups from the map (`GET /adresse/inverse`) a minute per client address",
			set: intAtLeast(1, func(c *Config) *int { return &c.Map.GeocoderRate })},
		{env: "GUICHET_API_RATE", def: "600", cmds: cmdsRun,
			fr: "dépôts par minute et par jeton d'API : demandes, appels, scans", en: "submissions (requests, calls, scans) a minute per API token, as many at once",
			set: intAtLeast(1, func(c *Config) *int { return &c.APIRate })},
		{env: "GUICHET_ACKS_PER_HOUR", def: "5", cmds: cmdsRun,
			fr: "accusés de réception envoyés par heure à une même adresse électronique", en: "acknowledgements one e-mail address receives in an hour",
			set: intAtLeast(1, func(c *Config) *int { return &c.AcksPerHour })},
		{env: "GUICHET_IMAP_URL", defNote: "none (no IMAP intake)", cmds: cmdsRun,
			fr:  "boîte du courrier numérisé : imaps://user:pass@hôte:993/INBOX, imap://… (STARTTLS), imap+plain://… (boucle locale)",
			en:  "the mailroom's mailbox: `imaps://user:pass@host:993/INBOX`, `imap://…` (STARTTLS required), `imap+plain://…` (loopback only); `guichet dev` reads it when set, `serve imap` requires it",
			set: str(func(c *Config) *string { return &c.IMAP.URL })},
		{env: "GUICHET_IMAP_PROCESSED", def: "Traites", cmds: cmdsRun,
			fr: "dossier des messages traités", en: "folder (created when missing) where messages go once their requests are acknowledged by JetStream",
			set: str(func(c *Config) *string { return &c.IMAP.Processed })},
		{env: "GUICHET_IMAP_REJECTED", def: "Rejetes", cmds: cmdsRun,
			fr: "dossier des messages rejetés", en: "folder (created when missing) where messages go when they cannot be read",
			set: str(func(c *Config) *string { return &c.IMAP.Rejected })},
		{env: "GUICHET_IMAP_SCANNERS", defNote: "none", cmds: cmdsRun,
			fr:  "expéditeurs des scans, séparés par des virgules (adresses ou @domaine) ; sans elle, un message qui porte un PDF ou un TIFF et presque pas de texte est un scan",
			en:  "the scanners' senders, comma-separated addresses or `@domain`s: their messages are letters (one per PDF, TIFF, JPEG or PNG), everybody else's are e-mails. Unset, a message is a scanner's when it carries a PDF or TIFF and less than 200 characters of text",
			set: list(func(c *Config) *[]string { return &c.IMAP.Scanners }, true)},
		{env: "GUICHET_ROUTER_WORKERS", defNote: "one per core, at least 2", cmds: cmdsServer,
			fr: "lots de demandes routés en parallèle (défaut : un par cœur, au moins 2)", en: "batches of requests routed in parallel",
			set: func(c *Config, v string) error {
				if v == "" {
					// One batch per core: more only make the router and
					// PostgreSQL take the cores from the intake
					// (docs/performance.md).
					c.Router.Workers = max(2, runtime.GOMAXPROCS(0))
					return nil
				}
				return intAtLeast(1, func(c *Config) *int { return &c.Router.Workers })(c, v)
			}},
		{env: "GUICHET_ROUTER_MAX_ATTEMPTS", def: "5", cmds: cmdsServer,
			fr: "remises avant la file DEAD", en: "deliveries before a message goes to DEAD",
			set: intAtLeast(1, func(c *Config) *int { return &c.Router.MaxAttempts })},
		{env: "GUICHET_ROUTER_ACK_WAIT", def: "30s", cmds: cmdsServer,
			fr: "délai avant nouvelle remise d'un message non acquitté", en: "redelivery delay of an unacknowledged message after a router crash (a batch being routed is kept from it: the router says so every third of this delay)",
			set: dur(func(c *Config) *time.Duration { return &c.Router.AckWait })},
		{env: "GUICHET_TRUSTED_PROXIES", defNote: "none", cmds: cmdsRun,
			fr:  "adresses ou réseaux (CIDR) des mandataires inverses dont on croit l'en-tête X-Forwarded-For, séparés par des virgules (limites par adresse et journal d'audit)",
			en:  "addresses or CIDRs of the reverse proxies whose `X-Forwarded-For` is believed, for the per-address limits (sign-in, web form) and the audit log",
			set: list(func(c *Config) *[]string { return &c.Auth.TrustedProxies }, false)},
		{env: "GUICHET_DEV_TOKEN", defNote: "none", cmds: cmdsRun,
			fr:  "jeton d'API accepté comme administrateur (développement seulement ; 16 caractères au moins)",
			en:  "an API token accepted as an admin (development only; ≥ 16 characters)",
			set: str(func(c *Config) *string { return &c.Auth.DevToken })},
		{env: "GUICHET_OIDC_ISSUER", defNote: "none (passwords only)", cmds: cmdsRun,
			fr:  "fournisseur OpenID Connect des agents (ex. https://sso.ampmetropole.fr/realms/agents)",
			en:  "the staff's OpenID Connect provider (e.g. `https://sso.ampmetropole.fr/realms/agents`); with the three below, sign-in by OpenID Connect at `/bo/oidc/login`",
			set: str(func(c *Config) *string { return &c.Auth.OIDCIssuer })},
		{env: "GUICHET_OIDC_CLIENT_ID", defNote: "none", cmds: cmdsRun,
			fr: "identifiant de Guichet chez le fournisseur OpenID Connect", en: "Guichet's client id at the provider",
			set: str(func(c *Config) *string { return &c.Auth.OIDCClientID })},
		{env: "GUICHET_OIDC_CLIENT_SECRET", defNote: "none", cmds: cmdsRun,
			fr: "secret de Guichet chez le fournisseur OpenID Connect", en: "Guichet's client secret at the provider",
			set: str(func(c *Config) *string { return &c.Auth.OIDCSecret })},
		{env: "GUICHET_OIDC_REDIRECT_URL", defNote: "none", cmds: cmdsRun,
			fr: "adresse de retour enregistrée chez le fournisseur (…/bo/oidc/callback)", en: "the redirect URL registered at the provider (`…/bo/oidc/callback`)",
			set: str(func(c *Config) *string { return &c.Auth.OIDCRedirect })},
		{env: "GUICHET_FRANCECONNECT_ISSUER", defNote: "none (one-time links only)", cmds: cmdsRun,
			fr:  "FranceConnect pour « Mes demandes » (ex. https://oidc.franceconnect.gouv.fr/api/v2) ; adresse de retour : GUICHET_PUBLIC_URL/mes-demandes/franceconnect/retour",
			en:  "FranceConnect's issuer for the citizens' sign-in to « Mes demandes » (e.g. `https://oidc.franceconnect.gouv.fr/api/v2`); with the two below, the button « S'identifier avec FranceConnect ». Register `GUICHET_PUBLIC_URL` + `/mes-demandes/franceconnect/retour` as its redirect URI and `/mes-demandes/deconnecte` as its post-logout redirect URI",
			set: str(func(c *Config) *string { return &c.FranceConnect.Issuer })},
		{env: "GUICHET_FRANCECONNECT_CLIENT_ID", defNote: "none", cmds: cmdsRun,
			fr: "identifiant de Guichet chez FranceConnect", en: "Guichet's client id at FranceConnect",
			set: str(func(c *Config) *string { return &c.FranceConnect.ClientID })},
		{env: "GUICHET_FRANCECONNECT_CLIENT_SECRET", defNote: "none", cmds: cmdsRun,
			fr: "secret de Guichet chez FranceConnect", en: "Guichet's client secret at FranceConnect",
			set: str(func(c *Config) *string { return &c.FranceConnect.ClientSecret })},
		{env: "GUICHET_MODEL", defNote: "the shipped model", cmds: []string{"dev", "serve", "bench", "route-eval"},
			fr:  "fichier du modèle de classification (défaut : celui livré, appris par guichet train)",
			en:  "classifier model file written by `guichet train`",
			set: str(func(c *Config) *string { return &c.Router.Model })},
		{env: "GUICHET_CATALOGUE", defNote: "the shipped catalogue", cmds: cmdsRules,
			fr:  "fichier du catalogue : compétences et règles du routage (défaut : celui livré)",
			en:  "catalogue file: competences and their routing rules (tune rules without a rebuild)",
			set: str(func(c *Config) *string { return &c.Router.Catalogue })},
		{env: "GUICHET_TRIAGE_BELOW", def: "0.6", cmds: cmdsServer,
			fr: "confiance sous laquelle une demande va au tri humain", en: "confidence under which a new request goes to the human triage queue",
			set: ratio(func(c *Config) *float64 { return &c.Router.TriageBelow })},
		{env: "GUICHET_LINK_WINDOW", def: "1440h", cmds: cmdsServer,
			fr:  "ancienneté maximale d'un dossier ouvert du même demandeur pour y joindre une demande",
			en:  "how recent a citizen's open case must be for a request to join it by similarity",
			set: dur(func(c *Config) *time.Duration { return &c.Router.LinkWindow })},
		{env: "GUICHET_LINK_SIMILARITY", def: "0.2", cmds: cmdsServer,
			fr: "similarité de texte minimale pour joindre ce dossier (0 à 1)", en: "least text similarity (0–1) to join it (half with the same competence and commune)",
			set: ratio(func(c *Config) *float64 { return &c.Router.LinkSimilarity })},
		{env: "GUICHET_STREAM_REPLICAS", def: "1", cmds: cmdsServer,
			fr: "réplicas des flux JetStream (3 sur une grappe)", en: "JetStream replicas (3 on a cluster)",
			set: intAtLeast(1, func(c *Config) *int { return &c.Streams.Replicas })},
		{env: "GUICHET_DRAIN", def: "5s", cmds: []string{"serve"}, // guichet dev has no load balancer to wait for
			fr: "à l'arrêt, durée pendant laquelle le processus se dit « pas prêt » tout en servant encore, avant de fermer son écoute (0s : aussitôt)",
			en: "on SIGTERM, how long the process reports itself not ready while still serving, before it closes its listener, so that load balancers stop sending to it first (`0s`: at once)",
			set: func(c *Config, v string) error {
				d, err := time.ParseDuration(v)
				if err != nil || d < 0 || d > 5*time.Minute {
					return errors.New("durée de 0s à 5m attendue")
				}
				c.Drain = d
				return nil
			}},
		{env: "GUICHET_LOG_LEVEL", def: "info", cmds: cmdsAll,
			fr: "debug, info, warn ou error", en: "`debug`, `info`, `warn`, `error`",
			set: func(c *Config, v string) error {
				if err := c.Log.Level.UnmarshalText([]byte(v)); err != nil {
					return errors.New("debug, info, warn ou error")
				}
				return nil
			}},
		{env: "GUICHET_LOG_FORMAT", def: "text", cmds: cmdsAll,
			fr: "text ou json", en: "`text` or `json` (structured `log/slog`)",
			set: func(c *Config, v string) error {
				if v != "text" && v != "json" {
					return errors.New("text ou json")
				}
				c.Log.Format = v
				return nil
			}},
	}
}

// parseConfig reads the configuration of a command: for each of its
// settings, the flag when given, else the environment variable, else the
// default. extra registers the command's own flags (nil: none). It returns
// the arguments left after the flags.
func parseConfig(cmd string, args []string, stderr io.Writer, extra func(fs *flag.FlagSet)) (Config, []string, error) {
	var cfg Config
	fs := flag.NewFlagSet("guichet "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var mine []setting
	given := map[string]*string{}
	for _, s := range settings() {
		if !slices.Contains(s.cmds, cmd) {
			continue
		}
		mine = append(mine, s)
		if s.flag != "" {
			v := new(string)
			given[s.flag] = v
			fs.Func(s.flag, s.fr+" (variable "+s.env+")", func(x string) error { *v = x; return nil })
		}
	}
	if extra != nil {
		extra(fs)
	}
	fs.Usage = func() { writeUsage(stderr, cmd, fs, mine) }
	if err := fs.Parse(args); err != nil {
		return cfg, nil, err
	}
	var errs []string
	for _, s := range mine {
		v, from := s.def, ""
		if e, ok := os.LookupEnv(s.env); ok && e != "" {
			v, from = e, s.env
		}
		if p := given[s.flag]; s.flag != "" && p != nil && fs.Lookup(s.flag) != nil && flagSet(fs, s.flag) {
			v, from = *p, "--"+s.flag
		}
		if err := s.set(&cfg, v); err != nil {
			if from == "" {
				from = s.env
			}
			errs = append(errs, fmt.Sprintf("%s=%q : %v", from, v, err))
		}
	}
	if cfg.PublicURL == "" && cfg.Addr != "" {
		cfg.PublicURL = "http://" + cfg.Addr
	}
	if len(errs) > 0 {
		return cfg, nil, usageError{"configuration invalide :\n  " + strings.Join(errs, "\n  ")}
	}
	return cfg, fs.Args(), nil
}

// flagSet says whether a flag was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// writeUsage is a command's -h: its flags, then the environment variables
// it reads, from the table.
func writeUsage(w io.Writer, cmd string, fs *flag.FlagSet, mine []setting) {
	fmt.Fprintf(w, "Usage de guichet %s :\n", cmd)
	for _, c := range commands() {
		if c.name == cmd {
			fmt.Fprintf(w, "  %s\n  %s\n\n", strings.TrimSpace("guichet "+c.name+" "+c.synopsis), c.what)
		}
	}
	fs.PrintDefaults()
	if len(mine) == 0 {
		return
	}
	fmt.Fprint(w, "\nVariables d'environnement (une option en ligne de commande l'emporte) :\n")
	for _, s := range mine {
		def := ""
		if s.def != "" {
			def = " (défaut : " + s.def + ")"
		}
		fmt.Fprintf(w, "  %-27s %s%s\n", s.env, s.fr, def)
	}
}

// configurationPage is docs/configuration.md, written from the table.
func configurationPage() string {
	var b strings.Builder
	b.WriteString("# Configuration\n\n")
	b.WriteString("<!-- Written from the settings table of cmd/guichet (settings.go): edit it there, then\n")
	b.WriteString("     `go test ./cmd/guichet -run TestConfigurationPage -update`. -->\n\n")
	b.WriteString("Every setting is an environment variable; some also have a flag, which wins. `guichet\n")
	b.WriteString("COMMAND -h` prints the settings of that command, from the same table as this page.\n\n")
	b.WriteString("| variable | flag | default | commands | meaning |\n| --- | --- | --- | --- | --- |\n")
	for _, s := range settings() {
		flagCol, def := "", s.defNote
		if s.flag != "" {
			flagCol = "`--" + s.flag + "`"
		}
		if s.def != "" {
			def = "`" + s.def + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", s.env, flagCol, def, strings.Join(s.cmds, ", "), s.en)
	}
	return b.String()
}
