package incident

import (
	"strings"
	"testing"
	"time"
)

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"Bd National":             " boulevard national ",
		"av. Frédéric-Mistral":    " avenue frederic mistral ",
		"rue St Pierre, n°40":     " rue saint pierre numero 40 ",
		"L'école des Tilleuls !!": " l ecole des tilleuls ",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStreets(t *testing.T) {
	for _, c := range []struct {
		text, key string
		number    int // 0: none
	}{
		{"les conteneurs devant le 12 boulevard National débordent", "national", 12},
		{"les bacs du 12 bd national sont pleins", "national", 12},
		{"le trou de l'av Mistral devant la boulangerie", "mistral", 0},
		{"nid-de-poule avenue Frédéric Mistral, en face", "mistral", 0},
		{"c'est toute la rue Saint-Pierre qui est éteinte", "pierre", 0},
		{"au 23 rue du Tapis-Vert", "vert", 23},
		{"des tags sur le mur de l'école élémentaire des Tilleuls", "tilleuls", 0},
		{"un pin tombé dans le parc de la Campagne Pastré", "~pastre", 0},
		// Each place type starts its own reading: the school does not
		// swallow the street after it.
		{"le mur de l'école élémentaire des Tilleuls côté chemin de la Rose", "rose", 0},
		{"l'allée principale du parc de la Campagne Pastré", "~pastre", 0},
		{"aucun bus de la ligne 3 ce matin", "ligne 3", 0},
		{"au pied du bâtiment B de la résidence Les Amarres", "amarres", 0},
		{"trente et un avenue des chartreux", "chartreux", 31},
		{"le lampadaire devant le 4 rue Sainte est éteint", "sainte", 4},
	} {
		streets, numbers := streetKeys(digits(Normalize(c.text)))
		if !streets[c.key] {
			t.Errorf("%q: streets %v, want %q", c.text, streets, c.key)
		}
		if numbers[c.key] != c.number {
			t.Errorf("%q: number %d, want %d", c.text, numbers[c.key], c.number)
		}
	}
}

