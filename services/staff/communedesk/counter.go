package communedesk

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/cases/citizen"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/staff/auth"
)

// counterForm is what the front desk typed.
type counterForm struct {
	Nonce      string // the form's own key: posted twice, it files one request
	Commune    string
	Competence string
	Subject    string
	Body       string
	Address    string // of the problem
	PostalCode string
	Name       string
	Email      string
	Phone      string
	Lines      string // the citizen's postal address, for replies by post
	HomePostal string
	City       string
	Reply      string
}

// counterPage is the front desk's form.
type counterPage struct {
	page
	Competences []catalogue.Competence // those a citizen may ask for
	Form        counterForm
	Errors      []fieldError
	Err         map[string]string
}

// fieldError is one thing to correct, linked to its field.
type fieldError struct {
	ID, Message string
}

var (
	postalPattern = regexp.MustCompile(`^[0-9]{5}$`)
	noncePattern  = regexp.MustCompile(`^[0-9]{13}\.[0-9a-f]{16}$`)
)

// newNonce keys a fresh form: its time (the request id's) and randomness.
func newNonce(now time.Time) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return strconv.FormatInt(now.UnixMilli(), 10) + "." + hex.EncodeToString(b)
}

func (h *Handler) showCounter(w http.ResponseWriter, r *http.Request) {
	pg, p := h.base(r, "Déposer une demande à l'accueil")
	f := counterForm{Nonce: newNonce(h.deps.Now()), Reply: "email"}
	if len(p.Communes) == 1 {
		f.Commune = p.Communes[0]
	}
	h.render(w, "guichet", http.StatusOK, counterPage{page: pg, Competences: h.askable(), Form: f, Err: map[string]string{}})
}

// fileAtCounter files the request for the citizen, then shows its receipt.
func (h *Handler) fileAtCounter(w http.ResponseWriter, r *http.Request) {
	pg, p := h.base(r, "Déposer une demande à l'accueil")
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.shell.Error(w, h.deps.Guard.Viewer(r), http.StatusRequestEntityTooLarge,
				"Cette demande dépasse la taille permise (64 Kio) : rien n'a été enregistré. Revenez au formulaire et raccourcissez la description.")
			return
		}
		h.shell.Error(w, h.deps.Guard.Viewer(r), http.StatusBadRequest, "Le formulaire n'a pas pu être lu : rien n'a été enregistré. Rechargez la page et recommencez.")
		return
	}
	v := r.PostFormValue
	f := counterForm{Nonce: v("cle"), Commune: v("commune"), Competence: v("competence"), Subject: strings.TrimSpace(v("objet")),
		Body: strings.TrimSpace(v("description")), Address: strings.TrimSpace(v("adresse")), PostalCode: strings.TrimSpace(v("code_postal")),
		Name: strings.TrimSpace(v("nom")), Email: strings.TrimSpace(v("courriel")), Phone: strings.TrimSpace(v("telephone")),
		Lines: strings.TrimSpace(v("adresse_usager")), HomePostal: strings.TrimSpace(v("code_postal_usager")), City: strings.TrimSpace(v("ville")),
		Reply: v("reponse")}
	req, errs := h.check(&f, p)
	data := counterPage{page: pg, Competences: h.askable(), Form: f, Errors: errs, Err: map[string]string{}}
	for _, e := range errs {
		data.Err[e.ID] = e.Message
	}
	if len(errs) > 0 {
		h.render(w, "guichet", http.StatusUnprocessableEntity, data)
		return
	}
	rc, err := h.deps.Intake.Submit(r.Context(), req)
	if err != nil {
		status := http.StatusUnprocessableEntity
		msg := "La demande n'a pas été acceptée : " + strings.TrimPrefix(err.Error(), "intake: ") + ". Corrigez le formulaire et recommencez."
		if fault.KindOf(err) != fault.Invalid {
			h.deps.Log.Error("commune desk: counter request", "err", err)
			status, msg = http.StatusServiceUnavailable, "La demande n'a pas pu être enregistrée (incident technique) : votre saisie est conservée, réessayez dans quelques instants."
			w.Header().Set("Retry-After", "5")
		}
		data.Errors = []fieldError{{ID: "description", Message: msg}}
		h.render(w, "guichet", status, data)
		return
	}
	h.audit(r, "counter.file", rc.ID, map[string]any{"commune": f.Commune, "duplicate": rc.Duplicate})
	h.waitForCase(r.Context(), rc.ID)
	http.Redirect(w, r, Base+"/accueil/"+rc.ID, http.StatusSeeOther)
}

