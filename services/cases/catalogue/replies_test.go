package catalogue

import (
	"strings"
	"testing"
)

func TestArticle(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"Direction de la voirie", "la"},
		{"Service de l'éclairage public", "le"},
		{"Centre de relation usagers de la Métropole", "le"},
		{"Agence de l'eau", "l'"},
		{"Office de tourisme", "l'"},
		{"Établissement public foncier", "l'"},
		{"Hôtel de la Métropole", "l'"},
		{"Halle aux poissons", "la"},
		{"Hameau des Goudes", "le"},
		{"Services techniques de la ville", "les"},
		{"  pôle  propreté ", "le"},
		{"Sous-direction des parcs", "la"},
		{"Régie des eaux du Pays d'Aix", "la"},
		{"Mission handicap", "la"},
		{"Bataillon de marins-pompiers", ""}, // gender unknown: no article rather than a wrong one
		{"SERAMM", ""},
		{"", ""},
	} {
		if got := Article(tc.name); got != tc.want {
			t.Errorf("Article(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestWithArticle(t *testing.T) {
	for _, tc := range []struct{ article, name, want string }{
		{"la", "Direction de la voirie", "la Direction de la voirie"},
		{"l'", "Agence de l'eau", "l'Agence de l'eau"},
		{"les", "Services techniques", "les Services techniques"},
		{"", "Service du stationnement", "le Service du stationnement"},
		{"", "Office de tourisme", "l'Office de tourisme"},
		{"", "SERAMM", "SERAMM"},
		{"le", "", ""},
	} {
		if got := WithArticle(tc.article, tc.name); got != tc.want {
			t.Errorf("WithArticle(%q, %q) = %q, want %q", tc.article, tc.name, got, tc.want)
		}
	}
}

func TestGreeting(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"Karim Benali", "Bonjour Karim Benali,"},
		{"  Hélène   Durand ", "Bonjour Hélène Durand,"},
		{"Mme Durand", "Bonjour Mme Durand,"},
		{"Jean-Pierre O'Neill", "Bonjour Jean-Pierre O'Neill,"},
		{"DURAND Hélène", "Bonjour DURAND Hélène,"}, // as given
		{"Léa", "Bonjour Léa,"},
		{"", "Madame, Monsieur,"},
		{"   ", "Madame, Monsieur,"},
		{"lea@example.net", "Madame, Monsieur,"},
		{"06 12 34 56 78", "Madame, Monsieur,"},
		{"X", "Madame, Monsieur,"},
		{"--", "Madame, Monsieur,"},
		{"Bonjour, je vous écris pour le trou", "Madame, Monsieur,"},
		{strings.Repeat("a", 81), "Madame, Monsieur,"},
	} {
		if got := Greeting(tc.name); got != tc.want {
			t.Errorf("Greeting(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// Every service of the shipped catalogue says its article, and the
// templates read as French: greeting by name, "examinée par la Direction
// de la voirie", signed by the service.
func TestShippedTemplatesReadAsFrench(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if c.Organisation.ServiceDeskArticle == "" {
		t.Error("the service desk has no article")
	}
	for _, k := range c.Competences {
		if k.ServiceArticle == "" {
			t.Errorf("%s: no service_article for %q", k.Code, k.Service)
		}
		if guess := Article(k.Service); guess != "" && guess != k.ServiceArticle {
			t.Errorf("%s: service_article %q, but %q reads as %q", k.Code, k.ServiceArticle, k.Service, guess)
		}
	}
	for code, want := range map[string]string{
		"voirie":          "la Direction de la voirie",
		"eclairage":       "le Service de l'éclairage public",
		"stationnement":   "le Service du stationnement",
		"hors_competence": "le Centre de relation usagers de la Métropole",
		"triage":          "le Centre de relation usagers de la Métropole",
	} {
		if got := c.TheService(code); got != want {
			t.Errorf("TheService(%s) = %q, want %q", code, got, want)
		}
	}
	var taken Template
	for _, tpl := range c.Templates("voirie") {
		if tpl.ID == "prise-en-charge" {
			taken = tpl
		}
		for _, name := range []string{"", "Karim Benali"} {
			out := c.Fill(tpl, Filling{Ref: "AMP-2026-000042", Competence: "voirie", Name: name})
			if strings.Contains(out, "{{") || strings.Contains(out, "}}") {
				t.Errorf("%s: a placeholder is left:\n%s", tpl.ID, out)
			}
			if !strings.HasSuffix(out, "Cordialement,\nDirection de la voirie") {
				t.Errorf("%s: not signed by the service:\n%s", tpl.ID, out)
			}
		}
	}
	named := c.Fill(taken, Filling{Ref: "AMP-2026-000042", Competence: "voirie", Name: "Karim Benali"})
	if !strings.HasPrefix(named, "Bonjour Karim Benali,\n\nVotre demande AMP-2026-000042 a été examinée par la Direction de la voirie.") {
		t.Errorf("prise en charge, name known:\n%s", named)
	}
	anonymous := c.Fill(taken, Filling{Ref: "AMP-2026-000042", Competence: "eclairage"})
	if !strings.HasPrefix(anonymous, "Madame, Monsieur,\n\nVotre demande AMP-2026-000042 a été examinée par le Service de l'éclairage public.") {
		t.Errorf("prise en charge, name unknown:\n%s", anonymous)
	}
}
