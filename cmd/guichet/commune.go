package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/ampmetropole/guichet/services/cases/territory"
)

// runCommune manages what Guichet knows of the communes' mairies:
// guichet commune contact --insee CODE --email ADRESSE sets the address a
// commune's handoffs (the requests redirected to its mairie) are sent to.
// A mairie's staff accounts are made with guichet account create --role
// commune --commune CODE.
func runCommune(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "contact" {
		return usageError{"commune : sous-commande attendue : contact --insee CODE --email ADRESSE"}
	}
	var insee, email *string
	cfg, rest, err := parseConfig("commune", args[1:], stderr, func(fs *flag.FlagSet) {
		insee = fs.String("insee", "", "code INSEE de la commune (ex. 13041 pour Gardanne)")
		email = fs.String("email", "", "adresse où envoyer les demandes transmises à la mairie (son accueil)")
	})
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{fmt.Sprintf("commune contact : argument inattendu %q", rest[0])}
	}
	places, err := territory.Load()
	if err != nil {
		return err
	}
	c, ok := places.ByINSEE(*insee)
	if !ok || !places.IsCommune(*insee) {
		return usageError{fmt.Sprintf("commune contact : --insee %q n'est le code d'aucune des 92 communes de la Métropole", *insee)}
	}
	if *email == "" {
		return usageError{"commune contact : --email est obligatoire"}
	}
	store, err := openToolStore(ctx, "commune contact", cfg, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.SetCommuneContact(ctx, *insee, *email, "guichet commune"); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "les demandes transmises à la mairie de %s seront envoyées à %s\n", c.Name, *email)
	return nil
}
