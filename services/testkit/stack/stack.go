// Package stack assembles, for tests of the services that sit on top of
// them, the real pieces every request goes through: NATS with JetStream,
// a migrated PostgreSQL database, the case store, the intake and (when
// asked) a running router.
package stack

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ampmetropole/guichet/cmd/guichet/compose"
	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/intake"
	"github.com/ampmetropole/guichet/services/platform/bus"
	"github.com/ampmetropole/guichet/services/routing/router"
	"github.com/ampmetropole/guichet/services/staff/auth"
	"github.com/ampmetropole/guichet/services/testkit"
)

// Secret keys the tracking codes of test stacks.
var Secret = []byte("stack-test-secret-0123456789")

// Stack is a test's Guichet back end.
type Stack struct {
	NATS      *bus.Embedded
	Conn      *bus.Conn
	DBURL     string
	Validator *schemas.Validator
	Store     *casestore.Store
	Intake    *intake.Intake
	Catalogue *catalogue.Catalogue
	Places    *territory.Directory
	Registry  *prometheus.Registry
	Auth      *auth.Service
}

// Options choose what runs.
type Options struct {
	Router bool // start a router on REQUESTS
	// Model makes that router classify with the shipped model, as
	// Guichet does; without it, it routes by the competence given.
	Model bool
}

// New starts a stack that the test's cleanup stops. Its parts are built
// by the composition root (compose.NewParts), as Guichet builds its own.
func New(t *testing.T, opts Options) Stack {
	t.Helper()
	ctx := context.Background()
	var s Stack
	s.NATS = testkit.NATS(t)
	s.DBURL = testkit.Database(t)
	cfg := compose.Config{Secret: string(Secret), CheckEvents: true}
	cfg.Router.Workers = 2
	p, err := compose.NewParts(ctx, cfg, s.NATS.ClientURL(), s.DBURL, "guichet test "+t.Name(), testkit.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	s.Conn, s.Validator, s.Store, s.Intake, s.Catalogue, s.Places, s.Registry = p.Conn, p.Validator, p.Store, p.Intake, p.Catalogue, p.Places, p.Registry
	if s.Auth, err = auth.New(auth.Config{Secret: string(Secret), PublicURL: "http://127.0.0.1", KnownCommune: p.Places.IsCommune}, s.Store.DB(), testkit.Logger(t)); err != nil {
		t.Fatal(err)
	}
	if opts.Router {
		// The tests' router routes by the competence given at intake (no
		// classifier), so that what they assert does not hang on a model.
		rc := router.Config{Workers: 2, AckWait: 2 * time.Second, Budgets: p.Catalogue, Clock: p.Calendar, CommunalMatters: p.Catalogue.CommunalMatters}
		if opts.Model {
			if rc.Classifier, err = p.Classifier(""); err != nil {
				t.Fatal(err)
			}
		}
		r, err := router.New(rc, p.Conn, p.Store, p.Validator, p.Places, p.Registry, testkit.Logger(t))
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(r.Stop)
	}
	return s
}

// Token creates an API token with role and scope for the test.
func (s Stack) Token(t *testing.T, role string, competences, territories []string) string {
	t.Helper()
	name := fmt.Sprintf("test-%s-%d", role, tokens.Add(1))
	tok, err := s.Auth.CreateToken(context.Background(), name, role, competences, territories, 0)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// tokens numbers the tokens of a test binary, whose names must differ.
var tokens atomic.Int64

// AsBearer serves h as if every request carried the token, through the
// real authentication: the test client is that person.
func AsBearer(token string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		h.ServeHTTP(w, r)
	})
}

// Submit publishes a request through the stack's intake (the "test"
// adapter when the request names none) and returns its receipt.
func (s Stack) Submit(t testing.TB, req schemas.Request) intake.Receipt {
	t.Helper()
	if req.Source.Adapter == "" {
		req.Source.Adapter = "test"
	}
	rc, err := s.Intake.Submit(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

// CaseRef waits (10 s at most) for a request to be routed and returns the
// reference of its case.
func (s Stack) CaseRef(t testing.TB, requestID string) string {
	t.Helper()
	var ref string
	testkit.Eventually(t, 10*time.Second, "request "+requestID+" routed", func() bool {
		st, err := s.Store.RequestStatus(context.Background(), requestID)
		if err == nil && st.CaseRef != nil {
			ref = *st.CaseRef
		}
		return ref != ""
	})
	return ref
}

// Route submits a request, waits for it to be routed and returns its
// case's reference and its receipt.
func (s Stack) Route(t testing.TB, req schemas.Request) (string, intake.Receipt) {
	t.Helper()
	rc := s.Submit(t, req)
	return s.CaseRef(t, rc.ID), rc
}
