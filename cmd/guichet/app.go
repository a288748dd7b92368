package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/deadline"
	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/channels/mail/imapin"
	"github.com/ampmetropole/guichet/services/channels/mail/mailroom"
	"github.com/ampmetropole/guichet/services/channels/mail/mailroomdesk"
	"github.com/ampmetropole/guichet/services/channels/mail/scan"
	"github.com/ampmetropole/guichet/services/channels/phone/console"
	"github.com/ampmetropole/guichet/services/channels/phone/telephony"
	"github.com/ampmetropole/guichet/services/channels/web/webform"
	"github.com/ampmetropole/guichet/services/intake"
	"github.com/ampmetropole/guichet/services/intake/attachment"
	"github.com/ampmetropole/guichet/services/language/extract"
	"github.com/ampmetropole/guichet/services/outbound/notify"
	"github.com/ampmetropole/guichet/services/platform/bus"
	"github.com/ampmetropole/guichet/services/platform/clientip"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/platform/mailer"
	"github.com/ampmetropole/guichet/services/platform/textcheck"
	"github.com/ampmetropole/guichet/services/routing/router"
	"github.com/ampmetropole/guichet/services/staff/api"
	"github.com/ampmetropole/guichet/services/staff/auth"
	"github.com/ampmetropole/guichet/services/staff/backoffice"
)

// Services that `guichet serve` can run. api, web and agent share one HTTP
// server.
var knownServices = []string{"api", "web", "agent", "router", "notifier", "imap"}

// app is a set of running services on one NATS and one PostgreSQL.
type app struct {
	log      *slog.Logger
	conn     *bus.Conn
	store    *casestore.Store
	router   *router.Router
	notifier *notify.Notifier
	mail     *mailroom.Pipeline // scans uploaded by hand, read on in the background
	auth     *auth.Service
	server   *http.Server
	imapStop context.CancelFunc
	imapDone chan struct{}
	serveErr chan error
	addr     string
}

// appDeps are what the process provides beyond configuration.
type appDeps struct {
	natsURL, databaseURL string
	outbox               *mailer.Outbox // development: mail written to a folder; nil otherwise
}

