// Package api serves Guichet's HTTP API: the intake of requests in the
// common schema for systems that integrate directly, request status and case
// history, health, readiness and metrics.
package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/intake"
	"github.com/ampmetropole/guichet/services/platform/ratelimit"
	"github.com/ampmetropole/guichet/services/staff/auth"
)

// MaxRequestBody bounds a request submitted in the common schema.
const MaxRequestBody = 1 << 20

// Intake accepts requests.
type Intake interface {
	SubmitJSON(ctx context.Context, raw []byte, from intake.From) (intake.Receipt, error)
	// Pending returns a request acknowledged but not yet recorded.
	Pending(id string) (schemas.Request, bool)
}

// Store answers the read side of the API.
type Store interface {
	RequestStatus(ctx context.Context, id string) (casestore.RequestStatus, error)
	Case(ctx context.Context, ref string) (casestore.Case, error)
}

// Pinger is a dependency readiness depends on.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Deps are the API's collaborators.
type Deps struct {
	Intake      Intake
	Store       Store
	Calls       Calls     // nil: no phone channel
	Mail        Mail      // nil: no mail channel
	Letters     Letters   // nil: no mailroom follow-up
	Correct     Corrector // nil: no OCR corrections
	Curate      Curator   // with Competences; nil: no corrections of the router
	Competences Competences
	// Guard protects people's work: /api/v1/cases* and /api/v1/mail/*.
	// Without it those routes are not served.
	Guard    Guard
	Workflow Workflow // with Settings and Clock: lists and transitions
	Settings Settings
	Clock    casestore.Clock
	// Correspondence: notes and replies; nil: not served.
	Correspondence Correspondence
	Ready          map[string]Pinger // name → dependency, for /readyz
	Gatherer       prometheus.Gatherer
	Log            *slog.Logger
	// SystemRate bounds the intake routes (requests, calls, scans): so
	// many a minute per credential, as many at once; default
	// DefaultSystemRate.
	SystemRate int
	// Officer: the data protection officer's routes (/api/v1/rgpd/*);
	// nil: not served.
	Officer Officer
}

// DefaultSystemRate is how many requests, calls or scans one credential may
// submit a minute by default: ten a second, sustained, well above a call
// centre's or a partner's pace, far below a flood.
const DefaultSystemRate = 600

// Handler serves the API.
type Handler struct {
	deps    Deps
	mux     *http.ServeMux
	metrics *httpMetrics
	limiter *ratelimit.Keyed // per credential, on the intake routes
}

// New builds the API handler and registers its metrics on reg.
func New(deps Deps, reg prometheus.Registerer) (*Handler, error) {
	m, err := newHTTPMetrics(reg)
	if err != nil {
		return nil, err
	}
	if deps.SystemRate <= 0 {
		deps.SystemRate = DefaultSystemRate
	}
	h := &Handler{deps: deps, mux: http.NewServeMux(), metrics: m, limiter: ratelimit.New(deps.SystemRate, time.Minute)}
	// Other systems authenticate with a token of their own role.
	h.guarded("POST /api/v1/requests", auth.PermSubmitRequest, h.limited(h.submitRequest))
	h.guarded("GET /api/v1/requests/{id}", auth.PermRequestStatus, h.showRequest)
	if deps.Calls != nil {
		h.guarded("POST /api/v1/calls", auth.PermSubmitCall, h.limited(h.submitCall))
	}
	if deps.Mail != nil {
		h.guarded("POST /api/v1/mail/scans", auth.PermMailroom, h.limited(h.submitScan))
	}
	if deps.Letters != nil {
		h.guarded("GET /api/v1/mail/letters", auth.PermMailroom, h.listLetters)
	}
	if deps.Correct != nil {
		h.guarded("POST /api/v1/mail/letters/{id}/correction", auth.PermMailroom, h.correctLetter)
	}
	h.guarded("GET /api/v1/cases/{ref}", auth.PermCaseRead, h.showCaseGuarded)
	h.guarded("GET /api/v1/audit", auth.PermAuditRead, h.auditLog)
	if deps.Workflow != nil && deps.Settings != nil && deps.Clock != nil {
		h.guarded("GET /api/v1/cases", auth.PermCaseRead, h.listCases)
		h.guarded("POST /api/v1/cases/{ref}/transitions", auth.PermCaseTransition, h.transitionCase)
	}
	if deps.Correspondence != nil {
		h.guarded("POST /api/v1/cases/{ref}/notes", auth.PermReply, h.addNote)
		h.guarded("POST /api/v1/cases/{ref}/replies", auth.PermReply, h.addReply)
		h.guarded("POST /api/v1/cases/{ref}/assignment", auth.PermCaseTransition, h.assignCase)
	}
	if deps.Curate != nil && deps.Competences != nil {
		h.guarded("POST /api/v1/cases/{ref}/route", auth.PermCaseReroute, h.rerouteCase)
		h.guarded("POST /api/v1/cases/{ref}/split", auth.PermCaseMerge, h.splitCase)
		h.guarded("POST /api/v1/cases/{ref}/merge", auth.PermCaseMerge, h.mergeCase)
		h.guarded("POST /api/v1/cases/{ref}/unmerge", auth.PermCaseMerge, h.unmergeCase)
	}
	h.registerRGPD()
	h.route("GET /healthz", h.healthz)
	h.route("GET /readyz", h.readyz)
	h.mux.Handle("GET /metrics", promhttp.HandlerFor(deps.Gatherer, promhttp.HandlerOpts{}))
	return h, nil
}

