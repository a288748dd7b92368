// Package webform is the citizens' web channel: the request form, the
// acknowledgement of receipt, the status page where a citizen follows a
// request and adds to it, and (in development) the page listing the e-mails
// Guichet would have sent. Pages are server-rendered in French and work
// without JavaScript.
package webform

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/intake"
	"github.com/ampmetropole/guichet/services/intake/attachment"
	"github.com/ampmetropole/guichet/services/platform/mailer"
	"github.com/ampmetropole/guichet/services/platform/ratelimit"
	"github.com/ampmetropole/guichet/services/platform/sms"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// MaxFormBody bounds a form submission: five files of 10 MiB and the fields.
const MaxFormBody = attachment.MaxFiles*attachment.MaxSize + 1<<20

// Intake publishes requests.
type Intake interface {
	Submit(ctx context.Context, req schemas.Request) (intake.Receipt, error)
}

// Store is what the pages read of the case history.
type Store interface {
	Tracking(ctx context.Context, code string) (casestore.Tracking, error)
	AskReview(ctx context.Context, ref, thread string) ([]casestore.OutboxMsg, error)
	SetNoticesOff(ctx context.Context, code string, off bool) error
	OpinionAsked(ctx context.Context, code string) (open bool, given *casestore.Opinion, err error)
	RecordOpinion(ctx context.Context, code string, score int, comment string) error
}

// Files stores attachments, and reads back those the status page shows.
type Files interface {
	Put(ctx context.Context, f attachment.File) (schemas.Attachment, error)
	Info(ctx context.Context, sha string) (schemas.Attachment, error)
	Get(ctx context.Context, key string) ([]byte, error)
}

// Outbox lists the e-mails written instead of sent (development).
type Outbox interface {
	List(ctx context.Context, limit int) ([]mailer.Stored, error)
	Get(ctx context.Context, id string) (mailer.Stored, error)
}

// SMSOutbox lists the text messages written instead of sent (development).
type SMSOutbox interface {
	List(ctx context.Context, limit int) ([]sms.Stored, error)
}

// Config tunes the web channel.
type Config struct {
	// Secret keys the tokens by which a form corrected and sent again
	// keeps the files it already carries (GUICHET_SECRET, 16 bytes at
	// least).
	Secret        string
	RatePerMinute int // form submissions per client address; default 10
	// ClientIP tells the client's address (behind a trusted reverse
	// proxy); nil: the connection's address.
	ClientIP func(r *http.Request) string
	// Map puts a map on the form (map.go); its zero value: none.
	Map MapConfig
	// PublicURL is the site's address, for the links "Mes demandes" sends
	// (espace.go); its cookies are Secure unless it is http:// on loopback.
	PublicURL string
	// Space tunes "Mes demandes" (espace.go).
	Space SpaceConfig
}

// Deps are the web channel's collaborators.
type Deps struct {
	Intake    Intake
	Store     Store
	Files     Files
	Catalogue *catalogue.Catalogue
	Places    *territory.Directory
	Outbox    Outbox    // nil outside development
	SMSOutbox SMSOutbox // nil outside development
	Log       *slog.Logger
	// Geocoder fills the address from the map's pin (GET /adresse/inverse);
	// nil: the pin only.
	Geocoder Geocoder
	// Space keeps the links and sessions of "Mes demandes" and finds a
	// person's requests (espace.go); nil: no "Mes demandes". Mail and SMS
	// send its links; nil: not by that means.
	Space SpaceStore
	Mail  Mailer
	SMS   SMSSender
	// Incidents lists the open incidents near a place, « déjà signalé
	// près d'ici » (proches.go); nil: the Store's, when it has them.
	Incidents Incidents
	// Algorithm describes the router to the public (/algorithme,
	// algorithme.go); nil: no such page.
	Algorithm Algorithm
	// OpenData is the day's open-data files (/donnees, donnees.go); nil:
	// no such page.
	OpenData OpenData
}

