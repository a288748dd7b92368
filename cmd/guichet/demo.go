package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/staff/auth"
)

// demoAccount is an account `guichet dev` creates to try every role.
type demoAccount struct {
	login, name, role        string
	competences, territories []string
	what                     string
}

var demoAccounts = []demoAccount{
	{"agent-01", "Inès Haddad", auth.RoleAgent, nil, nil, "centre d'appels : console agent"},
	{"courrier-01", "Marc Rey", auth.RoleMailroom, nil, nil, "service courrier : /courrier"},
	{"voirie-mp", "Camille Roux", auth.RoleTeam, []string{"voirie"}, []string{"marseille-provence"}, "équipe voirie, Marseille-Provence"},
	{"dechets", "Julien Blanc", auth.RoleTeam, []string{"dechets", "proprete"}, nil, "équipes déchets et propreté, tous territoires"},
	{"superviseur", "Nadia Benali", auth.RoleSupervisor, nil, nil, "encadrement : tri, tableau de bord, toutes compétences"},
	{"admin", "Admin Guichet", auth.RoleAdmin, nil, nil, "administration : tout, journal d'audit"},
}

// demoPassword derives an account's password from the data folder's
// secret, so that it stays the same from one start to the next.
func demoPassword(secret, login string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("guichet demo account " + login))
	return strings.ToLower(base32.StdEncoding.EncodeToString(m.Sum(nil))[:16])
}

// ensureDemoAccounts creates the demo accounts that are missing and prints
// them with their passwords.
func ensureDemoAccounts(ctx context.Context, svc *auth.Service, secret string, w io.Writer) error {
	existing, err := svc.ListAccounts(ctx)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, a := range existing {
		have[a.Login] = true
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  Comptes de démonstration (identifiant, mot de passe, rôle) :")
	for _, d := range demoAccounts {
		pw := demoPassword(secret, d.login)
		if !have[d.login] {
			if _, err := svc.CreateAccount(ctx, d.login, d.name, d.role, pw, d.competences, d.territories); err != nil && fault.KindOf(err) != fault.Conflict {
				return fmt.Errorf("compte de démonstration %s : %w", d.login, err)
			}
		}
		fmt.Fprintf(tw, "    %s\t%s\t%s\n", d.login, pw, d.what)
	}
	return tw.Flush()
}