func TestDigits(t *testing.T) {
	for in, want := range map[string]string{
		"trente et un avenue des chartreux": " 31 avenue des chartreux ",
		"vers le quatre-vingt à côté":       " vers le 80 a cote ",
		"quatre-vingt-dix-sept rue":         " 97 rue ",
		"soixante et onze":                  " 71 ",
		"cent douze rue Paradis":            " 112 rue paradis ",
		"la ligne trois est interrompue":    " la ligne 3 est interrompue ",
		"un trou et deux plots":             " un trou et 2 plots ",
	} {
		if got := digits(Normalize(in)); got != want {
			t.Errorf("digits(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestObjects(t *testing.T) {
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{"un lampadaire éteint", "toute la rue est dans le noir", true},
		{"un nid-de-poule dans la chaussée", "le lampadaire ne s'allume plus", false},
		{"les conteneurs débordent", "les poubelles n'ont pas été ramassées", true},
		{"fuite d'eau, un geyser sort du trottoir", "les poubelles débordent", false},
		{"l'abribus a ses vitres brisées", "le bus de la ligne 3 ne passe plus", false},
	} {
		if got := sharesObject(objectsOf(Normalize(c.a)), objectsOf(Normalize(c.b))); got != c.same {
			t.Errorf("%q / %q: same object %v, want %v", c.a, c.b, got, c.same)
		}
	}
}

func ptr(f float64) *float64 { return &f }

func TestCompare(t *testing.T) {
	cfg := DefaultConfig()
	at := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	base := Report{Competence: "voirie", Commune: "13055", Postal: "13006", At: at,
		Text: "Nid-de-poule devant le 112 rue Paradis, les scooters l'évitent au dernier moment."}
	with := func(f func(r *Report)) Report {
		r := base
		r.At = at.Add(6 * time.Hour)
		f(&r)
		return r
	}
	for _, c := range []struct {
		name string
		r    Report
		link bool
		veto string // the reason code when not even suggested
	}{
		{"same pothole, next number", with(func(r *Report) { r.Text = "un trou profond dans la chaussée au 110 rue Paradis" }), true, ""},
		{"same pothole, no number", with(func(r *Report) { r.Text = "il y a un énorme nid de poule rue Paradis" }), true, ""},
		{"numbers far apart", with(func(r *Report) { r.Text = "nid-de-poule devant le 80 rue Paradis" }), false, "numero"},
		{"another street", with(func(r *Report) { r.Text = "nid-de-poule devant le 40 rue Breteuil" }), false, "lieu"},
		{"another object", with(func(r *Report) { r.Competence = "voirie"; r.Text = "le lampadaire du 112 rue Paradis est éteint" }), false, "objet"},
		{"another competence", with(func(r *Report) { r.Competence = "eclairage" }), false, "competence"},
		{"another arrondissement", with(func(r *Report) { r.Postal = "13008" }), false, "zone"},
		{"outside the window", with(func(r *Report) { r.At = at.Add(60 * 24 * time.Hour) }), false, "delai"},
		{"earlier than the other", with(func(r *Report) { r.At = at.Add(-time.Hour) }), false, "delai"},
		{"after a repair", with(func(r *Report) {
			r.At = at.Add(12 * 24 * time.Hour)
			r.Text = "le trou du 112 rue Paradis avait été réparé le 5 novembre mais il est de nouveau là"
		}), false, "recidive"},
		{"an event months ago", with(func(r *Report) {
			r.Text = "je demande le remboursement de mes jantes abîmées par le nid-de-poule du 112 rue Paradis le 12 août"
		}), false, "ancien"},
		{"the caller says it is another one", with(func(r *Report) {
			r.Text = "un nid-de-poule rue Paradis"
			r.Agent = []AgentTurn{{Question: "c'est pour le trou déjà signalé rue Paradis ?", Answer: "non non c'est un autre plus bas"}}
		}), false, "pas_cet_incident"},
		{"the caller names another place than the agent's", with(func(r *Report) {
			r.Text = "un nid-de-poule devant le 112 rue Paradis"
			r.Agent = []AgentTurn{{Question: "nous avons déjà un signalement au 40 rue Breteuil, c'est le même ?", Answer: "non moi c'est rue Paradis"}}
		}), true, ""},
		{"the agent's place left out of the caller's", with(func(r *Report) {
			r.Text = "un nid-de-poule devant le 40 rue Paradis"
			r.Agent = []AgentTurn{{Question: "nous avons déjà un signalement au 112 rue Paradis, vous êtes là ?", Answer: "non non plus bas vers le 40"}}
		}), false, "pas_cet_incident"},
		{"a street named after a date", with(func(r *Report) {
			r.Text = "nid-de-poule au 112 rue Paradis, à l'angle de la rue du 4 Septembre"
		}), true, ""},
		{"the sender's own street, which the letter points at", with(func(r *Report) {
			r.Text = "la chaussée s'est effondrée, un trou énorme devant chez moi"
			r.Home = "110, rue Paradis\n13006 Marseille"
		}), true, ""},
		{"the sender's street, which the letter does not point at", with(func(r *Report) {
			r.Text = "un trou énorme dans la chaussée"
			r.Home = "110, rue Paradis\n13006 Marseille"
		}), false, "lieu"},
		{"located 25 m apart", with(func(r *Report) {
			r.Text, r.Lat, r.Lon = "trou dans la chaussée, très dangereux", ptr(43.2883), ptr(5.3793)
		}), false, "lieu"},
	} {
		old := base
		if c.name == "located 25 m apart" {
			old.Lat, old.Lon = ptr(43.2881), ptr(5.3791)
			c.link = true
		}
		conf, reasons := Compare(cfg, c.r, old)
		if got := conf >= cfg.LinkAbove; got != c.link {
			t.Errorf("%s: confidence %.2f (%v), want link %v", c.name, conf, reasons, c.link)
		}
		if c.link && len(reasons) == 0 {
			t.Errorf("%s: linked without reasons", c.name)
		}
		if !c.link && conf == 0 && (len(reasons) != 1 || reasons[0].Code != c.veto) {
			t.Errorf("%s: reasons %v, want veto %q", c.name, reasons, c.veto)
		}
	}
}

// TestRiverPlacesAReport: a river's name places a report as a street
// does, within one commune; an unnamed landmark alone does not link.
func TestRiverPlacesAReport(t *testing.T) {
	cfg := DefaultConfig()
	at := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	first := Report{Competence: "environnement", Commune: "13103", Postal: "13300", At: at,
		Text: "Une nappe irisée sur la Touloubre au niveau de la passerelle, forte odeur de gasoil."}
	for _, c := range []struct {
		name, text, commune string
		link                bool
	}{
		{"the same river, other words", "ça sent le fioul et l'eau a des reflets arc-en-ciel sur la touloubre sous le petit pont", "13103", true},
		{"the same river in another commune", "du fioul sur la touloubre", "13041", false},
		{"another river", "une nappe de fioul sur l'huveaune", "13103", false},
		{"only a bridge", "une odeur de fioul vers le pont", "13103", false},
	} {
		r := first
		r.At, r.Text, r.Commune = at.Add(3*time.Hour), c.text, c.commune
		if c.commune != first.Commune {
			r.Postal = ""
		}
		conf, reasons := Compare(cfg, r, first)
		if got := conf >= cfg.LinkAbove; got != c.link {
			t.Errorf("%s: confidence %.2f (%v), want link %v", c.name, conf, reasons, c.link)
		}
	}
}

// TestDecide checks that an incident is ruled out as a whole when any of
// its reports conflicts with the new one, and that cases still alone that
// are sure matches join together.
func TestDecide(t *testing.T) {
	cfg := DefaultConfig()
	at := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	rep := func(text string, h int) Report {
		return Report{Competence: "dechets", Commune: "13055", Postal: "13003", At: at.Add(time.Duration(h) * time.Hour), Text: text}
	}
	cands := []Candidate{
		{CaseID: 1, Incident: "INC-2026-000001", Report: rep("les conteneurs devant le 12 boulevard National débordent", 0)},
		{CaseID: 2, Incident: "INC-2026-000001", Report: rep("les poubelles du boulevard National sont pleines", 2)},
	}
	if d, ok := Decide(cfg, rep("les bacs devant le 80 boulevard National débordent", 5), cands); ok && d.Link {
		t.Errorf("no. 80 joined the incident of no. 12: %+v", d)
	}
	d, ok := Decide(cfg, rep("les bacs du 12 bd national sont toujours pleins", 30), cands)
	if !ok || !d.Link || d.Incident != "INC-2026-000001" {
		t.Errorf("no. 12 again: %+v %v", d, ok)
	}
	alone := []Candidate{{CaseID: 7, Report: rep("les conteneurs devant le 12 boulevard National débordent", 0)}}
	d, ok = Decide(cfg, rep("bacs qui débordent au 12 bd National", 3), alone)
	if !ok || !d.Link || d.Incident != "" || len(d.Cases) != 1 || d.Cases[0] != 7 {
		t.Errorf("two cases alone: %+v %v", d, ok)
	}
}

// TestKnownIncident: when an agent speaks of the incident under way in
// the sector, a shared quartier places a report; without it, the quartier
// alone is too large.
func TestKnownIncident(t *testing.T) {
	cfg := DefaultConfig()
	at := time.Date(2026, 11, 7, 2, 0, 0, 0, time.UTC)
	old := Report{Competence: "eau_assainissement", Commune: "13055", Postal: "13004", At: at,
		Text: "une fuite énorme, un geyser sort du trottoir avenue des Chartreux"}
	call := Report{Competence: "eau_assainissement", Commune: "13055", Postal: "13004", At: at.Add(5 * time.Hour),
		Text: "plus une goutte d'eau au robinet, des pompiers dans le quartier des Chartreux"}
	if conf, why := Compare(cfg, call, old); conf >= cfg.LinkAbove {
		t.Errorf("a quartier alone linked: %.2f %v", conf, why)
	}
	call.Agent = []AgentTurn{{Question: "oui madame il y a eu une rupture de canalisation cette nuit dans le secteur, les équipes sont sur place", Answer: "et ça va durer longtemps"}}
	if conf, why := Compare(cfg, call, old); conf < cfg.LinkAbove {
		t.Errorf("the agent's known incident not linked: %.2f %v", conf, why)
	}
	call.Commune = "13001" // the sector must be the same
	if conf, why := Compare(cfg, call, old); conf >= cfg.LinkAbove {
		t.Errorf("another commune linked: %.2f %v", conf, why)
	}
}

// TestNeeds: a case that would change competence to join links only at
// its own, higher threshold.
func TestNeeds(t *testing.T) {
	cfg := DefaultConfig()
	at := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	rep := Report{Competence: "voirie", Commune: "13055", Postal: "13006", At: at, Text: "nid-de-poule rue Paradis"}
	later := rep
	later.At = at.Add(time.Hour)
	conf, _ := Compare(cfg, later, rep)
	if conf < cfg.LinkAbove {
		t.Fatalf("baseline not linked: %.2f", conf)
	}
	if d, ok := Decide(cfg, later, []Candidate{{CaseID: 1, Report: rep, Needs: conf + 0.05}}); ok {
		t.Errorf("linked or suggested below its threshold: %+v", d)
	}
	if d, ok := Decide(cfg, later, []Candidate{{CaseID: 1, Report: rep, Needs: conf}}); !ok || !d.Link || len(d.Cases) != 1 {
		t.Errorf("not linked at its threshold: %+v %v", d, ok)
	}
}

// FuzzCompare: any words from outside, in either report, give a
// confidence in [0,1] without panicking.
func FuzzCompare(f *testing.F) {
	f.Add("trente et un avenue des chartreux", "non non plus haut vers le quatre-vingt", "12 rue du 4 septembre")
	f.Add("la ligne trois et vingt et", "deja signale ?", "cent cent mille et un")
	f.Fuzz(func(t *testing.T, a, q, b string) {
		at := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
		ra := Report{Competence: "voirie", Text: a + " nid de poule rue x", Agent: []AgentTurn{{Question: q, Answer: "non " + b}}, Home: b, At: at.Add(time.Hour)}
		rb := Report{Competence: "voirie", Text: b + " trou rue x", At: at}
		conf, _ := Compare(DefaultConfig(), ra, rb)
		if conf < 0 || conf > 1 {
			t.Fatalf("confidence %v", conf)
		}
		_ = Placed(ra)
	})
}

func TestDescribe(t *testing.T) {
	at := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	a := Report{Competence: "eau_assainissement", Commune: "13055", Postal: "13004", At: at,
		Text: "Un geyser sort du trottoir devant le 31 avenue des Chartreux, en face de la pharmacie. Signalé par Mme Ruggieri."}
	b := a
	b.At, b.Text = at.Add(time.Hour), "fuite énorme avenue des Chartreux devant la pharmacie"
	_, reasons := Compare(DefaultConfig(), b, a)
	label, place := Describe(a, reasons)
	if label != "fuite d'eau" || place != "avenue des chartreux, pharmacie" {
		t.Errorf("Describe = %q, %q", label, place)
	}
	if strings.Contains(strings.ToLower(label+place), "ruggieri") || strings.Contains(place, "31") {
		t.Errorf("a person or a house number in %q, %q", label, place)
	}
}
