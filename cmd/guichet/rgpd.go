package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/ampmetropole/guichet/cmd/guichet/compose"
	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/caseref"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/cases/personaldata"
	"github.com/ampmetropole/guichet/services/cases/retention"
	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/platform/bus"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/platform/mailer"
	redactlog "github.com/ampmetropole/guichet/services/platform/redact"
	"github.com/ampmetropole/guichet/services/platform/sms"
	"github.com/ampmetropole/guichet/services/staff/auth"
)

// rgpdUsage is the synopsis of `guichet rgpd`.
const rgpdUsage = `rgpd : export, erase, retention, hold, release ou registre
  guichet rgpd export (--email X | --phone N | --name "Prénom Nom") [--format json|texte] [--out FICHIER]
  guichet rgpd erase (--email X | --phone N | --name "Prénom Nom") --reason "motif"
  guichet rgpd retention [--now 2028-01-01] [--dry-run]
  guichet rgpd hold AMP-AAAA-NNNNNN --reason "motif"
  guichet rgpd release AMP-AAAA-NNNNNN --reason "motif"
  guichet rgpd registre [--format markdown|json]`

// runRGPD answers for the personal data Guichet holds (docs/personal-data.md):
// what it holds about a person (export), erasing it (erase), applying the
// retention schedule (retention), legal holds (hold, release) and the
// register of processing (registre). Like `guichet token`, it finds the
// database (and for erase and retention the NATS server) of a running
// `guichet dev` in its data folder, or takes DATABASE_URL and NATS_URL.
// Every act is audited, in the name of cli:<user>.
func runRGPD(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{rgpdUsage}
	}
	sub, rest := args[0], args[1:]
	var who personaldata.Subject
	var format, out, reason, now *string
	var dryRun *bool
	extra := func(fs *flag.FlagSet) {
		switch sub {
		case "export", "erase":
			fs.StringVar(&who.Email, "email", "", "adresse électronique de la personne")
			fs.StringVar(&who.Phone, "phone", "", "numéro de téléphone de la personne (06 12 34 56 78, +33612345678)")
			fs.StringVar(&who.Name, "name", "", "nom de la personne, tel qu'elle l'a donné (casse, accents et tirets indifférents)")
		}
		switch sub {
		case "export":
			format = fs.String("format", "json", "json, ou texte : le document en français à envoyer à la personne")
			out = fs.String("out", "", "fichier où écrire (défaut : la sortie standard)")
		case "registre":
			format = fs.String("format", "markdown", "markdown ou json")
		case "retention":
			now = fs.String("now", "", "date d'application (AAAA-MM-JJ ; défaut : maintenant) : voir ce qu'une date future effacerait")
			dryRun = fs.Bool("dry-run", false, "dit ce qui serait effacé, sans rien effacer")
		}
		switch sub {
		case "erase", "hold", "release":
			reason = fs.String("reason", "", "motif (obligatoire, journalisé) ; pour un gel, le numéro du contentieux, pas un nom")
		}
	}
	switch sub {
	case "export", "erase", "retention", "hold", "release", "registre":
	default:
		return usageError{rgpdUsage}
	}
	cfg, pos, err := parseConfig("rgpd", flagsFirst(rest, "email", "phone", "name", "format", "out", "reason", "now"), stderr, extra)
	if err != nil {
		return err
	}
	wantPos := 0
	if sub == "hold" || sub == "release" {
		wantPos = 1
	}
	if len(pos) != wantPos {
		if wantPos == 1 {
			return usageError{"rgpd " + sub + " : une référence de dossier (" + caseref.Shape + ") attendue"}
		}
		return usageError{fmt.Sprintf("rgpd %s : argument inattendu %q", sub, pos[0])}
	}
	if sub == "registre" {
		return rgpdRegister(cfg, *format, stdout)
	}
	switch sub {
	case "export", "erase":
		if who, err = who.Normalize(); err != nil {
			return usageError{"rgpd " + sub + " : " + strings.TrimPrefix(err.Error(), "personaldata: ")}
		}
	}
	if reason != nil && strings.TrimSpace(*reason) == "" {
		return usageError{"rgpd " + sub + " : --reason obligatoire (il est écrit au journal d'audit)"}
	}
	if format != nil && *format != "json" && *format != "texte" {
		return usageError{"rgpd export : --format json ou texte"}
	}
	at := time.Now()
	if now != nil && *now != "" {
		if at, err = parseDay(*now); err != nil {
			return usageError{"rgpd retention : --now " + err.Error()}
		}
	}
	t, err := openRGPD(ctx, cfg, stderr, sub == "erase" || (sub == "retention" && !*dryRun))
	if err != nil {
		return err
	}
	defer t.close()
	switch sub {
	case "export":
		return t.export(ctx, who, *format, *out, stdout)
	case "erase":
		return t.erase(ctx, who, *reason, stdout)
	case "retention":
		return t.retention(ctx, at, *dryRun, stdout)
	}
	ref, ok := caseref.Normalize(pos[0])
	if !ok {
		return usageError{fmt.Sprintf("rgpd %s : %q n'est pas une référence de dossier (%s attendu)", sub, pos[0], caseref.Shape)}
	}
	if sub == "hold" {
		if err := t.retain.Hold(ctx, ref.String(), *reason, t.actor); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "dossier %s gelé : il ne sera pas effacé avant que le gel soit levé (guichet rgpd release %s --reason …)\n", ref, ref)
		return nil
	}
	if err := t.retain.Release(ctx, ref.String(), *reason, t.actor); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "gel du dossier %s levé : les durées de conservation s'appliquent de nouveau\n", ref)
	return nil
}

