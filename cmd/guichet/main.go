// Command guichet runs Guichet, the Métropole's omnichannel citizen request
// router: `guichet dev` runs everything in one process, `guichet serve`
// runs chosen services against external NATS and PostgreSQL, `guichet
// migrate` applies the database migrations.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	_ "time/tzdata" // case references and dates use Europe/Paris wherever we run

	"github.com/ampmetropole/guichet/cmd/guichet/compose"
	redactlog "github.com/ampmetropole/guichet/services/platform/redact"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// command is one subcommand of guichet, as its usage lists it.
type command struct{ name, synopsis, what string }

// commands lists guichet's subcommands; the usage and each command's -h
// are written from it.
func commands() []command {
	return []command{
		{"dev", "[--addr HOST:PORT] [--data DIR] [...]", "tout en un processus (NATS et PostgreSQL embarqués)"},
		{"serve", "SERVICE... [--addr HOST:PORT]", "les services choisis sur NATS_URL et DATABASE_URL ; services : " + strings.Join(compose.Services, ", ")},
		{"migrate", "", "applique les migrations sur DATABASE_URL"},
		{"train", "[--data CORPUS] [--out MODELE]", "apprend le modèle de classification du corpus étiqueté"},
		{"route-eval", "FICHIER.jsonl [--json] [--errors]", "mesure le routage sur des demandes étiquetées"},
		{"export-training", "[--out FICHIER] [--since DATE]", "exporte les demandes classées par une personne (tri, réorientation)"},
		{"token", "create --role ROLE [--name NOM] [...] | revoke --name NOM", "crée ou révoque un jeton d'API (rôles des systèmes : telephony, partner, mailroom)"},
		{"account", "create --login L --role ROLE [...] | disable --login L | list", "gère les comptes du personnel"},
		{"rgpd", "export|erase|retention|hold|release|registre [...]", "données personnelles : tout ce qui est détenu sur une personne, effacement, durées de conservation, gels, registre des traitements"},
		{"bench", "[--requests N] [--concurrency C] [--rate R] [--json]", "mesure le débit de bout en bout et ses références"},
		{"seed", "[--cases N] [--seed S]", "remplit la base de dossiers synthétiques (mesures, démonstrations)"},
		{"footprint", "[--bench FICHIER] [--requests N] [--json]", "l'empreinte : CPU, énergie et CO2e pour 1 000 demandes, stockage par dossier, poids des pages"},
		{"commune", "contact --insee CODE --email ADRESSE", "adresse de la mairie à qui envoyer les demandes qui relèvent de sa commune"},
		{"opendata", "export --out DOSSIER [--seuil N] [--mois-en-cours]", "écrit les données ouvertes : demandes par mois, compétence, territoire, commune et canal (CSV, schéma, licence)"},
		{"version", "", "la version de ce binaire"},
	}
}

// usage is what `guichet` alone and `guichet -h` print.
func usage() string {
	var b strings.Builder
	b.WriteString("guichet — routeur omnicanal des demandes des citoyens\n\nUsage :\n")
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %s\n      %s\n", strings.TrimSpace("guichet "+c.name+" "+c.synopsis), c.what)
	}
	b.WriteString("\n\"guichet COMMANDE -h\" liste les options et variables d'environnement de chaque commande.\n")
	return b.String()
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage())
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch args[0] {
	case "dev":
		err = runDev(ctx, args[1:], stdout, stderr)
	case "serve":
		err = runServe(ctx, args[1:], stdout, stderr)
	case "migrate":
		err = runMigrate(ctx, args[1:], stderr)
	case "train":
		err = runTrain(ctx, args[1:], stdout, stderr)
	case "route-eval":
		err = runRouteEval(ctx, args[1:], stdout, stderr)
	case "export-training":
		err = runExportTraining(ctx, args[1:], stdout, stderr)
	case "token":
		err = runToken(ctx, args[1:], stdout, stderr)
	case "bench":
		err = runBench(ctx, args[1:], stdout, stderr)
	case "seed":
		err = runSeed(ctx, args[1:], stdout, stderr)
	case "account":
		err = runAccount(ctx, args[1:], os.Stdin, stdout, stderr)
	case "rgpd":
		err = runRGPD(ctx, args[1:], stdout, stderr)
	case "opendata":
		err = runOpenData(ctx, args[1:], stdout, stderr)
	case "commune":
		err = runCommune(ctx, args[1:], stdout, stderr)
	case "footprint":
		err = runFootprint(ctx, args[1:], stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "guichet", version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage())
	default:
		fmt.Fprintf(stderr, "guichet: commande inconnue %q\n\n%s", args[0], usage())
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		reportError(stderr, err)
		var ue usageError
		if errors.As(err, &ue) {
			return 2
		}
		return 1
	}
	return 0
}

// reportError writes why guichet ends: one JSON line when the logs are JSON
// (GUICHET_LOG_FORMAT=json, so that a collector reads it like every other
// line), else a sentence.
func reportError(w io.Writer, err error) {
	if os.Getenv("GUICHET_LOG_FORMAT") == "json" {
		slog.New(redactlog.New(slog.NewJSONHandler(w, nil))).Error("guichet: arrêt sur erreur", "err", err.Error())
		return
	}
	fmt.Fprintf(w, "guichet: %v\n", err)
}

// usageError is a mistake on the command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// newLogger is the logger of the process. Every record goes through the
// redaction (services/platform/redact) before it is written: logs carry no
// e-mail address, phone number, name or free text of a citizen.
func newLogger(cfg compose.LogConfig, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.Level}
	if cfg.Format == "json" {
		return slog.New(redactlog.New(slog.NewJSONHandler(w, opts)))
	}
	return slog.New(redactlog.New(slog.NewTextHandler(w, opts)))
}
