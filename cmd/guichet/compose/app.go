package compose

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
	"sync/atomic"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/footprint"
	"github.com/ampmetropole/guichet/services/cases/knowledge"
	"github.com/ampmetropole/guichet/services/cases/opendata"
	"github.com/ampmetropole/guichet/services/cases/personaldata"
	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/channels/mail/imapin"
	"github.com/ampmetropole/guichet/services/channels/mail/mailroom"
	"github.com/ampmetropole/guichet/services/channels/mail/mailroomdesk"
	"github.com/ampmetropole/guichet/services/channels/mail/scan"
	"github.com/ampmetropole/guichet/services/channels/open311"
	"github.com/ampmetropole/guichet/services/channels/phone/console"
	"github.com/ampmetropole/guichet/services/channels/phone/telephony"
	"github.com/ampmetropole/guichet/services/channels/web/webform"
	"github.com/ampmetropole/guichet/services/intake/attachment"
	"github.com/ampmetropole/guichet/services/outbound/notify"
	"github.com/ampmetropole/guichet/services/outbound/webhook"
	"github.com/ampmetropole/guichet/services/platform/bus"
	"github.com/ampmetropole/guichet/services/platform/clientip"
	"github.com/ampmetropole/guichet/services/platform/mailer"
	"github.com/ampmetropole/guichet/services/platform/sms"
	"github.com/ampmetropole/guichet/services/platform/staffshell"
	"github.com/ampmetropole/guichet/services/platform/textcheck"
	"github.com/ampmetropole/guichet/services/routing/classify"
	"github.com/ampmetropole/guichet/services/routing/router"
	"github.com/ampmetropole/guichet/services/staff/api"
	"github.com/ampmetropole/guichet/services/staff/auth"
	"github.com/ampmetropole/guichet/services/staff/backoffice"
	"github.com/ampmetropole/guichet/services/staff/communedesk"
	"github.com/ampmetropole/guichet/services/staff/knowledgedesk"
	"github.com/ampmetropole/guichet/services/staff/rgpddesk"
	"github.com/ampmetropole/guichet/services/staff/webhookdesk"
)

// Services that a process can run. api, web and agent share one HTTP
// server.
var Services = []string{"api", "web", "agent", "router", "notifier", "imap"}

// Deps are what the process provides beyond configuration.
type Deps struct {
	NATSURL, DatabaseURL string
	Outbox               *mailer.Outbox // development: mail written to a folder; nil otherwise
	SMSOutbox            *sms.Outbox    // development: SMS written to a folder; nil otherwise
}

// App is a set of running services on one NATS and one PostgreSQL.
type App struct {
	*Parts
	// Addr is the HTTP address actually listened on.
	Addr string
	// Auth is the sign-in service, when the process serves pages or API.
	Auth *auth.Service

	router   *router.Router
	notifier *notify.Notifier
	webhooks *webhook.Service // partners' webhooks, sent by the notifier's process
	// sms sends text messages (SMPP, or the development outbox); nil: no
	// SMS. smpp is the link to stop, when it is SMPP.
	sms      SMSSender
	smpp     *sms.SMPP
	files    *attachment.Store  // attachments and scans, for pages and the mail channel
	mail     *mailroom.Pipeline // scans uploaded by hand, read on in the background
	server   *http.Server
	imapStop context.CancelFunc
	imapDone chan struct{}
	serveErr chan error
	drain    time.Duration
	stopping stopping // reported by readiness once Stop has begun

	// bo is the back office, whose live streams end before the server
	// shuts down (a stream would hold its connection open).
	bo *backoffice.Handler
	// officer is the data protection officer's work, for /bo/rgpd and
	// /api/v1/rgpd.
	officer *personaldata.Officer
}

// stopping is the readiness check that fails once the process is stopping.
type stopping struct{ on atomic.Bool }

// Ping fails once the process is stopping.
func (s *stopping) Ping(context.Context) error {
	if s.on.Load() {
		return errors.New("arrêt en cours")
	}
	return nil
}