// startApp connects, migrates, creates the streams and starts the services.
// On error everything already started is stopped.
func startApp(ctx context.Context, cfg Config, deps appDeps, services []string, log *slog.Logger) (_ *app, err error) {
	a := &app{log: log, serveErr: make(chan error, 1)}
	defer func() {
		if err != nil {
			a.stop()
		}
	}()
	if err := casestore.Migrate(ctx, deps.databaseURL, log); err != nil {
		return nil, err
	}
	v, err := schemas.NewValidator()
	if err != nil {
		return nil, err
	}
	cat, err := loadCatalogue(cfg.Router.Catalogue)
	if err != nil {
		return nil, err
	}
	places, err := territory.Load()
	if err != nil {
		return nil, err
	}
	if a.store, err = casestore.Open(ctx, casestore.Config{URL: deps.databaseURL, MaxConns: int32(cfg.Router.Workers + 8)}, v, log); err != nil {
		return nil, err
	}
	if a.conn, err = bus.Connect(ctx, deps.natsURL, "guichet", log); err != nil {
		return nil, err
	}
	if err := bus.EnsureTopology(ctx, a.conn.JS, bus.TopologyConfig{Replicas: cfg.Streams.Replicas}); err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	if slices.Contains(services, "router") {
		classifier, err := loadClassifier(cfg.Router.Model, cat)
		if err != nil {
			return nil, err
		}
		a.router, err = router.New(router.Config{
			Workers: cfg.Router.Workers, MaxAttempts: cfg.Router.MaxAttempts, AckWait: cfg.Router.AckWait,
			Classifier: classifier, Budgets: cat, Clock: deadline.New(frtime.Paris()),
			Decisions: router.EngineConfig{TriageBelow: cfg.Router.TriageBelow, LinkWindow: cfg.Router.LinkWindow,
				LinkSimilarity: cfg.Router.LinkSimilarity},
		}, a.conn, a.store, v, places, reg, log)
		if err != nil {
			return nil, err
		}
		if err := a.router.Start(ctx); err != nil {
			return nil, err
		}
	}
	if slices.Contains(services, "notifier") {
		sender, err := mailSender(cfg, deps)
		if err != nil {
			return nil, err
		}
		a.notifier, err = notify.New(notify.Config{PublicURL: cfg.PublicURL, AcksPerHour: cfg.AcksPerHour}, a.conn, a.store, sender, cat, v, log)
		if err != nil {
			return nil, err
		}
		if err := a.notifier.Start(ctx); err != nil {
			return nil, err
		}
	}
	withAPI, withWeb, withAgent := slices.Contains(services, "api"), slices.Contains(services, "web"), slices.Contains(services, "agent")
	withIMAP := slices.Contains(services, "imap")
	if !withAPI && !withWeb && !withAgent && !withIMAP {
		return a, a.serveProbes(cfg.Addr, reg, log)
	}
	in, err := intake.New(bus.NewPublisher(a.conn.JS), a.store, v, []byte(cfg.Secret), log)
	if err != nil {
		return nil, err
	}
	var mail *mailroom.Pipeline
	facts := extract.New(places)
	if reader, err := scan.New(scan.Limits{}); err != nil {
		log.Warn("mail channel off: scans cannot be read", "err", err)
	} else if files, err := attachment.NewStore(ctx, a.conn.JS); err != nil {
		return nil, err
	} else {
		mail = mailroom.New(reader, files, in, facts)
		// An upload still being read when its answer is due goes on in the
		// background; a failure then is shown with the rejected messages.
		mail.SetUploads(mailroom.UploadConfig{Rejections: a.store, Log: log.With("service", "mailroom")})
		a.mail = mail
	}
	if withIMAP {
		if mail == nil {
			return nil, errors.New("le service imap a besoin de poppler-utils et tesseract-ocr-fra (apt-get install poppler-utils tesseract-ocr tesseract-ocr-fra)")
		}
		ad, err := imapin.New(imapin.Config{URL: cfg.IMAP.URL, Processed: cfg.IMAP.Processed, Rejected: cfg.IMAP.Rejected, Scanners: cfg.IMAP.Scanners}, mail, bus.NewPublisher(a.conn.JS), a.store, log)
		if err != nil {
			return nil, err
		}
		ictx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		a.imapStop, a.imapDone = cancel, make(chan struct{})
		go func() { defer close(a.imapDone); ad.Run(ictx) }()
	}
	if !withAPI && !withWeb && !withAgent {
		return a, a.serveProbes(cfg.Addr, reg, log)
	}
	calls := telephony.New(in, facts)
	mux := http.NewServeMux()
	clients, err := clientip.New(cfg.Auth.TrustedProxies)
	if err != nil {
		return nil, err
	}
	authCfg := auth.Config{Secret: cfg.Secret, PublicURL: cfg.PublicURL, DevToken: cfg.Auth.DevToken, ClientIP: clients.Of,
		KnownCompetence: func(c string) bool { return c == schemas.CompetenceTriage || cat.Known(c) },
		KnownTerritory:  func(t string) bool { return territory.TerritoryName(t) != "" }}
	if cfg.Auth.OIDCIssuer != "" {
		authCfg.OIDC = &auth.OIDCConfig{IssuerURL: cfg.Auth.OIDCIssuer, ClientID: cfg.Auth.OIDCClientID,
			ClientSecret: cfg.Auth.OIDCSecret, RedirectURL: cfg.Auth.OIDCRedirect}
	}
	if a.auth, err = auth.New(authCfg, a.store.DB(), log.With("service", "auth")); err != nil {
		return nil, err
	}
	a.auth.Register(mux)
	if withAgent || withAPI || withWeb {
		files, err := attachment.NewStore(ctx, a.conn.JS)
		if err != nil {
			return nil, err
		}
		bo, err := backoffice.New(backoffice.Deps{Guard: a.auth, Store: a.store, Files: files, Catalogue: cat,
			Clock: deadline.New(frtime.Paris()), Log: log.With("service", "backoffice")})
		if err != nil {
			return nil, err
		}
		mux.Handle("/bo/", bo)
	}
	if withAgent {
		c, err := console.New(console.Deps{Store: a.store, Calls: calls, Catalogue: cat, CSRF: a.auth.CSRFField,
			Agent: func(r *http.Request) string { p, _ := auth.FromContext(r.Context()); return p.Name }, Tasks: a.store,
			Audit: a.auth.AuditCaller, Log: log.With("service", "agent")})
		if err != nil {
			return nil, err
		}
		agentOnly := a.auth.RequirePage(auth.PermAgentConsole)
		mux.Handle("/agent", agentOnly(c))
		mux.Handle("/agent/", agentOnly(c))
		files, err := attachment.NewStore(ctx, a.conn.JS)
		if err != nil {
			return nil, err
		}
		dd := mailroomdesk.Deps{Letters: a.store, Scans: files, CSRF: a.auth.CSRFField, Tasks: a.store, Holders: a.store, Audit: a.auth.AuditCaller,
			Who: func(r *http.Request) string { p, _ := auth.FromContext(r.Context()); return p.Name }, Log: log.With("service", "mailroom")}
		if mail != nil {
			dd.Mail, dd.Requests, dd.Correct = mail, a.store, mailroom.NewCorrector(mail, a.store)
		}
		d, err := mailroomdesk.New(dd)
		if err != nil {
			return nil, err
		}
		mailroomOnly := a.auth.RequirePage(auth.PermMailroom)
		mux.Handle("/courrier", mailroomOnly(d))
		mux.Handle("/courrier/", mailroomOnly(d))
	}
	if withAPI {
		var upload api.Mail
		var correct api.Corrector
		if mail != nil {
			upload, correct = mail, mailroom.NewCorrector(mail, a.store)
		}
		h, err := api.New(api.Deps{
			Intake:         in,
			Calls:          calls,
			Mail:           upload,
			Letters:        a.store,
			Correct:        correct,
			Curate:         a.store,
			Competences:    cat,
			Guard:          a.auth,
			Workflow:       a.store,
			Correspondence: a.store,
			Settings:       cat,
			Clock:          deadline.New(frtime.Paris()),
			Store:          a.store,
			Ready:          map[string]api.Pinger{"nats": a.conn, "postgres": a.store},
			Gatherer:       reg,
			Log:            log.With("service", "api"),
			SystemRate:     cfg.APIRate,
		}, reg)
		if err != nil {
			return nil, err
		}
		for _, p := range []string{"/api/", "/healthz", "/readyz", "/metrics"} {
			mux.Handle(p, h)
		}
	}
	if withWeb {
		files, err := attachment.NewStore(ctx, a.conn.JS)
		if err != nil {
			return nil, err
		}
		wd := webform.Deps{Intake: in, Store: a.store, Files: files, Catalogue: cat, Places: places, Log: log.With("service", "web")}
		if deps.outbox != nil {
			wd.Outbox = deps.outbox
		}
		w, err := webform.New(webform.Config{Secret: cfg.Secret, RatePerMinute: cfg.WebRate, ClientIP: clients.Of}, wd)
		if err != nil {
			return nil, err
		}
		mux.Handle("/", w)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("écoute HTTP sur %s : %w (adresse déjà prise ? choisissez --addr)", cfg.Addr, err)
	}
	a.addr = ln.Addr().String()
	// Text the database would refuse (a NUL, invalid UTF-8) in a path or a
	// query string gets a 400 here, before anyone hands it to PostgreSQL.
	a.server = api.NewServer(cfg.Addr, textcheck.Middleware(a.auth.Middleware(mux), refuseText), log)
	go func() {
		if err := a.server.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			a.serveErr <- err
		}
	}()
	return a, nil
}

