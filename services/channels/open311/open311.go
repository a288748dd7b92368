// Package open311 is Guichet's Open311 GeoReport v2 endpoint
// (/open311/v2/): the discovery file, the services a citizen can ask for
// (the catalogue's competences), their definitions, the submission of
// requests by partner systems (an api_key is a partner's API token) and the
// public feed of requests — with no personal data in it: the description
// only when the citizen agreed to its publication, and then without e-mail
// addresses, phone numbers or their name. Every answer is in JSON or XML,
// as the resource's extension says.
package open311

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/intake"
	"github.com/ampmetropole/guichet/services/platform/ratelimit"
)

// Base is the path the handler is mounted at.
const Base = "/open311/v2/"

// Specification is the URL of the specification, as discovery names it.
const Specification = "http://wiki.open311.org/GeoReport_v2"

// MaxBody bounds a POSTed request (form-encoded): a description is 4000
// characters at most, the rest is short.
const MaxBody = 64 << 10

// Keys tells which partner an api_key belongs to (a partner's API token):
// the name written as the request's source.system. ok is false for any
// other key.
type Keys interface {
	PartnerKey(ctx context.Context, key string) (system string, ok bool, err error)
}

// Intake accepts requests, with the validation every channel goes through.
type Intake interface {
	Submit(ctx context.Context, req schemas.Request) (intake.Receipt, error)
}

// Store reads the public feed.
type Store interface {
	PublicRequests(ctx context.Context, q casestore.PublicQuery) ([]casestore.PublicRequest, error)
}

// Config is the endpoint's settings.
type Config struct {
	// BaseURL is the endpoint's public URL (https://…/open311/v2), given
	// in discovery; empty: taken from each request's host.
	BaseURL string
	// PostRate is how many requests one partner may POST a minute
	// (default 600, the JSON API's); ReadRate how many reads one client
	// address may make a minute (default 300).
	PostRate, ReadRate int
	// ClientIP tells the client's address behind trusted proxies; nil:
	// the connection's.
	ClientIP func(*http.Request) string
}

// Deps are the endpoint's collaborators.
type Deps struct {
	Keys      Keys
	Intake    Intake
	Store     Store
	Catalogue *catalogue.Catalogue
	Places    *territory.Directory
	Log       *slog.Logger
}

// Default rates.
const (
	DefaultPostRate = 600
	DefaultReadRate = 300
)

// Handler serves /open311/v2/.
type Handler struct {
	cfg       Config
	deps      Deps
	posts     *ratelimit.Keyed // per partner
	reads     *ratelimit.Keyed // per client address
	changeset time.Time        // when the service list was loaded
	services  []service
	byCode    map[string]catalogue.Competence
}

// hidden are the competences not offered to partners: requests about
// one's personal data go to the data protection officer through Guichet's
// own channels (identity, replies), and "other requests" are what the
// Métropole does not handle — nothing a partner can report on a map. Their
// requests never appear in the public feed either.
var hidden = map[string]bool{"donnees_personnelles": true, "hors_competence": true}

