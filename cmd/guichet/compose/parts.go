// Package compose is Guichet's composition root: it builds, once, the parts
// every service shares (the database, the bus, the catalogue, the intake…)
// and starts the services a process runs, each in a short function. The
// command (cmd/guichet) parses the configuration and calls Start; the tests'
// back end (services/testkit/stack) builds the same Parts.
package compose

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/cases/deadline"
	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/intake"
	"github.com/ampmetropole/guichet/services/language/extract"
	"github.com/ampmetropole/guichet/services/platform/bus"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/routing/classify"
	"github.com/ampmetropole/guichet/services/routing/router"
)

// Parts are what the services of a process share, each built once.
type Parts struct {
	Log       *slog.Logger
	Validator *schemas.Validator
	Catalogue *catalogue.Catalogue
	Places    *territory.Directory
	Calendar  *deadline.Calendar // business hours in Paris, for deadlines
	Facts     *extract.Extractor
	Store     *casestore.Store
	Conn      *bus.Conn
	Registry  *prometheus.Registry
	Intake    *intake.Intake // nil without a secret (a process of router, notifier only)

	classifier *classify.Classifier // read once by Classifier
}

// Classifier is the router's model, read once for the process: the router
// and the console's knowledge suggestions share it (it is safe for
// concurrent use). Called while the process starts, one part after another.
func (p *Parts) Classifier(modelPath string) (*classify.Classifier, error) {
	if p.classifier == nil {
		c, err := LoadClassifier(modelPath, p.Catalogue)
		if err != nil {
			return nil, err
		}
		p.classifier = c
	}
	return p.classifier, nil
}

// NewParts migrates the database, connects to it and to NATS (under the
// connection name given), creates the streams and builds the shared parts.
// On error what was opened is closed.
func NewParts(ctx context.Context, cfg Config, natsURL, databaseURL, name string, log *slog.Logger) (_ *Parts, err error) {
	p := &Parts{Log: log}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	if err := casestore.Migrate(ctx, databaseURL, log); err != nil {
		return nil, err
	}
	if p.Validator, err = schemas.NewValidator(); err != nil {
		return nil, err
	}
	if p.Catalogue, err = LoadCatalogue(cfg.Router.Catalogue); err != nil {
		return nil, err
	}
	if p.Places, err = territory.Load(); err != nil {
		return nil, err
	}
	p.Calendar = deadline.New(frtime.Paris())
	p.Facts = extract.New(p.Places)
	maxConns := int32(cfg.Router.Workers + 8)
	if maxConns < 10 {
		maxConns = 10
	}
	if p.Store, err = casestore.Open(ctx, casestore.Config{URL: databaseURL, MaxConns: maxConns, CheckEvents: cfg.CheckEvents}, p.Validator, log); err != nil {
		return nil, err
	}
	if p.Conn, err = bus.Connect(ctx, natsURL, name, log); err != nil {
		return nil, err
	}
	// REQUESTS and CASES keep what the catalogue's schedule says of streams.
	if err := bus.EnsureTopology(ctx, p.Conn.JS, bus.TopologyConfig{Replicas: cfg.Streams.Replicas,
		MaxAge: p.Catalogue.Retention.Streams.Keep()}); err != nil {
		return nil, err
	}
	p.Registry = prometheus.NewRegistry()
	p.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if len(cfg.Secret) >= 16 {
		if p.Intake, err = intake.New(bus.NewPublisher(p.Conn.JS), p.Store, p.Validator, []byte(cfg.Secret), log); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Close closes the bus and the database; safe on parts half built.
func (p *Parts) Close() {
	if p.Conn != nil {
		p.Conn.Close()
	}
	if p.Store != nil {
		p.Store.Close()
	}
}

// NewRouter builds the router service on the parts (not started).
func (p *Parts) NewRouter(cfg Config) (*router.Router, error) {
	classifier, err := p.Classifier(cfg.Router.Model)
	if err != nil {
		return nil, err
	}
	return router.New(router.Config{
		Workers: cfg.Router.Workers, MaxAttempts: cfg.Router.MaxAttempts, AckWait: cfg.Router.AckWait,
		Classifier: classifier, Budgets: p.Catalogue, Clock: p.Calendar, CommunalMatters: p.Catalogue.CommunalMatters,
		Decisions: router.EngineConfig{TriageBelow: cfg.Router.TriageBelow, LinkWindow: cfg.Router.LinkWindow,
			LinkSimilarity: cfg.Router.LinkSimilarity},
	}, p.Conn, p.Store, p.Validator, p.Places, p.Registry, p.Log)
}

// LoadCatalogue reads the catalogue file when a path is given, else the
// embedded one.
func LoadCatalogue(path string) (*catalogue.Catalogue, error) {
	if path != "" {
		return catalogue.Load(path)
	}
	return catalogue.Default()
}

// CatalogueRules turns the catalogue's phrases into the classifier's rules.
func CatalogueRules(cat *catalogue.Catalogue) (*classify.Rules, error) {
	var rs []classify.Rule
	for _, c := range cat.Competences {
		for _, r := range c.Rules {
			rs = append(rs, classify.Rule{Competence: c.Code, Phrase: r.Phrase, Weight: r.Weight})
		}
	}
	return classify.CompileRules(rs)
}

// LoadClassifier pairs the model (a file, else the shipped one) with the
// catalogue's rules.
func LoadClassifier(modelPath string, cat *catalogue.Catalogue) (*classify.Classifier, error) {
	var m *classify.Model
	var err error
	if modelPath != "" {
		m, err = classify.LoadModel(modelPath)
	} else {
		m, err = classify.DefaultModel()
	}
	if err != nil {
		return nil, fmt.Errorf("modèle de classification : %w", err)
	}
	rules, err := CatalogueRules(cat)
	if err != nil {
		return nil, err
	}
	return classify.New(m, rules), nil
}