// Start builds the shared parts and starts the services named, each by its
// own function below. On error everything already started is stopped.
func Start(ctx context.Context, cfg Config, deps Deps, services []string, log *slog.Logger) (_ *App, err error) {
	a := &App{serveErr: make(chan error, 1), drain: cfg.Drain}
	defer func() {
		if err != nil {
			a.Stop()
		}
	}()
	if a.Parts, err = NewParts(ctx, cfg, deps.NATSURL, deps.DatabaseURL, "guichet "+strings.Join(services, "+"), log); err != nil {
		return nil, err
	}
	if slices.Contains(services, "router") {
		if err := a.startRouter(ctx, cfg); err != nil {
			return nil, err
		}
	}
	if slices.Contains(services, "notifier") || slices.Contains(services, "web") {
		if err := a.startSMS(ctx, cfg, deps); err != nil {
			return nil, err
		}
	}
	if slices.Contains(services, "notifier") {
		if err := a.startNotifier(ctx, cfg, deps); err != nil {
			return nil, err
		}
		if err := a.startWebhooks(ctx, cfg); err != nil {
			return nil, err
		}
	}
	pages := slices.ContainsFunc(services, func(s string) bool { return s == "api" || s == "web" || s == "agent" })
	if pages || slices.Contains(services, "imap") {
		if a.files, err = attachment.NewStore(ctx, a.Conn.JS); err != nil {
			return nil, err
		}
		a.mail = a.mailPipeline()
	}
	if slices.Contains(services, "imap") {
		if err := a.startIMAP(ctx, cfg); err != nil {
			return nil, err
		}
	}
	handler := api.Probes(a.ready(), a.Registry)
	if pages {
		if handler, err = a.pages(ctx, cfg, deps, services); err != nil {
			return nil, err
		}
	}
	return a, a.listen(cfg.Addr, handler)
}

func (a *App) startRouter(ctx context.Context, cfg Config) (err error) {
	if a.router, err = a.NewRouter(cfg); err != nil {
		return err
	}
	return a.router.Start(ctx)
}

// startSMS binds to the SMS centre when one is configured (the link is
// kept up in the background, so that Guichet starts while it is away), else
// takes the development outbox; without either, nobody is reached by SMS.
func (a *App) startSMS(ctx context.Context, cfg Config, deps Deps) error {
	switch {
	case cfg.SMS.Addr != "":
		s, err := sms.NewSMPP(sms.SMPPConfig{Addr: cfg.SMS.Addr, SystemID: cfg.SMS.SystemID, Password: cfg.SMS.Password,
			SystemType: cfg.SMS.SystemType, Sender: cfg.SMS.Sender}, a.Log.With("service", "sms"))
		if err != nil {
			return err
		}
		if err := s.Start(context.WithoutCancel(ctx)); err != nil {
			return err
		}
		a.sms, a.smpp = s, s
	case deps.SMSOutbox != nil:
		a.sms = deps.SMSOutbox
	}
	return nil
}

func (a *App) startNotifier(ctx context.Context, cfg Config, deps Deps) (err error) {
	sender, err := mailSender(cfg, deps)
	if err != nil {
		return err
	}
	nc := notify.Config{PublicURL: cfg.PublicURL, AcksPerHour: cfg.AcksPerHour, Metrics: a.Registry}
	if a.sms != nil {
		nc.SMS = a.sms
	}
	if a.notifier, err = notify.New(nc, a.Conn, a.Store, sender, a.Catalogue, a.Validator, a.Log); err != nil {
		return err
	}
	return a.notifier.Start(ctx)
}

// webhookStore is where subscriptions and deliveries are kept, under the
// configuration's rules.
func (a *App) webhookStore(cfg Config) *webhook.Store {
	return webhook.NewStore(a.Store.DB(), webhook.Rules{AllowHTTP: cfg.Webhooks.AllowHTTP, Catalogue: a.Catalogue, Places: a.Places})
}

