package compose

import (
	"log/slog"
	"time"
)

// LogConfig configures logging.
type LogConfig struct {
	Level  slog.Level
	Format string // text | json
}

// Config is Guichet's whole configuration, parsed once by the command
// (its settings table) and passed down.
type Config struct {
	// CheckEvents validates every case event against case-event.v1 before
	// it is written (tests): in service the typed code that builds them is
	// trusted, and the tests, which all check them, keep it honest.
	CheckEvents bool
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
	// SMS is how text messages leave: SMPP when an address is set, else
	// (dev) the outbox folder.
	SMS     SMSConfig
	WebRate int
	// Map is the web form's map (map.go).
	Map         MapConfig
	APIRate     int // submissions a minute per API credential (requests, calls, scans)
	AcksPerHour int // acknowledgements one e-mail address or mobile receives in an hour
	IMAP        IMAPConfig
	Auth        AuthConfig
	Log         LogConfig
	Router      RouterConfig
	Streams     StreamConfig
	// Drain is how long a stopping process keeps serving after it has
	// reported itself not ready, so that load balancers stop sending to it
	// before it closes its listener.
	Drain time.Duration

	// FranceConnect is the citizens' sign-in to "Mes demandes" with
	// FranceConnect; off without an issuer.
	FranceConnect FranceConnectConfig

	// Webhooks tunes the partners' webhooks (services/outbound/webhook).
	Webhooks WebhooksConfig
}

// WebhooksConfig tunes the partners' webhooks.
type WebhooksConfig struct {
	// AllowHTTP accepts http:// endpoints on the loopback (guichet dev);
	// otherwise only https:// ones are.
	AllowHTTP bool
}

// MailConfig says how e-mails leave: SMTP when a URL is set, else (dev) the
// outbox folder.
type MailConfig struct {
	SMTPURL string
	From    string
}

// SMSConfig is the SMS centre Guichet binds to as an SMPP transmitter
// (sms.SMPPConfig), and the sender name phones show.
type SMSConfig struct {
	Addr, SystemID, Password, SystemType string
	Sender                               string // 1 to 11 letters or digits
}

// AuthConfig says how people and systems sign in.
type AuthConfig struct {
	TrustedProxies                                     []string // reverse proxies whose X-Forwarded-For is believed
	DevToken                                           string   // accepted as an admin bearer token (development)
	OIDCIssuer, OIDCClientID, OIDCSecret, OIDCRedirect string
}

// FranceConnectConfig is the client Guichet is at FranceConnect (or any
// OpenID Connect provider standing in for it). Its redirect URI is
// GUICHET_PUBLIC_URL + /mes-demandes/franceconnect/retour, its
// post-logout redirect URI GUICHET_PUBLIC_URL + /mes-demandes/deconnecte.
type FranceConnectConfig struct {
	Issuer, ClientID, ClientSecret string
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
