package webform_test

import (
	"net/http"
	"strings"
	"testing"
)

// The citizen is told, on the receipt, the status page and the privacy
// page, what is kept of their request, for how long (the catalogue's
// schedule) and how to ask for access or erasure; asking is a request
// in the domain « Données personnelles », which goes to the data
// protection officer's queue.
func TestCitizenIsToldWhatIsKeptAndHowToAsk(t *testing.T) {
	b := setup(t, options{})
	code := submit(t, b, validFields(), nil)
	ask := `href="/demande?competence=donnees_personnelles">Exercer mes droits sur mes données</a>`
	kept := "sont conservés 1 an après la clôture de votre dossier"
	for _, path := range []string{"/demande/accuse/" + code, "/suivi/" + code} {
		resp, body := get(t, b.srv.URL+path)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		for _, want := range []string{`<h2 id="vos-donnees">Vos données</h2>`, kept, "dpd@ampmetropole.fr", ask} {
			if !strings.Contains(body, want) {
				t.Errorf("%s lacks %q", path, want)
			}
		}
	}
	_, body := get(t, b.srv.URL+"/donnees-personnelles")
	for _, want := range []string{`<ul id="durees">`, "Identité et coordonnées des usagers : 1 an après la clôture du dossier.",
		"Copies des messages envoyés (courriels, SMS, courriers) : 90 jours après l&#39;envoi.", `id="exercer-droits"`, "demander leur effacement"} {
		if !strings.Contains(body, want) {
			t.Errorf("the privacy page lacks %q", want)
		}
	}
	if strings.Contains(body, "archivées ou supprimées selon les règles des archives publiques") {
		t.Error("the privacy page still says the data is kept without a stated time")
	}

	// The link preselects the domain; the request goes to the DPO's queue.
	_, form := get(t, b.srv.URL+"/demande?competence=donnees_personnelles")
	if !strings.Contains(form, `<option value="donnees_personnelles" selected>Données personnelles`) {
		t.Error("the form does not preselect « Données personnelles »")
	}
	fields := validFields()
	fields.Set("competence", "donnees_personnelles")
	fields.Set("objet", "Accès à mes données")
	fields.Set("description", "Je souhaite recevoir une copie des données que vous détenez sur moi, puis leur effacement.")
	fields.Del("adresse")
	fields.Del("code_postal")
	fields.Del("commune")
	tr := waitCase(t, b, submit(t, b, fields, nil))
	if tr.Case.Competence != "donnees_personnelles" {
		t.Errorf("a request about personal data went to %q", tr.Case.Competence)
	}
	if _, body := get(t, b.srv.URL+"/suivi/"+tr.Code); !strings.Contains(body, "Délégué à la protection des données") {
		t.Error("its status page does not name the data protection officer")
	}
}
