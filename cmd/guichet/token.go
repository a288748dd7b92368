package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/auth"
	"github.com/ampmetropole/guichet/services/territory"
)

// listFlag collects a repeated flag ("--competence voirie --competence eau").
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for _, x := range strings.Split(v, ",") {
		if x = strings.TrimSpace(x); x != "" {
			*l = append(*l, x)
		}
	}
	return nil
}

// runToken creates or revokes API tokens: guichet token create --role ROLE
// [--competence C]… [--territory T]… [--name NAME] [--ttl 720h];
// guichet token revoke --name NAME.
func runToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "create" && args[0] != "revoke") {
		return usageError{"token : create ou revoke (guichet token create --role ROLE [--competence C] [--territory T] [--name NOM] [--ttl 720h])"}
	}
	fs := flag.NewFlagSet("token "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	var competences, territories listFlag
	role := fs.String("role", "", "rôle : "+strings.Join(auth.Roles(), ", "))
	fs.Var(&competences, "competence", "compétence du périmètre (répétable)")
	fs.Var(&territories, "territory", "territoire du périmètre (répétable ; aucun : tous)")
	name := fs.String("name", "", "nom du jeton (le système qui l'utilise), ex. telephonie")
	ttl := fs.Duration("ttl", 0, "durée de validité (0 : jusqu'à révocation)")
	data := fs.String("data", defaultDataDir(), "dossier de guichet dev, dont on lit l'adresse de la base quand DATABASE_URL n'est pas définie")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("token : argument inattendu %q", fs.Arg(0))}
	}
	if args[0] == "create" && !auth.ValidRole(*role) {
		return usageError{"token create : --role " + strings.Join(auth.Roles(), ", ")}
	}
	if *name == "" {
		if args[0] == "revoke" {
			return usageError{"token revoke : --name obligatoire"}
		}
		*name = *role + "-" + strings.Join(competences, "-")
		*name = strings.TrimSuffix(*name, "-")
	}
	store, err := openToolStore(ctx, "token", *data, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	cat, err := loadCatalogue(os.Getenv("GUICHET_CATALOGUE"))
	if err != nil {
		return err
	}
	svc, err := auth.New(auth.Config{Secret: "token-command-has-no-use-for-a-secret",
		KnownCompetence: func(c string) bool { return c == schemas.CompetenceTriage || cat.Known(c) },
		KnownTerritory:  func(t string) bool { return territory.TerritoryName(t) != "" }}, store.DB(), slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return err
	}
	if args[0] == "revoke" {
		if err := svc.RevokeToken(ctx, *name); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "jeton %s révoqué\n", *name)
		return nil
	}
	tok, err := svc.CreateToken(ctx, *name, *role, competences, territories, *ttl)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "jeton %s (%s) créé ; il ne sera plus affiché :\n", *name, *role)
	fmt.Fprintln(stdout, tok)
	return nil
}