// check reads the form into a request, or says what to correct.
func (h *Handler) check(f *counterForm, p auth.Principal) (schemas.Request, []fieldError) {
	var errs []fieldError
	bad := func(id, msg string) { errs = append(errs, fieldError{ID: id, Message: msg}) }
	text := func(id, label, s string, limit int, required bool) {
		switch {
		case required && s == "":
			bad(id, label+" : à remplir.")
		case utf8.RuneCountInString(s) > limit:
			bad(id, label+" : "+strconv.Itoa(limit)+" caractères au plus.")
		case !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r == 0 || unicode.Is(unicode.Cs, r) }):
			bad(id, label+" : caractère non permis.")
		}
	}
	if !noncePattern.MatchString(f.Nonce) {
		// A form from elsewhere, or one whose key was altered: a new one.
		f.Nonce = newNonce(h.deps.Now())
	}
	if !slices.Contains(p.Communes, f.Commune) {
		bad("commune", "Commune : choisissez l'une de vos communes.")
	}
	if f.Competence != "" && !h.deps.Catalogue.Known(f.Competence) {
		bad("competence", "Domaine : choisissez un domaine de la liste, ou « À orienter ».")
		f.Competence = ""
	}
	text("objet", "Objet", f.Subject, 200, false)
	text("description", "Description de la demande", f.Body, 10000, true)
	text("adresse", "Adresse du problème", f.Address, 300, false)
	if f.PostalCode != "" && !postalPattern.MatchString(f.PostalCode) {
		bad("code_postal", "Code postal du problème : cinq chiffres (exemple : 13120).")
	} else if f.PostalCode != "" && f.Commune != "" && !h.postalOf(f.PostalCode, f.Commune) {
		bad("code_postal", "Code postal du problème : il ne correspond pas à la commune choisie.")
	}
	text("nom", "Nom de l'usager", f.Name, 200, true)
	text("adresse_usager", "Adresse postale de l'usager", f.Lines, 300, false)
	text("ville", "Ville de l'usager", f.City, 100, false)
	if f.HomePostal != "" && !postalPattern.MatchString(f.HomePostal) {
		bad("code_postal_usager", "Code postal de l'usager : cinq chiffres.")
	}
	email, err := citizen.NormalizeEmail(f.Email)
	if f.Email != "" && err != nil {
		bad("courriel", "Courriel : une seule adresse, sans espace (exemple : nom@exemple.fr).")
	}
	phone, err := citizen.NormalizePhone(f.Phone)
	if f.Phone != "" && err != nil {
		bad("telephone", "Téléphone : ce n'est pas un numéro de téléphone (exemple : 06 12 34 56 78).")
	}
	switch f.Reply {
	case "email":
		if f.Email == "" {
			bad("courriel", "Courriel : à remplir pour une réponse par courriel, ou choisissez une autre réponse.")
		}
	case "phone":
		if f.Phone == "" {
			bad("telephone", "Téléphone : à remplir pour une réponse par téléphone, ou choisissez une autre réponse.")
		}
	case "mail":
		if f.Lines == "" || f.HomePostal == "" || f.City == "" {
			bad("adresse_usager", "Adresse postale de l'usager : adresse, code postal et ville sont à remplir pour une réponse par courrier.")
		}
	default:
		bad("reponse-email", "Réponse souhaitée : choisissez courriel, téléphone ou courrier.")
	}
	if len(errs) > 0 {
		return schemas.Request{}, errs
	}
	ms, _ := strconv.ParseInt(f.Nonce[:13], 10, 64)
	at := time.UnixMilli(ms)
	req := schemas.Request{
		ID:      h.deps.Intake.DerivedID("counter", f.Commune+"\x00"+p.Name+"\x00"+f.Nonce, at),
		Channel: schemas.ChannelCounter,
		Source:  schemas.Source{Adapter: "mairie", System: casestore.CounterSystem(f.Commune), OperatorID: p.Name},
		Subject: f.Subject, Body: f.Body,
		Citizen: &schemas.Citizen{Name: f.Name, Email: email, Phone: phone, PreferredReplyChannel: f.Reply},
		// The problem is in the mairie's commune unless its address says
		// otherwise.
		Location: &schemas.Location{Address: f.Address, PostalCode: f.PostalCode, CommuneINSEE: f.Commune},
	}
	if f.Lines != "" {
		req.Citizen.Address = &schemas.PostalAddress{Lines: strings.Split(strings.ReplaceAll(f.Lines, "\r\n", "\n"), "\n"),
			PostalCode: f.HomePostal, City: f.City, Country: "FR"}
	}
	if f.Competence != "" {
		req.Hints = &schemas.Hints{Competence: f.Competence}
	}
	return req, nil
}

// askable are the domains the front desk may choose: the Métropole's
// own (what is outside its remit, or about personal data, is the
// router's and the DPO's to say).
func (h *Handler) askable() []catalogue.Competence {
	var out []catalogue.Competence
	for _, c := range h.deps.Catalogue.Competences {
		if c.Code != schemas.CompetenceHorsCompetence && c.Code != "donnees_personnelles" {
			out = append(out, c)
		}
	}
	return out
}

// postalOf says whether a postal code serves the commune.
func (h *Handler) postalOf(postal, insee string) bool {
	for _, c := range h.deps.Places.ByPostalCode(postal) {
		if c.INSEE == insee {
			return true
		}
	}
	return false
}

// waitForCase waits a little for the router to give a request its case, so
// that the receipt shows the case reference.
func (h *Handler) waitForCase(ctx context.Context, id string) {
	ctx, cancel := context.WithTimeout(ctx, h.deps.CaseWait)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		st, err := h.deps.Store.RequestStatus(ctx, id)
		if err == nil && (st.CaseRef != nil || st.Status == "failed") || err != nil && fault.KindOf(err) != fault.NotFound {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// receiptPage is the citizen's receipt, to print or read out.
type receiptPage struct {
	page
	Status  casestore.RequestStatus
	Commune string
}

// showReceipt shows the receipt of a request the mairie's front desk
// filed; any other request does not exist here.
func (h *Handler) showReceipt(w http.ResponseWriter, r *http.Request) {
	pg, p := h.base(r, "Récépissé de dépôt")
	id := r.PathValue("id")
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		h.notFound(w, r)
		return
	}
	st, err := h.deps.Store.RequestStatus(r.Context(), id)
	if fault.KindOf(err) == fault.NotFound {
		h.notFound(w, r)
		return
	}
	if err != nil {
		h.unavailable(w, r, err)
		return
	}
	commune := ""
	for _, c := range p.Communes {
		if st.System == casestore.CounterSystem(c) {
			commune = c
		}
	}
	if commune == "" {
		h.notFound(w, r)
		return
	}
	h.render(w, "recepisse", http.StatusOK, receiptPage{page: pg, Status: st, Commune: commune})
}
