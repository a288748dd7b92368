package extract

import (
	"strings"
	"testing"
)

// placeOf is the place part of the facts.
type placeOf struct{ pc, insee, name string }

func TestLocalities(t *testing.T) {
	e, _ := setup(t)
	marseille := func(pc string) placeOf { return placeOf{pc, "13055", "Marseille"} }
	aix := func(pc string) placeOf { return placeOf{pc, "13001", "Aix-en-Provence"} }
	tests := []struct {
		name string
		in   string
		want placeOf
	}{
		// Written: web forms and letters.
		{"street named after its quartier, with a number", "Lampadaire éteint devant le 47 bd de la Valbarelle.", marseille("13011")},
		{"famous street", "Des tags partout sur la Canebière.", marseille("13001")},
		{"famous street misspelt", "sur la Cannebière devant le métro", marseille("13001")},
		{"quartier after quartier", "Je vous écris au sujet des poubelles, quartier Noailles.", marseille("13001")},
		{"quartier with a hyphen", "Un nid-de-poule à Château-Gombert.", marseille("13013")},
		{"elided article", "Le trottoir est défoncé à l'Estaque.", marseille("13016")},
		{"landmark", "Les bancs du Vieux-Port sont cassés", marseille("13001")},
		{"landmark abbreviated", "en montant à ND de la Garde", marseille("13006")},
		{"saint abbreviated", "j'habite St-Barnabé", marseille("13012")},
		{"sainte abbreviated", "à Ste Marthe près de l'école", marseille("13014")},
		{"digits in a name", "aux 3 Lucs", marseille("13012")},
		{"square without article", "Travaux place Castellane", marseille("13006")},
		{"cité with its article", "Les encombrants à la Castellane", marseille("")},
		{"letter address block", "Madame Sophie Martin\n12 bd de la Valbarelle\nMARSEILLE\n\nMadame, Monsieur,", marseille("13011")},
		{"aix quartier", "Je suis à Aix, au Jas de Bouffan.", aix("13090")},
		{"aix quartier alone", "Problème d'éclairage à Encagnane", aix("13090")},
		{"aix hamlet alias gives its code", "j'habite aux Milles", aix("13290")},
		{"aix street with its commune", "cours mirabeau à aix", aix("13100")},
		{"aix street introduced", "les platanes sur le cours Mirabeau", aix("13100")},
		{"aix street", "boulevard du Roi René, un arbre est tombé", aix("13100")},
		{"istres hamlet", "à Entressen", placeOf{"13118", "13047", "Istres"}},
		{"martigues hamlet", "la plage de Carro est sale", placeOf{"13500", "13056", "Martigues"}},
		{"la ciotat quartier", "au Liouquet", placeOf{"13600", "13028", "La Ciotat"}},
		{"allauch hamlet", "au Logis-Neuf", placeOf{"13190", "13002", "Allauch"}},

		// Spoken: transcripts, lower case, no punctuation.
		{"spoken olives", "oui bonjour euh en bas de chez moi aux olives il y a un dépôt sauvage", marseille("13013")},
		{"spoken belle de mai", "alors c'est à la belle de mai euh rue", marseille("13003")},
		{"spoken rose", "j habite à la rose et le lampadaire clignote", marseille("13013")},
		{"spoken with arrondissement", "j habite aux olives dans le treizieme voila", marseille("13013")},
		{"spoken canebiere", "euh sur la canebiere devant le", marseille("13001")},
		{"spoken pointe rouge", "on est à la pointe rouge", marseille("13008")},
		{"spoken frais vallon", "je suis à frais vallon", marseille("13013")},
		{"spoken quartier du panier", "dans le quartier du panier", marseille("13002")},
		{"spoken jas de bouffan", "c'est au jas de bouffan à côté", aix("13090")},
		{"spoken prepaou", "j'habite au prépaou", placeOf{"13800", "13047", "Istres"}},

		// What the text states wins.
		{"commune wins", "à la rose à Allauch", placeOf{"", "13002", "Allauch"}},
		{"postal code wins", "Saint-Barnabé, 13004 Marseille", marseille("13004")},
		{"postal code said wins", "aux olives treize mille douze", marseille("13012")},
		{"commune agrees: the place's code", "à Marseille à la Belle de Mai", marseille("13003")},
		{"commune disagrees: the commune alone", "à Aubagne vers la Valentine", placeOf{"", "13005", "Aubagne"}},
		{"shared code: the place chooses", "13600 Fontsainte", placeOf{"13600", "13028", "La Ciotat"}},
		{"code of several communes: the place chooses", "13100 Val Saint-André", aix("13100")},
		{"alias of a commune wins over a quartier", "à saint mitre", placeOf{"", "13098", "Saint-Mitre-les-Remparts"}},
		{"porte d'aix is in marseille", "sous la porte d'Aix", placeOf{"", "13055", "Marseille"}},
		{"generic street with its commune", "rue de la république à marseille", marseille("13002")},
		{"town hall with its commune", "à l'hôtel de ville de marseille", marseille("13002")},

		// Not places.
		{"common word rose", "une rose dans le jardin", placeOf{}},
		{"la république", "la république française", placeOf{}},
		{"partitive olives", "des olives dans la salade", placeOf{}},
		{"elided olives", "un pot d'olives", placeOf{}},
		{"partitive merlan", "j'ai acheté du merlan", placeOf{}},
		{"crottes", "il y a des crottes de chien partout dans la rue", placeOf{}},
		{"crottes after a preposition", "je marche dans les crottes", placeOf{}},
		{"plage", "je suis allée à la plage", placeOf{}},
		{"conception", "la conception du projet", placeOf{}},
		{"doctors", "les médecins sont en grève", placeOf{}},
		{"basket", "un panier de fruits", placeOf{}},
		{"town hall alone", "j'ai écrit à l'hôtel de ville", placeOf{}},
		{"generic street alone", "un trou dans la chaussée rue de la république", placeOf{}},
		{"street with a number, no introduction", "sur place il y a un trou au 14 cours mirabeau", placeOf{}},
		{"inside another word", "les rosiers et les oliviers du canebierement", placeOf{}},
		{"crown", "le dentiste a posé une couronne", placeOf{}},
		{"punctuation splits a name", "la belle. De mai à juin", placeOf{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := e.Extract(tt.in)
			if got := (placeOf{f.PostalCode, f.CommuneINSEE, f.CommuneName}); got != tt.want {
				t.Errorf("Extract(%q) place = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestLocalityKeepsAddress(t *testing.T) {
	e, _ := setup(t)
	f := e.Extract("devant le 47 bd de la Valbarelle")
	if f.Address != "47 boulevard de la Valbarelle" || f.PostalCode != "13011" {
		t.Errorf("got %+v", f)
	}
}

// officialQuartiers are Marseille's 111 quartiers by arrondissement.
var officialQuartiers = map[string]string{
	"13001": "Belsunce, Le Chapitre, Noailles, L'Opéra, Saint-Charles, Thiers",
	"13002": "Arenc, Les Grands-Carmes, L'Hôtel de Ville, La Joliette",
	"13003": "La Belle de Mai, Saint-Lazare, Saint-Mauront, La Villette",
	"13004": "La Blancarde, Les Chartreux, Chutes-Lavie, Les Cinq-Avenues",
	"13005": "Baille, Le Camas, La Conception, Saint-Pierre",
	"13006": "Castellane, Lodi, Notre-Dame-du-Mont, Le Palais de Justice, La Préfecture, Vauban",
	"13007": "Bompard, Endoume, Les Îles, Le Pharo, Le Roucas-Blanc, Saint-Lambert, Saint-Victor",
	"13008": "Bonneveine, Les Goudes, Montredon, Périer, La Plage, La Pointe-Rouge, Le Rouet, Sainte-Anne, Saint-Giniez, La Vieille-Chapelle",
	"13009": "Les Baumettes, Le Cabot, Carpiagne, Mazargues, La Panouse, Le Redon, Sainte-Marguerite, Sormiou, Vaufrèges",
	"13010": "La Capelette, Menpenti, Pont-de-Vivaux, Saint-Loup, Saint-Tronc, La Timone",
	"13011": "Les Accates, La Barasse, Les Camoins, Éoures, La Millière, La Pomme, Saint-Marcel, Saint-Menet, La Treille, La Valbarelle, La Valentine",
	"13012": "Les Caillols, La Fourragère, Montolivet, Saint-Barnabé, Saint-Jean-du-Désert, Saint-Julien, Les Trois-Lucs",
	"13013": "Château-Gombert, La Croix-Rouge, Malpassé, Les Médecins, Les Mourets, Les Olives, Palama, La Rose, Saint-Jérôme, Saint-Just, Saint-Mitre",
	"13014": "Les Arnavaux, Bon-Secours, Le Canet, Le Merlan, Saint-Barthélémy, Saint-Joseph, Sainte-Marthe",
	"13015": "Les Aygalades, Les Borels, La Cabucelle, La Calade, Les Crottes, La Delorme, Notre-Dame-Limite, Saint-Antoine, Saint-Louis, Verduron, La Viste",
	"13016": "L'Estaque, Les Riaux, Saint-André, Saint-Henri",
}

// TestMarseilleQuartiers checks that each official quartier is in the
// gazetteer with its arrondissement, found from its name written out.
func TestMarseilleQuartiers(t *testing.T) {
	tbl := localities()
	n := 0
	for pc, names := range officialQuartiers {
		for name := range strings.SplitSeq(names, ", ") {
			n++
			d := newDoc(name)
			l, end, _ := d.localityAt(tbl, d.skipArticle())
			switch {
			case l == nil || end != len(d.t):
				t.Errorf("%s: not found", name)
			case l.pc != pc || l.insee != "132"+pc[3:] || l.kind != "quartier":
				t.Errorf("%s: %s %s %s, want %s", name, l.insee, l.pc, l.kind, pc)
			}
		}
	}
	if n != 111 {
		t.Errorf("%d official quartiers, want 111", n)
	}
}

// skipArticle is the index of a name's first word after its article.
func (d *doc) skipArticle() int {
	if len(d.t) > 1 && articles[d.t[0].w] {
		return 1
	}
	return 0
}

// TestLocalitiesFile checks every place of the gazetteer: a Métropole
// commune or Marseille arrondissement, a postal code of its own, no name
// twice, and each name found in a sentence.
func TestLocalitiesFile(t *testing.T) {
	e, dir := setup(t)
	tbl, err := parseLocalities(localitiesCSV)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	counts := map[string]int{}
	total := 0
	for key, ls := range tbl {
		for _, l := range ls {
			if key != l.words[0] || key == "nd" {
				continue // "st", "bd"… and "ND de la Garde" copies
			}
			total++
			c, ok := dir.ByINSEE(l.insee)
			if !ok {
				t.Errorf("%s: INSEE %s is not the Métropole's", l.name, l.insee)
				continue
			}
			counts[c.Name]++
			if l.pc != "" && !strings.Contains(strings.Join(c.PostalCodes, " "), l.pc) {
				t.Errorf("%s: %s is not a postal code of %s", l.name, l.pc, c.Name)
			}
			if strings.HasPrefix(l.insee, "132") && l.pc != "130"+l.insee[3:] {
				t.Errorf("%s: arrondissement %s with postal code %s", l.name, l.insee, l.pc)
			}
			if l.insee == "13055" && l.pc != "" {
				t.Errorf("%s: Marseille without arrondissement has postal code %s", l.name, l.pc)
			}
			k := l.article + " " + strings.Join(l.words, " ")
			if prev, dup := seen[k]; dup {
				t.Errorf("%s: same name as %s", l.name, prev)
			}
			seen[k] = l.name

			// Found with its name in a sentence, introduced, its commune
			// named for the generic ones; unless the name is also a
			// commune's, which wins ("Saint-Mitre").
			if d := newDoc(l.name); func() bool { _, n := e.communeAt(d, 0); return n == len(d.t) }() {
				continue
			}
			in := "le problème est à " + l.name + " depuis hier"
			if l.prep == locStrict {
				in = "le problème est quartier " + l.name + " à " + c.Name
			}
			f := e.Extract(in)
			if f.CommuneINSEE != c.INSEE || (l.pc != "" && f.PostalCode != l.pc) {
				t.Errorf("Extract(%q) = %s %s, want %s %s", in, f.PostalCode, f.CommuneINSEE, l.pc, c.INSEE)
			}
		}
	}
	t.Logf("%d places: %v", total, counts)
}

func BenchmarkExtractLocalities(b *testing.B) {
	e, _ := setup(b)
	in := benchText("euh j'habite aux olives près de la rose sur la canebière au 12 bd de la valbarelle saint saint la la les rue de la de la cours ")
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		e.Extract(in)
	}
}

// FuzzLocalities checks the place found from texts built around the
// gazetteer's names: a Métropole postal code and commune, never a hang.
func FuzzLocalities(f *testing.F) {
	e, dir := setup(f)
	for _, s := range []string{
		"devant le 47 bd de la Valbarelle", "en bas de chez moi aux olives", "à la belle de mai 13600",
		"cours mirabeau à aix 13100", "quartier du panier de la la les", "ND de la ND de la Garde st ste",
		"à l'hôtel de ville de marseille porte d'aix", "rue de la république bd bd saint-saint-louis",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := e.Extract(s)
		if got.PostalCode != "" && len(dir.ByPostalCode(got.PostalCode)) == 0 {
			t.Fatalf("postal code %q is not the Métropole's", got.PostalCode)
		}
		if got.CommuneINSEE != "" {
			if c, ok := dir.ByINSEE(got.CommuneINSEE); !ok || c.Name != got.CommuneName || c.INSEE != got.CommuneINSEE {
				t.Fatalf("commune %q %q", got.CommuneINSEE, got.CommuneName)
			}
		}
	})
}

func TestCapitalizedAmbiguousCommune(t *testing.T) {
	e := New(nil)
	for text, want := range map[string]string{
		"Parking résidents Cassis":           "13022",
		"Le parking des résidents de Cassis": "13022",
		"Je bois du cassis le soir":          "",
		"Cassis est une belle ville":         "", // sentence start: could be the word
		"UN PROBLEME CASSIS":                 "",
		"Madame Rousset signale un trou":     "",
		"Signé : Jean Rousset":               "",
		"la zone industrielle Rousset":       "13087",
	} {
		if got := e.Extract(text).CommuneINSEE; got != want {
			t.Errorf("%q: %q, want %q", text, got, want)
		}
	}
}
