package webform

import (
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/cases/citizen"
	"github.com/ampmetropole/guichet/services/cases/nearby"
	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/intake/attachment"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/platform/textcheck"
)

// formValues are the fields as typed, kept to show the form again.
type formValues struct {
	Competence  string
	Subject     string
	Description string
	Address     string
	PostalCode  string
	Commune     string
	Name        string
	Email       string
	Phone       string
	Reply       string
	Lat, Lon    string // the map's pin, as its hidden fields carry it
	Honeypot    string
	Kept        []schemas.Attachment // files already checked and stored
	Incident    string               // the open incident the citizen joins (proches.go)
	Publication bool                 // the description may be published, without name or contacts
}

// fieldError names a field and what is wrong with it.
type fieldError struct {
	Field   string // the input's id
	Message string
}

// formErrors keeps errors in the order of the fields.
type formErrors []fieldError

func (e *formErrors) add(field, format string, args ...any) {
	*e = append(*e, fieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// For returns the error of a field, for the template.
func (e formErrors) For(field string) string {
	for _, fe := range e {
		if fe.Field == field {
			return fe.Message
		}
	}
	return ""
}

// formPage is the data of the request form.
type formPage struct {
	Title       string
	V           formValues
	Errors      formErrors
	Failure     string // a failure not tied to a field
	Competences []catalogue.Competence
	Communes    []*territory.Commune
	Accept      string
	MaxFiles    int
	Org         catalogue.Organisation
	Map         mapPage // the map, when there is one
	// Nearby are the open incidents of the competence near the place
	// (proches.go), NearbyAsked when the citizen asked to see them.
	Nearby      []nearby.Item
	NearbyAsked bool
}

func (h *Handler) formPage(v formValues, errs formErrors) formPage {
	title := "Faire une demande"
	if len(errs) > 0 {
		title = errorTitle(title, len(errs))
	}
	return formPage{Title: title, V: v, Errors: errs, Competences: h.deps.Catalogue.Competences,
		Communes: h.deps.Places.Communes(), Accept: attachment.AcceptedTypes, MaxFiles: attachment.MaxFiles,
		Org: h.deps.Catalogue.Organisation, Map: h.carte.page()}
}

// failedForm is the form again with a failure not tied to a field.
func (h *Handler) failedForm(v formValues, failure string) formPage {
	page := h.formPage(v, nil)
	page.Title, page.Failure = errorTitle(page.Title, 0), failure
	return page
}

func (h *Handler) showForm(w http.ResponseWriter, r *http.Request) {
	v := formValues{Competence: r.URL.Query().Get("competence")}
	if _, ok := h.deps.Catalogue.Competence(v.Competence); !ok {
		v.Competence = ""
	}
	h.render(w, r, http.StatusOK, "form", h.withNearby(r, h.formPage(v, nil)))
}

const honeypotMessage = "Votre envoi a été pris pour celui d'un robot. Si vous êtes une personne, vérifiez vos informations ci-dessous et envoyez le formulaire à nouveau."

var postalCodePattern = regexp.MustCompile(`^[0-9]{5}$`)

// readValues takes the text fields of the form, trimmed.
func readValues(r *http.Request) formValues {
	f := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	return formValues{
		Competence: f("competence"), Subject: f("objet"), Description: strings.TrimSpace(r.PostFormValue("description")),
		Address: f("adresse"), PostalCode: strings.ReplaceAll(f("code_postal"), " ", ""), Commune: f("commune"),
		Name: f("nom"), Email: f("email"), Phone: f("telephone"), Reply: f("reponse"), Honeypot: r.PostFormValue("site_web"),
		Lat: f("lat"), Lon: f("lon"), Incident: f("incident"), Publication: f("publication") == "oui",
	}
}

// validate checks the text fields and returns the request they describe.
func (h *Handler) validate(v formValues) (schemas.Request, formErrors) {
	var errs formErrors
	req := schemas.Request{Channel: schemas.ChannelWeb, Source: schemas.Source{Adapter: "webform"}}
	if v.Competence != "" {
		if _, ok := h.deps.Catalogue.Competence(v.Competence); !ok {
			errs.add("competence", "Choisissez un domaine dans la liste, ou « Je ne sais pas ».")
		} else {
			req.Hints = &schemas.Hints{Competence: v.Competence}
		}
	}
	switch n := utf8.RuneCountInString(v.Subject); {
	case n == 0:
		errs.add("objet", "Indiquez l'objet de votre demande en quelques mots.")
	case n > 200:
		errs.add("objet", "L'objet est trop long : 200 caractères au plus (%d saisis).", n)
	}
	switch n := utf8.RuneCountInString(v.Description); {
	case n == 0:
		errs.add("description", "Décrivez votre demande.")
	case n > 10000:
		errs.add("description", "La description est trop longue : 10 000 caractères au plus (%d saisis).", n)
	}
	req.Subject, req.Body = v.Subject, v.Description
	req.PublicationConsent = v.Publication

	loc := &schemas.Location{}
	// The map comes first in the form, its error too.
	if p, perr := parsePosition(v.Lat, v.Lon); perr != nil {
		errs.add("carte", "%s", perr.Message)
	} else if p != nil {
		loc.Lat, loc.Lon = &p.Lat, &p.Lon
	}
	if utf8.RuneCountInString(v.Address) > 300 {
		errs.add("adresse", "L'adresse est trop longue : 300 caractères au plus.")
	}
	loc.Address = v.Address
	var fromPostal []*territory.Commune
	if v.PostalCode != "" {
		fromPostal = h.deps.Places.ByPostalCode(v.PostalCode)
		switch {
		case !postalCodePattern.MatchString(v.PostalCode):
			errs.add("code_postal", "Le code postal s'écrit avec 5 chiffres, par exemple 13006.")
		case len(fromPostal) == 0:
			errs.add("code_postal", "Le code postal %s n'est pas dans la Métropole Aix-Marseille-Provence. Pour un lieu hors de la Métropole, adressez-vous à la commune concernée.", v.PostalCode)
		default:
			loc.PostalCode = v.PostalCode
			if len(fromPostal) == 1 {
				loc.CommuneINSEE = fromPostal[0].INSEE
			}
		}
	}
	if v.Commune != "" {
		c, ok := h.deps.Places.ByINSEE(v.Commune)
		switch {
		case !ok:
			errs.add("commune", "Choisissez une commune dans la liste.")
		case loc.PostalCode != "" && !containsCommune(fromPostal, c):
			errs.add("commune", "%s ne correspond pas au code postal %s.", c.Name, v.PostalCode)
		default:
			loc.CommuneINSEE = c.INSEE
		}
	}
	if *loc != (schemas.Location{}) {
		req.Location = loc
	}

	who := &schemas.Citizen{Name: v.Name}
	switch n := utf8.RuneCountInString(v.Name); {
	case n == 0:
		errs.add("nom", "Indiquez vos nom et prénom.")
	case n > 200:
		errs.add("nom", "Le nom est trop long : 200 caractères au plus.")
	}
	if v.Email != "" {
		if !strings.Contains(v.Email, "@") {
			errs.add("email", "L'adresse e-mail doit contenir un @, par exemple nom@exemple.fr.")
		} else if email, err := citizen.NormalizeEmail(v.Email); err != nil {
			errs.add("email", "L'adresse e-mail n'est pas valide, par exemple nom@exemple.fr.")
		} else {
			who.Email = email
		}
	}
	if v.Phone != "" {
		if phone, err := citizen.NormalizePhone(v.Phone); err != nil {
			errs.add("telephone", "Le numéro de téléphone n'est pas valide, par exemple 06 12 34 56 78.")
		} else {
			who.Phone = phone
		}
	}
	// One error for one problem: without any way to reach them, the
	// citizen is told so once, not again about the reply they chose.
	noContact := v.Email == "" && v.Phone == ""
	if noContact {
		errs.add("email", "Indiquez au moins une adresse e-mail ou un numéro de téléphone, pour que nous puissions vous répondre.")
	}
	switch v.Reply {
	case "":
		who.PreferredReplyChannel = map[bool]string{true: "email", false: "phone"}[v.Email != ""]
	case "email":
		if v.Email == "" && !noContact {
			errs.add("reponse", "Vous avez choisi une réponse par e-mail : indiquez votre adresse e-mail, ou choisissez une réponse par téléphone.")
		}
		who.PreferredReplyChannel = "email"
	case "telephone":
		if v.Phone == "" && !noContact {
			errs.add("reponse", "Vous avez choisi une réponse par téléphone : indiquez votre numéro, ou choisissez une réponse par e-mail.")
		}
		who.PreferredReplyChannel = "phone"
	default:
		errs.add("reponse", "Choisissez comment vous souhaitez être recontacté(e) : par e-mail ou par téléphone.")
	}
	req.Citizen = who
	return req, errs
}

func containsCommune(cs []*territory.Commune, c *territory.Commune) bool {
	for _, x := range cs {
		if x == c {
			return true
		}
	}
	return false
}

// readFiles checks the files of the form and stores the good ones, so that
// they are kept if the form must be corrected. Files kept from an earlier
// attempt come back as keep tokens in the "deja" fields (see keepToken).
func (h *Handler) readFiles(r *http.Request, field string, errs *formErrors) []schemas.Attachment {
	var kept []schemas.Attachment
	seen := map[string]bool{}
	for _, token := range r.PostForm["deja"] {
		sha := h.keptSHA(token)
		if sha == "" || seen[sha] {
			continue // expired, forged or twice: ignored, and nothing said of the file
		}
		a, err := h.deps.Files.Info(r.Context(), sha)
		if err != nil {
			continue
		}
		seen[sha] = true
		kept = append(kept, a)
	}
	var headers []*multipart.FileHeader
	if r.MultipartForm != nil {
		for _, fh := range r.MultipartForm.File[field] {
			if fh.Filename != "" || fh.Size > 0 {
				headers = append(headers, fh)
			}
		}
	}
	if len(kept)+len(headers) > attachment.MaxFiles {
		errs.add(field, "%d fichiers au plus (vous en avez joint %d).", attachment.MaxFiles, len(kept)+len(headers))
		return kept
	}
	var problems []string
	for _, fh := range headers {
		f, err := openAndCheck(fh)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		a, err := h.deps.Files.Put(r.Context(), f)
		if err != nil {
			h.deps.Log.Warn("attachment not stored", "err", err)
			problems = append(problems, fmt.Sprintf("« %s » n'a pas pu être enregistré, réessayez.", f.Name))
			continue
		}
		if !seen[a.SHA256] {
			seen[a.SHA256] = true
			kept = append(kept, a)
		}
	}
	if len(problems) > 0 {
		errs.add(field, "%s", strings.Join(problems, " "))
	}
	return kept
}

func openAndCheck(fh *multipart.FileHeader) (attachment.File, error) {
	if fh.Size > attachment.MaxSize {
		return attachment.File{}, fmt.Errorf("« %s » dépasse 10 Mio.", fh.Filename)
	}
	file, err := fh.Open()
	if err != nil {
		return attachment.File{}, fmt.Errorf("« %s » n'a pas pu être lu.", fh.Filename)
	}
	defer file.Close()
	f, err := attachment.Check(file, fh.Filename)
	if err != nil {
		if k := fault.KindOf(err); k == fault.Invalid || k == fault.TooLarge {
			return f, fmt.Errorf("%s.", err.Error())
		}
		return f, fmt.Errorf("« %s » n'a pas pu être lu.", fh.Filename)
	}
	return f, nil
}

// parseForm reads a multipart (or plain) form within MaxFormBody. It
// answers 413 or 400 itself and returns false when the body is unusable.
func (h *Handler) parseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, MaxFormBody)
	var err error
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
		err = r.ParseMultipartForm(1 << 20)
	} else {
		err = r.ParseForm()
	}
	if err == nil {
		if textcheck.Values(r.Form) == "" {
			return true
		}
		h.render(w, r, http.StatusBadRequest, "message", messagePage{Title: "Caractère non permis",
			Text: "Votre envoi contient un caractère qui ne peut pas être enregistré (caractère nul ou encodage invalide). Rien n'a été enregistré : revenez au formulaire, retapez le texte concerné et renvoyez-le.",
			Back: r.URL.Path})
		return false
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		text := "Votre texte dépasse la taille permise. Rien n'a été enregistré : revenez au formulaire et raccourcissez-le."
		if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
			text = fmt.Sprintf("L'ensemble de votre envoi dépasse la taille permise (%d fichiers de 10 Mio au plus). Rien n'a été enregistré : revenez au formulaire et joignez des fichiers plus légers (une photo prise avec un téléphone suffit).", attachment.MaxFiles)
		}
		h.render(w, r, http.StatusRequestEntityTooLarge, "message", messagePage{Title: "Envoi trop volumineux", Text: text, Back: r.URL.Path})
		return false
	}
	h.render(w, r, http.StatusBadRequest, "message", messagePage{Title: "Formulaire illisible",
		Text: "Votre envoi n'a pas pu être lu. Rien n'a été enregistré : revenez au formulaire et réessayez.", Back: r.URL.Path})
	return false
}