// route registers a handler wrapped with panic recovery and metrics, labelled
// by its pattern (never by the raw path, which would explode cardinality).
func (h *Handler) route(pattern string, fn http.HandlerFunc) {
	h.mux.Handle(pattern, h.instrument(pattern, fn))
}

func (h *Handler) instrument(pattern string, fn http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			if p := recover(); p != nil {
				h.deps.Log.Error("panic in handler", "route", pattern, "panic", p, "stack", string(debug.Stack()))
				if !sw.wrote {
					writeJSONError(sw, http.StatusInternalServerError, "erreur interne", nil)
				}
			}
			h.metrics.requests.WithLabelValues(pattern, strconv.Itoa(sw.status)).Inc()
			h.metrics.duration.WithLabelValues(pattern).Observe(time.Since(start).Seconds())
		}()
		fn(sw, r)
	})
}

// limited refuses, with 429, a credential that submits more than
// SystemRate a minute.
func (h *Handler) limited(fn http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, _ := auth.FromContext(r.Context())
		if !h.limiter.Allow(p.Submitter(), time.Now()) {
			w.Header().Set("Retry-After", "60")
			writeJSONError(w, http.StatusTooManyRequests, fmt.Sprintf("trop d'envois : %d par minute au plus pour ce jeton ; réessayez dans une minute", h.deps.SystemRate), nil)
			return
		}
		fn(w, r)
	}
}

// ServeHTTP adds the security headers every answer carries.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-store")
	if _, pattern := h.mux.Handler(r); pattern == "" {
		// The mux's own 404 and 405 answers, in JSON like every other error.
		h.mux.ServeHTTP(&jsonErrorWriter{ResponseWriter: w, what: r.Method + " " + r.URL.Path}, r)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// jsonErrorWriter replaces the plain-text body of the mux's error answers.
type jsonErrorWriter struct {
	http.ResponseWriter
	what    string
	written bool
}

func (j *jsonErrorWriter) WriteHeader(code int) {
	if j.written {
		return
	}
	j.written = true
	j.Header().Del("Content-Length")
	msg := "ressource inconnue : " + j.what
	if code == http.StatusMethodNotAllowed {
		msg = "méthode non permise : " + j.what
	}
	writeJSONError(j.ResponseWriter, code, msg, nil)
}

func (j *jsonErrorWriter) Write(b []byte) (int, error) {
	if !j.written {
		j.WriteHeader(http.StatusOK)
	}
	return len(b), nil
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusWriter) WriteHeader(code int) {
	s.status, s.wrote = code, true
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// NewServer wraps a handler in an http.Server with bounded timeouts.
func NewServer(addr string, h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}