// startWebhooks files the partners' deliveries from CASES and sends them.
func (a *App) startWebhooks(ctx context.Context, cfg Config) (err error) {
	if a.webhooks, err = webhook.New(webhook.Config{PublicURL: cfg.PublicURL, Metrics: a.Registry}, a.Conn, a.webhookStore(cfg), a.Log); err != nil {
		return err
	}
	return a.webhooks.Start(ctx)
}

// kickWebhooks sends a delivery queued again at once when this process
// sends them; another process finds it within a second.
func (a *App) kickWebhooks() {
	if a.webhooks != nil {
		a.webhooks.Kick()
	}
}

// mailPipeline turns scans and e-mails into requests; nil when the OCR
// tools are missing (the mail channel is then off, and says so).
func (a *App) mailPipeline() *mailroom.Pipeline {
	if a.Intake == nil {
		return nil // no secret: nothing can be published (serve refuses imap without one)
	}
	reader, err := scan.New(scan.Limits{})
	if err != nil {
		a.Log.Warn("mail channel off: scans cannot be read", "err", err)
		return nil
	}
	p := mailroom.New(reader, a.files, a.Intake, a.Facts)
	// An upload still being read when its answer is due goes on in the
	// background; a failure then is shown with the rejected messages.
	p.SetUploads(mailroom.UploadConfig{Rejections: a.Store, Log: a.Log.With("service", "mailroom")})
	return p
}

func (a *App) startIMAP(ctx context.Context, cfg Config) error {
	if a.mail == nil {
		return errors.New("le service imap a besoin de poppler-utils et tesseract-ocr-fra (apt-get install poppler-utils tesseract-ocr tesseract-ocr-fra)")
	}
	ad, err := imapin.New(imapin.Config{URL: cfg.IMAP.URL, Processed: cfg.IMAP.Processed, Rejected: cfg.IMAP.Rejected, Scanners: cfg.IMAP.Scanners},
		a.mail, bus.NewPublisher(a.Conn.JS), a.Store, a.Log)
	if err != nil {
		return err
	}
	ictx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.imapStop, a.imapDone = cancel, make(chan struct{})
	go func() { defer close(a.imapDone); ad.Run(ictx) }()
	return nil
}

