package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/ampmetropole/guichet/cmd/guichet/compose"
	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/territory"
	redactlog "github.com/ampmetropole/guichet/services/platform/redact"
	"github.com/ampmetropole/guichet/services/staff/auth"
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
	var competences, territories listFlag
	var role, name *string
	var ttl *time.Duration
	cfg, rest, err := parseConfig("token", args[1:], stderr, func(fs *flag.FlagSet) {
		role = fs.String("role", "", "rôle : "+strings.Join(auth.Roles(), ", "))
		fs.Var(&competences, "competence", "compétence du périmètre (répétable)")
		fs.Var(&territories, "territory", "territoire du périmètre (répétable ; aucun : tous)")
		name = fs.String("name", "", "nom du jeton (le système qui l'utilise), ex. telephonie")
		ttl = fs.Duration("ttl", 0, "durée de validité (0 : jusqu'à révocation)")
	})
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{fmt.Sprintf("token : argument inattendu %q", rest[0])}
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
	svc, closeStore, err := openToolAuth(ctx, "token", cfg, stderr)
	if err != nil {
		return err
	}
	defer closeStore()
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

// openToolAuth opens the accounts and tokens for a command run beside
// Guichet (see openToolStore); close closes the database.
func openToolAuth(ctx context.Context, cmd string, cfg Config, stderr io.Writer) (*auth.Service, func(), error) {
	store, err := openToolStore(ctx, cmd, cfg, stderr)
	if err != nil {
		return nil, nil, err
	}
	cat, err := compose.LoadCatalogue(cfg.Router.Catalogue)
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	places, err := territory.Load()
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	// The secret keys CSRF tokens and sign-in state, which a command never
	// makes.
	svc, err := auth.New(auth.Config{Secret: "command-line-tools-sign-nothing",
		KnownCompetence: func(c string) bool { return c == schemas.CompetenceTriage || cat.Known(c) },
		KnownTerritory:  func(t string) bool { return territory.TerritoryName(t) != "" },
		KnownCommune:    places.IsCommune}, store.DB(), slog.New(redactlog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return svc, store.Close, nil
}

// runAccount manages staff accounts: guichet account create --login L
// --role ROLE [--name "Prénom Nom"] [--competence C]… [--territory T]…
// [--oidc] (the password is read from standard input, or generated and
// printed); guichet account disable --login L; guichet account list.
func runAccount(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "create" && args[0] != "disable" && args[0] != "list") {
		return usageError{"account : create, disable ou list (guichet account create --login L --role ROLE [--name N] [--competence C] [--territory T] [--commune INSEE] [--oidc])"}
	}
	var competences, territories, communes listFlag
	var login, name, role *string
	var oidc, passwordStdin *bool
	cfg, rest, err := parseConfig("account", args[1:], stderr, func(fs *flag.FlagSet) {
		login = fs.String("login", "", "identifiant (pour OpenID Connect : l'adresse électronique que donne le fournisseur)")
		name = fs.String("name", "", "nom affiché")
		role = fs.String("role", "", "rôle : "+strings.Join(auth.Roles(), ", "))
		fs.Var(&competences, "competence", "compétence du périmètre (répétable ; obligatoire pour team)")
		fs.Var(&territories, "territory", "territoire du périmètre (répétable ; aucun : tous)")
		fs.Var(&communes, "commune", "code INSEE d'une commune, pour le rôle commune (répétable ; au moins une)")
		oidc = fs.Bool("oidc", false, "compte sans mot de passe, qui se connecte par OpenID Connect")
		passwordStdin = fs.Bool("password-stdin", false, "lit le mot de passe sur l'entrée standard (sinon il est généré et affiché)")
	})
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{fmt.Sprintf("account : argument inattendu %q", rest[0])}
	}
	if args[0] != "list" && *login == "" {
		return usageError{"account " + args[0] + " : --login obligatoire"}
	}
	if args[0] == "create" && !auth.ValidRole(*role) {
		return usageError{"account create : --role " + strings.Join(auth.Roles(), ", ")}
	}
	svc, closeStore, err := openToolAuth(ctx, "account", cfg, stderr)
	if err != nil {
		return err
	}
	defer closeStore()
	switch args[0] {
	case "list":
		accounts, err := svc.ListAccounts(ctx)
		if err != nil {
			return err
		}
		for _, a := range accounts {
			state := ""
			if a.Disabled {
				state = " (désactivé)"
			}
			where := strings.Join(a.Territories, ",")
			if a.Role == auth.RoleCommune {
				where = strings.Join(a.Communes, ",")
			}
			fmt.Fprintf(stdout, "%s\t%s\t%s\t%s\t%s%s\n", a.Login, a.Role, strings.Join(a.Competences, ","), where, a.DisplayName, state)
		}
		return nil
	case "disable":
		if err := svc.Disable(ctx, *login); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "compte %s désactivé\n", *login)
		return nil
	}
	password, shown := "", false
	switch {
	case *oidc:
	case *passwordStdin:
		b, err := io.ReadAll(io.LimitReader(stdin, 1024))
		if err != nil {
			return err
		}
		password = strings.TrimRight(string(b), "\r\n")
	default:
		password, shown = rand.Text(), true
	}
	if *name == "" {
		*name = *login
	}
	if *role == auth.RoleCommune {
		if len(competences) > 0 || len(territories) > 0 {
			return usageError{"account create : un compte de mairie a des communes (--commune), ni compétence ni territoire"}
		}
		if _, err := svc.CreateCommuneAccount(ctx, *login, *name, password, communes); err != nil {
			return err
		}
	} else if len(communes) > 0 {
		return usageError{"account create : --commune ne va qu'avec --role commune"}
	} else if _, err := svc.CreateAccount(ctx, *login, *name, *role, password, competences, territories); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "compte %s (%s) créé\n", *login, *role)
	if shown {
		fmt.Fprintf(stderr, "mot de passe (il ne sera plus affiché) :\n")
		fmt.Fprintln(stdout, password)
	}
	return nil
}