// New builds the endpoint.
func New(cfg Config, deps Deps) (*Handler, error) {
	if deps.Keys == nil || deps.Intake == nil || deps.Store == nil || deps.Catalogue == nil || deps.Places == nil {
		return nil, errors.New("open311: Keys, Intake, Store, Catalogue and Places are required")
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.PostRate <= 0 {
		cfg.PostRate = DefaultPostRate
	}
	if cfg.ReadRate <= 0 {
		cfg.ReadRate = DefaultReadRate
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	h := &Handler{cfg: cfg, deps: deps, posts: ratelimit.New(cfg.PostRate, time.Minute), reads: ratelimit.New(cfg.ReadRate, time.Minute),
		changeset: time.Now().UTC().Truncate(time.Second), byCode: map[string]catalogue.Competence{}}
	for _, k := range deps.Catalogue.Competences {
		if hidden[k.Code] {
			continue
		}
		h.byCode[k.Code] = k
		h.services = append(h.services, serviceOf(k))
	}
	return h, nil
}

// ServeHTTP routes /open311/v2/<resource>.<format>.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-store")
	rest, ok := strings.CutPrefix(r.URL.Path, Base)
	dot := strings.LastIndexByte(rest, '.')
	if !ok || dot < 0 {
		h.fail(w, formatXML, http.StatusNotFound, "ressource inconnue : les adresses finissent par .json ou .xml (voir "+Base+"discovery.json)")
		return
	}
	resource, format := rest[:dot], rest[dot+1:]
	if format != formatJSON && format != formatXML {
		h.fail(w, formatXML, http.StatusNotFound, "format inconnu : json ou xml")
		return
	}
	parts := strings.Split(resource, "/")
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		// Public data: any page may read it.
		hd.Set("Access-Control-Allow-Origin", "*")
		if !h.reads.Allow(h.clientIP(r), time.Now()) {
			hd.Set("Retry-After", "60")
			h.fail(w, format, http.StatusTooManyRequests, "trop de requêtes : réessayez dans une minute")
			return
		}
	}
	get := func(fn func()) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			hd.Set("Allow", "GET, HEAD")
			h.fail(w, format, http.StatusMethodNotAllowed, "méthode non permise : GET")
			return
		}
		fn()
	}
	switch {
	case len(parts) == 1 && parts[0] == "discovery":
		get(func() { h.discovery(w, r, format) })
	case len(parts) == 1 && parts[0] == "services":
		get(func() { h.serviceList(w, format) })
	case len(parts) == 2 && parts[0] == "services":
		get(func() { h.definition(w, format, parts[1]) })
	case len(parts) == 1 && parts[0] == "requests":
		switch r.Method {
		case http.MethodPost:
			h.submit(w, r, format)
		case http.MethodGet, http.MethodHead:
			h.list(w, r, format)
		default:
			hd.Set("Allow", "GET, HEAD, POST")
			h.fail(w, format, http.StatusMethodNotAllowed, "méthode non permise : GET ou POST")
		}
	case len(parts) == 2 && parts[0] == "requests":
		get(func() { h.one(w, r, format, parts[1]) })
	default:
		h.fail(w, format, http.StatusNotFound, "ressource inconnue (voir "+Base+"discovery."+format+")")
	}
}

func (h *Handler) clientIP(r *http.Request) string {
	if h.cfg.ClientIP != nil {
		return h.cfg.ClientIP(r)
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// baseURL is the endpoint's public URL.
func (h *Handler) baseURL(r *http.Request) string {
	if h.cfg.BaseURL != "" {
		return h.cfg.BaseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + strings.TrimSuffix(Base, "/")
}

// Formats.
const (
	formatJSON = "json"
	formatXML  = "xml"
)

// apiError is one error of an Open311 error array; Code is the HTTP
// status, Description French.
type apiError struct {
	XMLName     xml.Name `json:"-" xml:"error"`
	Code        int      `json:"code" xml:"code"`
	Description string   `json:"description" xml:"description"`
}

type errorsXML struct {
	XMLName xml.Name   `xml:"errors"`
	Errors  []apiError `xml:"error"`
}

// fail answers status with one error per description.
func (h *Handler) fail(w http.ResponseWriter, format string, status int, descriptions ...string) {
	errs := make([]apiError, len(descriptions))
	for i, d := range descriptions {
		errs[i] = apiError{Code: status, Description: d}
	}
	h.write(w, format, status, errs, errorsXML{Errors: errs})
}

// write answers v in JSON, or x in XML.
func (h *Handler) write(w http.ResponseWriter, format string, status int, v, x any) {
	var body []byte
	var err error
	if format == formatJSON {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		body, err = json.Marshal(v)
	} else {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		body, err = xml.Marshal(x)
		body = append([]byte(xml.Header), body...)
	}
	if err != nil {
		h.deps.Log.Error("open311: encode answer", "err", err)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