// pages builds the HTTP side: sign-in, the back office, the agent console
// and the mailroom (agent), the JSON API (api), the citizens' pages (web);
// health and metrics in every case.
func (a *App) pages(ctx context.Context, cfg Config, deps Deps, services []string) (http.Handler, error) {
	if a.Intake == nil {
		return nil, errors.New("GUICHET_SECRET (16 caractères au moins) est requise pour servir des pages ou l'API")
	}
	clients, err := clientip.New(cfg.Auth.TrustedProxies)
	if err != nil {
		return nil, err
	}
	if a.Auth, err = a.newAuth(cfg, clients); err != nil {
		return nil, err
	}
	files := a.files
	calls := telephony.New(a.Intake, a.Facts, telephony.WithCompetences(a.Catalogue.Known))
	mux := http.NewServeMux()
	a.Auth.Register(mux)
	mux.Handle("GET "+staffshell.AssetsPath, staffshell.Assets())
	bo, err := backoffice.New(backoffice.Deps{Guard: a.Auth, Store: a.Store, Files: files, Catalogue: a.Catalogue,
		Clock: a.Calendar, Log: a.Log.With("service", "backoffice"), Feed: backoffice.StreamFeed(a.Conn.JS), Places: a.Places,
		Storage: footprint.NewMeter(a.Store.DB(), a.Conn.JS, a.Log.With("service", "footprint"))})
	if err != nil {
		return nil, err
	}
	a.bo = bo
	mux.Handle("/bo/", bo)
	kb := knowledge.New(a.Store.DB())
	kd, err := knowledgedesk.New(knowledgedesk.Deps{Guard: a.Auth, Store: kb, Catalogue: a.Catalogue, Log: a.Log.With("service", "knowledge")})
	if err != nil {
		return nil, err
	}
	mux.Handle(knowledgedesk.Base, kd)
	mux.Handle(knowledgedesk.Base+"/", kd)
	a.officer = a.Officer(cfg, deps)
	rd, err := rgpddesk.New(rgpddesk.Deps{Guard: a.Auth, Officer: a.officer, Catalogue: a.Catalogue, Log: a.Log.With("service", "rgpd")})
	if err != nil {
		return nil, err
	}
	mux.Handle(rgpddesk.Base, rd)
	mux.Handle(rgpddesk.Base+"/", rd)
	wd, err := webhookdesk.New(webhookdesk.Deps{Guard: a.Auth, Store: a.webhookStore(cfg), Catalogue: a.Catalogue, Places: a.Places,
		Requeued: a.kickWebhooks, Log: a.Log.With("service", "webhooks")})
	if err != nil {
		return nil, err
	}
	mux.Handle(webhookdesk.Base, wd)
	mux.Handle(webhookdesk.Base+"/", wd)
	md, err := communedesk.New(communedesk.Deps{Guard: a.Auth, Store: a.Store, Intake: a.Intake, Catalogue: a.Catalogue,
		Places: a.Places, Log: a.Log.With("service", "mairie")})
	if err != nil {
		return nil, err
	}
	mux.Handle(communedesk.Base, md)
	mux.Handle(communedesk.Base+"/", md)
	who := func(r *http.Request) string { p, _ := auth.FromContext(r.Context()); return p.Name }
	if slices.Contains(services, "agent") {
		// Receipts go by SMS where SMS leave (an SMS centre, or the outbox of
		// `guichet dev`), whichever process sends them.
		smsReceipts := cfg.SMS.Addr != "" || deps.SMSOutbox != nil
		classifier, err := a.Classifier(cfg.Router.Model)
		if err != nil {
			return nil, err
		}
		if err := a.agentPages(mux, calls, files, who, smsReceipts, kb, KnowledgeSuggest(classifier)); err != nil {
			return nil, err
		}
	}
	if slices.Contains(services, "api") {
		h, err := a.jsonAPI(cfg, calls)
		if err != nil {
			return nil, err
		}
		for _, p := range []string{"/api/", "/healthz", "/readyz", "/metrics"} {
			mux.Handle(p, h)
		}
		// Open311 GeoReport v2: partners' reports and the public feed.
		o, err := open311.New(open311.Config{BaseURL: cfg.PublicURL + "/open311/v2", ClientIP: clients.Of},
			open311.Deps{Keys: a.Auth, Intake: a.Intake, Store: a.Store, Catalogue: a.Catalogue, Places: a.Places, Log: a.Log.With("service", "open311")})
		if err != nil {
			return nil, err
		}
		mux.Handle(open311.Base, o)
	} else {
		probes := api.Probes(a.ready(), a.Registry)
		for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
			mux.Handle(p, probes)
		}
	}
	if slices.Contains(services, "web") {
		wd := webform.Deps{Intake: a.Intake, Store: a.Store, Files: files, Catalogue: a.Catalogue, Places: a.Places, Log: a.Log.With("service", "web")}
		// Open data: the day's files, written at the first visit of the day.
		wd.OpenData = opendata.NewPublisher(opendata.Source{DB: a.Store.DB(), Catalogue: a.Catalogue, Places: a.Places,
			Threshold: opendata.DefaultThreshold, PublicPage: cfg.PublicURL + "/donnees"})
		// The router described to the public, from the model in service.
		classifier, err := a.Classifier(cfg.Router.Model)
		if err != nil {
			return nil, err
		}
		alg, err := newAlgorithm(classifier.Model(), cfg.Router.TriageBelow, a.Catalogue, a.Store)
		if err != nil {
			return nil, err
		}
		wd.Algorithm = alg
		if deps.Outbox != nil {
			wd.Outbox = deps.Outbox
		}
		if deps.SMSOutbox != nil {
			wd.SMSOutbox = deps.SMSOutbox
		}
		wc := webform.Config{Secret: cfg.Secret, RatePerMinute: cfg.WebRate, ClientIP: clients.Of}
		a.citizenSpace(cfg, deps, &wc, &wd)
		if err := a.formMap(cfg, &wc, &wd); err != nil {
			return nil, err
		}
		w, err := webform.New(wc, wd)
		if err != nil {
			return nil, err
		}
		mux.Handle("/", w)
	}
	// Text the database would refuse (a NUL, invalid UTF-8) in a path or a
	// query string gets a 400 here, before anyone hands it to PostgreSQL.
	return textcheck.Middleware(a.Auth.Middleware(mux), refuseText), nil
}