// parseDay reads a date as AAAA-MM-JJ (midnight, Paris time) or RFC 3339.
func parseDay(s string) (time.Time, error) {
	if t, err := time.ParseInLocation(time.DateOnly, s, frtime.Paris()); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, errors.New("AAAA-MM-JJ attendu, par exemple 2028-01-01")
}

// rgpdTools are what the subcommands use, open on the database (and NATS).
type rgpdTools struct {
	store   *casestore.Store
	cat     *catalogue.Catalogue
	auth    *auth.Service
	exports *personaldata.Exporter
	retain  *retention.Service
	actor   string
	close   func()
}

// cliActor is who runs the command, as the audit log writes it.
func cliActor() string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if name == "" {
		name = "inconnu"
	}
	return "cli:" + name
}

// openRGPD opens the database of DATABASE_URL or of the data folder and,
// when forget is set, NATS (NATS_URL or the data folder's): an erasure
// must reach the streams, the object store and the outboxes too, so it
// refuses to start without them.
func openRGPD(ctx context.Context, cfg Config, stderr io.Writer, forget bool) (*rgpdTools, error) {
	store, err := openToolStore(ctx, "rgpd", cfg, stderr)
	if err != nil {
		return nil, err
	}
	closers := []func(){store.Close}
	t := &rgpdTools{store: store, actor: cliActor()}
	t.close = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	fail := func(err error) (*rgpdTools, error) { t.close(); return nil, err }
	if t.cat, err = compose.LoadCatalogue(cfg.Router.Catalogue); err != nil {
		return fail(err)
	}
	log := slog.New(redactlog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if t.auth, err = auth.New(auth.Config{Secret: "command-line-tools-sign-nothing",
		KnownCompetence: func(c string) bool { return c == schemas.CompetenceTriage || t.cat.Known(c) },
		KnownTerritory:  func(x string) bool { return territory.TerritoryName(x) != "" }}, store.DB(), log); err != nil {
		return fail(err)
	}
	places, err := territory.Load()
	if err != nil {
		return fail(err)
	}
	t.exports = personaldata.NewExporter(store.DB(), t.cat, places)
	var forgetters []retention.Forgetter
	if forget {
		natsURL := cfg.NATSURL
		if natsURL == "" {
			b, err := os.ReadFile(filepath.Join(cfg.DataDir, "nats-url"))
			if err != nil {
				return fail(usageError{"rgpd : NATS_URL n'est pas définie et " + filepath.Join(cfg.DataDir, "nats-url") +
					" est illisible ; l'effacement doit atteindre les flux NATS et les pièces jointes (guichet dev tourne-t-il avec --data " + cfg.DataDir + " ?)"})
			}
			natsURL = strings.TrimSpace(string(b))
		}
		conn, err := bus.Connect(ctx, natsURL, "guichet rgpd", log)
		if err != nil {
			return fail(err)
		}
		closers = append(closers, conn.Close)
		var deps compose.Deps
		// The outboxes of `guichet dev` when it writes there (no SMTP, no
		// SMS centre in the environment): their copies of messages go too.
		serve, _, err := parseConfig("serve", nil, io.Discard, nil)
		if err != nil {
			return fail(err)
		}
		if serve.Mail.SMTPURL == "" {
			if dir := filepath.Join(cfg.DataDir, "outbox"); isDir(dir) {
				if deps.Outbox, err = mailer.NewOutbox(dir, serve.Mail.From); err != nil {
					return fail(err)
				}
			}
		}
		if serve.SMS.Addr == "" {
			if dir := filepath.Join(cfg.DataDir, "sms"); isDir(dir) {
				if deps.SMSOutbox, err = sms.NewOutbox(dir); err != nil {
					return fail(err)
				}
			}
		}
		forgetters = (&compose.Parts{Log: log, Conn: conn}).Forgetters(deps)
	}
	t.retain = retention.New(store.DB(), t.cat, log, forgetters...)
	return t, nil
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// audit writes an act of the command to the audit log; what it records is
// done, so a failure is said, not fatal.
func (t *rgpdTools) audit(ctx context.Context, action, target string, details map[string]any, stderr io.Writer) {
	if err := t.auth.Audit(ctx, auth.System(t.actor), action, target, details); err != nil && stderr != nil {
		fmt.Fprintf(stderr, "rgpd : journal d'audit non écrit : %v\n", err)
	}
}

func (t *rgpdTools) export(ctx context.Context, who personaldata.Subject, format, out string, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	e, err := t.exports.Export(ctx, who)
	if err != nil {
		return err
	}
	t.audit(ctx, personaldata.ActionExport, e.Subject.Value(), map[string]any{"by": who.Kind(), "format": format,
		"requests": len(e.Requests), "cases": len(e.Cases), "page": "cli"}, nil)
	var data []byte
	if format == "texte" {
		data = []byte(e.Text())
	} else if data, err = json.MarshalIndent(e, "", "  "); err != nil {
		return err
	} else {
		data = append(data, '\n')
	}
	if out == "" {
		_, err = stdout.Write(data)
		return err
	}
	// Personal data: readable by its owner only.
	if err := os.WriteFile(out, data, 0o600); err != nil {
		return fmt.Errorf("rgpd export : %w", err)
	}
	fmt.Fprintf(stdout, "%d demande(s), %d dossier(s) de %s écrits dans %s\n", len(e.Requests), len(e.Cases), e.Subject.Describe(), out)
	return nil
}

func (t *rgpdTools) erase(ctx context.Context, who personaldata.Subject, reason string, stdout io.Writer) error {
	rep, err := t.retain.Erase(ctx, retention.Subject(who), reason, t.actor)
	if fault.KindOf(err) == fault.Conflict {
		t.audit(ctx, personaldata.ActionEraseRefused, who.Value(), map[string]any{"by": who.Kind(), "refusal": err.Error(), "page": "cli"}, nil)
		return refusal{err}
	}
	if rep.Cases+rep.Requests+rep.Files > 0 || err == nil {
		fmt.Fprintf(stdout, "données de %s effacées : %s\n", who.Describe(), reportCounts(rep))
	}
	return err
}

// refusal is an erasure refused for a reason the person can act on (a
// case open, a hold): said plainly on stderr.
type refusal struct{ err error }

func (r refusal) Error() string {
	msg := strings.TrimPrefix(r.err.Error(), "retention: ")
	if !strings.HasPrefix(msg, "effacement refusé") {
		msg = "effacement refusé : " + msg
	}
	return msg
}

func (r refusal) Unwrap() error { return r.err }

func (t *rgpdTools) retention(ctx context.Context, at time.Time, dryRun bool, stdout io.Writer) error {
	rep, err := t.retain.Apply(ctx, at, dryRun, t.actor)
	if dryRun {
		t.audit(ctx, personaldata.ActionRetention, "", map[string]any{"now": at.UTC().Format(time.RFC3339), "cases": rep.Cases,
			"requests": rep.Requests, "files": rep.Files, "page": "cli"}, nil)
	}
	if err != nil && rep.Cases+rep.Requests+rep.Files == 0 {
		return err
	}
	verb := "effacés"
	if dryRun {
		verb = "seraient effacés (simulation : rien n'a été effacé)"
	}
	fmt.Fprintf(stdout, "calendrier de conservation au %s : %s %s\n", frtime.Date(at), reportCounts(rep), verb)
	if len(rep.Purged.Cases) > 0 {
		shown := rep.Purged.Cases[:min(len(rep.Purged.Cases), 50)]
		more := ""
		if n := rep.Cases - len(shown); n > 0 {
			more = fmt.Sprintf(" et %d autre(s)", n)
		}
		fmt.Fprintf(stdout, "dossiers : %s%s\n", strings.Join(shown, ", "), more)
	}
	for _, r := range rep.Refused {
		fmt.Fprintf(stdout, "gardé : %s — %s\n", r.Ref, r.Reason)
	}
	return err
}

// reportCounts says what a purge took, in French.
func reportCounts(r retention.Report) string {
	return fmt.Sprintf("%d dossier(s), %d demande(s), %d fichier(s)", r.Cases, r.Requests, r.Files)
}

// rgpdRegister writes the register of processing from the catalogue and
// the configuration of `guichet serve` (the environment's settings).
func rgpdRegister(cfg Config, format string, stdout io.Writer) error {
	if format != "markdown" && format != "json" {
		return usageError{"rgpd registre : --format markdown ou json"}
	}
	cat, err := compose.LoadCatalogue(cfg.Router.Catalogue)
	if err != nil {
		return err
	}
	serve, _, err := parseConfig("serve", nil, io.Discard, nil)
	if err != nil {
		return err
	}
	r := personaldata.BuildRegister(cat, compose.RegisterConfig(serve))
	if format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	_, err = io.WriteString(stdout, r.Markdown())
	return err
}