// Handler serves the citizen pages.
type Handler struct {
	cfg     Config
	deps    Deps
	pages   map[string]*template.Template
	limiter *ratelimit.Keyed
	handler http.Handler
	keepKey []byte           // keys the files kept between two sendings of a form
	now     func() time.Time // the clock of keep tokens
	carte   mapView          // the form's map (map.go)
	space   *space           // "Mes demandes" (espace.go); nil: none
}

// New builds the web channel.
func New(cfg Config, deps Deps) (*Handler, error) {
	if cfg.RatePerMinute <= 0 {
		cfg.RatePerMinute = 10
	}
	if len(cfg.Secret) < 16 {
		return nil, errors.New("webform: the secret must be at least 16 bytes")
	}
	key := hmac.New(sha256.New, []byte(cfg.Secret))
	key.Write([]byte("guichet webform keep"))
	if deps.Incidents == nil {
		deps.Incidents, _ = deps.Store.(Incidents)
	}
	h := &Handler{cfg: cfg, deps: deps, limiter: ratelimit.New(cfg.RatePerMinute, time.Minute), keepKey: key.Sum(nil), now: time.Now}
	var err error
	if h.carte, err = newMapView(cfg.Map, deps.Geocoder); err != nil {
		return nil, err
	}
	if h.pages, err = parsePages(h.funcs()); err != nil {
		return nil, err
	}
	static, err := fs.Sub(staticFiles, "static")
	if err != nil {
		return nil, fmt.Errorf("webform: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.showHome)
	mux.HandleFunc("GET /demande", h.showForm)
	mux.HandleFunc("POST /demande", h.limited(h.submitForm))
	mux.HandleFunc("GET /demande/accuse/{code}", h.showReceipt)
	mux.HandleFunc("GET /suivi", h.findTracking)
	mux.HandleFunc("GET /suivi/{code}", h.showTracking)
	mux.HandleFunc("POST /suivi/{code}", h.limited(h.submitFollowUp))
	mux.HandleFunc("POST /suivi/{code}/reexamen", h.limited(h.submitReview))
	mux.HandleFunc("GET /suivi/{code}/pieces/{sha}", h.showAttachment)
	mux.HandleFunc("POST /suivi/{code}/avis-de-suivi", h.limited(h.setNotices))
	mux.HandleFunc("GET /suivi/{code}/avis", h.showOpinion)
	mux.HandleFunc("POST /suivi/{code}/avis", h.limited(h.submitOpinion))
	mux.HandleFunc("GET /mentions-legales", h.showLegalNotice)
	mux.HandleFunc("GET /donnees-personnelles", h.showPersonalData)
	mux.HandleFunc("GET /accessibilite", h.showAccessibility)
	if deps.Algorithm != nil {
		mux.HandleFunc("GET /algorithme", h.showAlgorithm)
	}
	if deps.OpenData != nil {
		mux.HandleFunc("GET /donnees", h.showDonnees)
		mux.HandleFunc("GET /donnees/{file}", h.showDonneesFile)
	}
	mux.HandleFunc("GET /favicon.ico", h.showFavicon)
	mux.HandleFunc("GET "+nearbyPath, h.showNearby)
	if err := h.mountSpace(mux); err != nil {
		return nil, err
	}
	if deps.Outbox != nil || deps.SMSOutbox != nil {
		mux.HandleFunc("GET /courriels", h.showOutbox)
	}
	if deps.Outbox != nil {
		mux.HandleFunc("GET /courriels/{id}", h.showOutboxMessage)
	}
	if h.carte.geocoder != nil {
		mux.HandleFunc("GET "+reversePath, h.reverseAddress)
	}
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("/", h.notFound)
	// Cross-origin POSTs (CSRF) are refused from the browser's own
	// Sec-Fetch-Site and Origin headers.
	h.handler = securityHeaders(contentSecurityPolicy(h.carte.tileOrigin), http.NewCrossOriginProtection().Handler(mux))
	return h, nil
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.handler.ServeHTTP(w, r) }

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusNotFound, "message", messagePage{Title: "Page introuvable",
		Text: "La page demandée n'existe pas. Vous pouvez faire une demande ou suivre une demande existante."})
}

// messagePage is a page that only says something.
type messagePage struct {
	Title string
	Text  string
	Back  string
}