// newAuth is the sign-in service, with the competences and territories an
// account or token may be given.
func (a *App) newAuth(cfg Config, clients *clientip.Resolver) (*auth.Service, error) {
	c := auth.Config{Secret: cfg.Secret, PublicURL: cfg.PublicURL, DevToken: cfg.Auth.DevToken, ClientIP: clients.Of,
		KnownCompetence: func(c string) bool { return c == schemas.CompetenceTriage || a.Catalogue.Known(c) },
		KnownTerritory:  func(t string) bool { return territory.TerritoryName(t) != "" },
		KnownCommune:    a.Places.IsCommune,
		CommuneName: func(insee string) string {
			if c, ok := a.Places.ByINSEE(insee); ok {
				return c.Name
			}
			return ""
		},
		CompetenceName: func(c string) string {
			if k, ok := a.Catalogue.Competence(c); ok {
				return k.Label
			}
			return ""
		},
		TerritoryName: territory.TerritoryName}
	if cfg.Auth.OIDCIssuer != "" {
		c.OIDC = &auth.OIDCConfig{IssuerURL: cfg.Auth.OIDCIssuer, ClientID: cfg.Auth.OIDCClientID,
			ClientSecret: cfg.Auth.OIDCSecret, RedirectURL: cfg.Auth.OIDCRedirect}
	}
	return auth.New(c, a.Store.DB(), a.Log.With("service", "auth"))
}

// agentPages mounts the call centre's console and the mailroom's desk.
func (a *App) agentPages(mux *http.ServeMux, calls *telephony.Service, files *attachment.Store, who func(*http.Request) string, smsReceipts bool,
	kb *knowledge.Store, suggest func(context.Context, string) []string) error {
	c, err := console.New(console.Deps{Store: a.Store, Calls: calls, Catalogue: a.Catalogue, CSRF: a.Auth.CSRFField, Knowledge: kb, Suggest: suggest, Incidents: a.Store,
		Agent: who, Tasks: a.Store, SMS: smsReceipts, Audit: a.Auth.AuditCaller, Viewer: a.Auth.Viewer, Log: a.Log.With("service", "agent")})
	if err != nil {
		return err
	}
	agentOnly := a.Auth.RequirePage(auth.PermAgentConsole)
	mux.Handle("/agent", agentOnly(c))
	mux.Handle("/agent/", agentOnly(c))
	dd := mailroomdesk.Deps{Letters: a.Store, Scans: files, CSRF: a.Auth.CSRFField, Tasks: a.Store, Holders: a.Store,
		Notices: a.Store, Print: notify.PrintNotices(a.Catalogue), Audit: a.Auth.AuditCaller, Who: who, Viewer: a.Auth.Viewer, Log: a.Log.With("service", "mailroom")}
	if a.mail != nil {
		dd.Mail, dd.Requests, dd.Correct, dd.Pages = a.mail, a.Store, mailroom.NewCorrector(a.mail, a.Store), a.mail.Pages()
	}
	d, err := mailroomdesk.New(dd)
	if err != nil {
		return err
	}
	mailroomOnly := a.Auth.RequirePage(auth.PermMailroom)
	mux.Handle("/courrier", mailroomOnly(d))
	mux.Handle("/courrier/", mailroomOnly(d))
	return nil
}