// refuseText answers a path or query string with a character Guichet
// cannot store: JSON for the API, a plain French sentence elsewhere.
func refuseText(w http.ResponseWriter, r *http.Request) {
	msg := "caractère non permis (caractère nul ou encodage invalide) dans l'adresse ou ses paramètres"
	w.Header().Set("Cache-Control", "no-store")
	if strings.HasPrefix(r.URL.Path, "/api/") {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
		return
	}
	http.Error(w, "Requête refusée : "+msg+".", http.StatusBadRequest)
}

// serveProbes serves health, readiness and metrics on addr, for processes
// without pages or API.
func (a *app) serveProbes(addr string, reg prometheus.Gatherer, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("écoute HTTP sur %s : %w (adresse déjà prise ? choisissez --addr)", addr, err)
	}
	a.addr = ln.Addr().String()
	a.server = api.NewServer(addr, api.Probes(map[string]api.Pinger{"nats": a.conn, "postgres": a.store}, reg), log)
	go func() {
		if err := a.server.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			a.serveErr <- err
		}
	}()
	return nil
}

// mailSender is SMTP when configured, else the development outbox.
func mailSender(cfg Config, deps appDeps) (notify.Sender, error) {
	if cfg.Mail.SMTPURL != "" {
		return mailer.NewSMTP(mailer.SMTPConfig{URL: cfg.Mail.SMTPURL, From: cfg.Mail.From})
	}
	if deps.outbox != nil {
		return deps.outbox, nil
	}
	return nil, errors.New("le service notifier a besoin de GUICHET_SMTP_URL pour envoyer les courriels")
}

// wait blocks until ctx ends or the HTTP server fails.
func (a *app) wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-a.serveErr:
		return fmt.Errorf("serveur HTTP : %w", err)
	}
}

// stop stops the services in the reverse order of their start.
func (a *app) stop() {
	if a.server != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := a.server.Shutdown(sctx); err != nil {
			a.log.Warn("HTTP shutdown", "err", err)
		}
		cancel()
	}
	if a.imapStop != nil {
		a.imapStop()
		<-a.imapDone
	}
	if a.mail != nil {
		a.mail.Stop()
	}
	if a.notifier != nil {
		a.notifier.Stop()
	}
	if a.router != nil {
		a.router.Stop()
	}
	if a.conn != nil {
		a.conn.Close()
	}
	if a.store != nil {
		a.store.Close()
	}
}
