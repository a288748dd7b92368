// Package territory knows the Métropole's 92 communes, their postal and INSEE
// codes and the territorial council each belongs to, and resolves the
// territory of a request from its commune or postal code.
package territory

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"fmt"
	"sort"
	"strings"
)

// Data: @etalab/decoupage-administratif 6.0.0 (communes, postal codes) and the
// DGFiP/DGCL commune → former EPCI table (territories); see shared/data/README.
//
//go:embed amp-communes.csv
var communesCSV []byte

//go:embed marseille-arrondissements.csv
var arrondissementsCSV []byte

// territories are the Métropole's six territorial councils, in the order
// they are listed: the code Guichet uses and the name used in the reference
// data. The JSON Schemas' territory lists say the same (a test holds them).
var territories = [...]struct{ code, name string }{
	{"marseille-provence", "Marseille-Provence"},
	{"pays-d-aix", "Pays d'Aix"},
	{"pays-salonais", "Pays Salonais"},
	{"pays-d-aubagne-etoile", "Pays d'Aubagne et de l'Étoile"},
	{"istres-ouest-provence", "Istres-Ouest Provence"},
	{"pays-de-martigues", "Pays de Martigues"},
}

// Codes lists the territory codes, Marseille-Provence first.
func Codes() []string {
	out := make([]string, len(territories))
	for i, t := range territories {
		out[i] = t.code
	}
	return out
}

// codeOf returns the code of the territory the reference data names.
func codeOf(name string) (string, bool) {
	for _, t := range territories {
		if t.name == name {
			return t.code, true
		}
	}
	return "", false
}

// Commune is one of the Métropole's communes.
type Commune struct {
	INSEE         string
	Name          string
	PostalCodes   []string
	Territory     string // code, e.g. pays-d-aix
	TerritoryName string
}

// Directory looks communes up by INSEE or postal code.
type Directory struct {
	byINSEE  map[string]*Commune
	byPostal map[string][]*Commune
	all      []*Commune
}

// Load reads the embedded reference data.
func Load() (*Directory, error) {
	rows, err := csv.NewReader(bytes.NewReader(communesCSV)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("territory: communes: %w", err)
	}
	d := &Directory{byINSEE: map[string]*Commune{}, byPostal: map[string][]*Commune{}}
	for i, r := range rows {
		if i == 0 {
			continue
		}
		if len(r) != 4 {
			return nil, fmt.Errorf("territory: communes line %d: want 4 columns, got %d", i+1, len(r))
		}
		code, ok := codeOf(r[3])
		if !ok {
			return nil, fmt.Errorf("territory: communes line %d: unknown territory %q", i+1, r[3])
		}
		c := &Commune{INSEE: r[0], Name: r[1], PostalCodes: strings.Fields(r[2]), Territory: code, TerritoryName: r[3]}
		d.byINSEE[c.INSEE] = c
		for _, pc := range c.PostalCodes {
			d.byPostal[pc] = append(d.byPostal[pc], c)
		}
		d.all = append(d.all, c)
	}
	arr, err := csv.NewReader(bytes.NewReader(arrondissementsCSV)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("territory: arrondissements: %w", err)
	}
	for i, r := range arr {
		if i == 0 {
			continue
		}
		if len(r) != 4 || d.byINSEE[r[3]] == nil {
			return nil, fmt.Errorf("territory: arrondissements line %d is malformed", i+1)
		}
		// An arrondissement's INSEE code stands for Marseille.
		d.byINSEE[r[0]] = d.byINSEE[r[3]]
	}
	sort.Slice(d.all, func(i, j int) bool { return d.all[i].Name < d.all[j].Name })
	return d, nil
}

// TerritoryName names a territory code ("pays-d-aix" → "Pays d'Aix"), or
// returns "" for an unknown one.
func TerritoryName(code string) string {
	for _, t := range territories {
		if t.code == code {
			return t.name
		}
	}
	return ""
}

// Communes lists the communes by name.
func (d *Directory) Communes() []*Commune { return d.all }

// IsCommune says whether insee is the code of one of the Métropole's
// communes (Marseille's own, not one of its arrondissements').
func (d *Directory) IsCommune(insee string) bool {
	c, ok := d.byINSEE[insee]
	return ok && c.INSEE == insee
}

// ByINSEE returns the commune with that INSEE code (an arrondissement code
// gives Marseille).
func (d *Directory) ByINSEE(code string) (*Commune, bool) {
	c, ok := d.byINSEE[code]
	return c, ok
}

// ByPostalCode returns the communes a postal code covers (several for 13600,
// 13100…).
func (d *Directory) ByPostalCode(pc string) []*Commune { return d.byPostal[pc] }

// Resolution is a resolved territory and how it was found.
type Resolution struct {
	Territory string
	Commune   *Commune // nil when only the postal code decided
	Reason    string   // French, shown to back-office agents
}

// Resolve finds the territory from an INSEE code, else from a postal code
// when every commune it covers lies in one territory.
func (d *Directory) Resolve(insee, postalCode string) (Resolution, bool) {
	if c, ok := d.byINSEE[insee]; ok && insee != "" {
		return Resolution{Territory: c.Territory, Commune: c,
			Reason: fmt.Sprintf("commune %s (%s) : territoire %s", c.Name, insee, c.TerritoryName)}, true
	}
	cs := d.byPostal[postalCode]
	if len(cs) == 0 {
		return Resolution{}, false
	}
	for _, c := range cs[1:] {
		if c.Territory != cs[0].Territory {
			return Resolution{}, false
		}
	}
	r := Resolution{Territory: cs[0].Territory,
		Reason: fmt.Sprintf("code postal %s : territoire %s", postalCode, cs[0].TerritoryName)}
	if len(cs) == 1 {
		r.Commune = cs[0]
	}
	return r, true
}