func (h *Handler) submitForm(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	if r.MultipartForm != nil {
		defer r.MultipartForm.RemoveAll()
	}
	v := readValues(r)
	if v.Honeypot != "" {
		// Robots fill every field; a person never sees this one. Nothing is
		// stored, and a person who got here by autofill can send again.
		v.Honeypot = ""
		h.render(w, r, http.StatusUnprocessableEntity, "form", h.failedForm(v, honeypotMessage))
		return
	}
	if r.PostFormValue("etape") == "proches" {
		// "Déjà signalé près d'ici" without JavaScript: the form again,
		// nothing sent, its files kept, with the incidents near the place.
		var errs formErrors
		v.Kept = h.readFiles(r, "fichiers", &errs)
		page := h.withNearby(r, h.formPage(v, errs))
		page.NearbyAsked = true
		h.render(w, r, map[bool]int{true: http.StatusOK, false: http.StatusUnprocessableEntity}[len(errs) == 0], "form", page)
		return
	}
	req, errs := h.validate(v)
	if errs.For("carte") != "" {
		v.Lat, v.Lon = "", "" // not sent again as they were: the citizen places the pin anew
	}
	if v.Incident != "" {
		// The router links the request to the incident the citizen chose;
		// they still get their own case, code and notices.
		if comp, msg := h.joinIncident(r.Context(), v.Incident, v.Competence); msg != "" {
			errs.add("incident", "%s", msg)
		} else {
			if req.Hints == nil {
				req.Hints = &schemas.Hints{Competence: comp}
			}
			req.Hints.Incident = v.Incident
		}
	}
	v.Kept = h.readFiles(r, "fichiers", &errs)
	if len(errs) > 0 {
		h.render(w, r, http.StatusUnprocessableEntity, "form", h.withNearby(r, h.formPage(v, errs)))
		return
	}
	req.Attachments = v.Kept
	receipt, err := h.deps.Intake.Submit(r.Context(), req)
	if err != nil {
		h.deps.Log.Error("web request not published", "err", err)
		h.render(w, r, http.StatusServiceUnavailable, "form", h.failedForm(v,
			"Votre demande n'a pas pu être enregistrée pour le moment (incident technique). Vos informations sont conservées ci-dessous : renvoyez le formulaire dans quelques instants."))
		return
	}
	http.Redirect(w, r, "/demande/accuse/"+receipt.TrackingCode, http.StatusSeeOther)
}