// KnowledgeSuggest reads what a caller said with the router's classifier
// and names the competences it points to, best first — at most three, each
// likely enough to mean something — for the console to propose the
// knowledge base's answers. Nothing for a text the model knows no word of.
func KnowledgeSuggest(c *classify.Classifier) func(ctx context.Context, text string) []string {
	return func(_ context.Context, text string) []string {
		if strings.TrimSpace(text) == "" {
			return nil
		}
		p := c.Classify(text)
		if p.Evidence == 0 {
			return nil
		}
		var out []string
		for _, s := range p.Ranked {
			if len(out) == 3 || s.Probability < 0.25 {
				break
			}
			out = append(out, s.Competence)
		}
		return out
	}
}

// jsonAPI is the API of other systems and of people's tools.
func (a *App) jsonAPI(cfg Config, calls *telephony.Service) (*api.Handler, error) {
	d := api.Deps{Intake: a.Intake, Calls: calls, Letters: a.Store, Curate: a.Store, Competences: a.Catalogue, Guard: a.Auth,
		Workflow: a.Store, Correspondence: a.Store, Settings: a.Catalogue, Clock: a.Calendar, Store: a.Store,
		Ready: a.ready(), Gatherer: a.Registry, Log: a.Log.With("service", "api"), SystemRate: cfg.APIRate, Officer: a.officer}
	if a.mail != nil {
		d.Mail, d.Correct = a.mail, mailroom.NewCorrector(a.mail, a.Store)
	}
	return api.New(d, a.Registry)
}

// ready are what readiness depends on: NATS, PostgreSQL, and the process
// not being on its way out.
func (a *App) ready() map[string]api.Pinger {
	return map[string]api.Pinger{"nats": a.Conn, "postgres": a.Store, "process": &a.stopping}
}

// listen serves handler on addr.
func (a *App) listen(addr string, handler http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("écoute HTTP sur %s : %w (adresse déjà prise ? choisissez --addr)", addr, err)
	}
	a.Addr = ln.Addr().String()
	a.server = api.NewServer(addr, handler, a.Log)
	go func() {
		if err := a.server.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			a.serveErr <- err
		}
	}()
	return nil
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

// mailSender is SMTP when configured, else the development outbox.
func mailSender(cfg Config, deps Deps) (notify.Sender, error) {
	if cfg.Mail.SMTPURL != "" {
		return mailer.NewSMTP(mailer.SMTPConfig{URL: cfg.Mail.SMTPURL, From: cfg.Mail.From})
	}
	if deps.Outbox != nil {
		return deps.Outbox, nil
	}
	return nil, errors.New("le service notifier a besoin de GUICHET_SMTP_URL pour envoyer les courriels")
}

// Wait blocks until ctx ends or the HTTP server fails.
func (a *App) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-a.serveErr:
		return fmt.Errorf("serveur HTTP : %w", err)
	}
}

// Stop stops the services in the reverse order of their start; safe on an
// app half started. A process serving HTTP first drains: it reports itself
// not ready and keeps serving for the drain period, then stops taking
// connections and finishes the requests under way (10 s at most).
func (a *App) Stop() {
	log := slog.New(slog.DiscardHandler)
	if a.Parts != nil {
		log = a.Log
	}
	start := time.Now()
	if a.server != nil {
		a.stopping.on.Store(true)
		if a.bo != nil {
			a.bo.Close()
		}
		if a.drain > 0 {
			log.Info("stopping: not ready any more, still serving", "drain", a.drain)
			time.Sleep(a.drain)
		}
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := a.server.Shutdown(sctx); err != nil {
			log.Warn("HTTP shutdown", "err", err)
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
	if a.webhooks != nil {
		a.webhooks.Stop()
	}
	if a.notifier != nil {
		a.notifier.Stop()
	}
	if a.smpp != nil {
		a.smpp.Stop()
	}
	if a.router != nil {
		a.router.Stop()
	}
	if a.Parts != nil {
		a.Parts.Close()
		log.Info("stopped", "took", time.Since(start).Round(time.Millisecond))
	}
}
