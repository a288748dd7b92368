package open311

import (
	"encoding/xml"
	"errors"
	"fmt"
	"math"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/cases/citizen"
	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// The Métropole's bounds (the web form's map uses the same): a point
// outside is not one of its places.
const (
	boundSouth = 43.05
	boundNorth = 43.90
	boundWest  = 4.60
	boundEast  = 5.95
)

// Limits of the fields, per the specification (description) or the
// request schema.
const (
	maxDescription = 4000
	maxAddress     = 300
	maxName        = 200
	maxMediaURL    = 2000
	maxExternalID  = 200
)

// scalars are the parameters given once at most; attribute[…] are read
// apart, anything else is ignored.
var scalars = []string{"api_key", "jurisdiction_id", "service_code", "lat", "long", "address_string", "address_id",
	"email", "device_id", "account_id", "first_name", "last_name", "phone", "description", "media_url"}

var (
	coordinatePattern = regexp.MustCompile(`^-?[0-9]{1,3}(\.[0-9]{1,15})?$`)
	postalCodePattern = regexp.MustCompile(`(?:^|[^0-9])([0-9]{5})(?:$|[^0-9])`)
	attributePattern  = regexp.MustCompile(`^attribute\[([a-z_]{1,32})\](\[\])?$`)
)

// problems are what is wrong with a POST, each said in French.
type problems []string

func (p *problems) add(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

// ParseRequest reads a POSTed Open311 request (its form: body and query
// string together) into a request of the common schema for the partner
// system, or says everything wrong with it. The request still goes through
// intake's validation.
func ParseRequest(form url.Values, cat *catalogue.Catalogue, places *territory.Directory, system string) (schemas.Request, []string) {
	var errs problems
	for _, k := range scalars {
		if len(form[k]) > 1 {
			errs.add("le paramètre %s est donné plusieurs fois", k)
		}
	}
	for k, vs := range form {
		for _, v := range vs {
			if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
				errs.add("le paramètre %s n'est pas du texte UTF-8 valide (ou contient un caractère nul)", clip(strings.ToValidUTF8(k, "?"), 40))
				return schemas.Request{}, errs
			}
		}
	}
	f := func(k string) string { return strings.TrimSpace(form.Get(k)) }
	req := schemas.Request{Channel: schemas.ChannelOpen311, Source: schemas.Source{Adapter: "open311", System: system}}

	code := f("service_code")
	k, known := cat.Competence(code)
	switch {
	case code == "":
		errs.add("service_code manquant (voir services.json)")
	case !known || hidden[code]:
		errs.add("service_code inconnu : %s (voir services.json)", clip(code, 64))
	default:
		req.Hints = &schemas.Hints{Competence: code}
	}

	// Attributes, as the service definition lists them.
	subject := ""
	for key, vs := range form {
		if !strings.HasPrefix(key, "attribute") {
			continue
		}
		m := attributePattern.FindStringSubmatch(key)
		if m == nil || (m[1] != attrPublication && m[1] != attrSubject) {
			errs.add("attribut inconnu : %s (attributs possibles : attribute[%s], attribute[%s])", clip(key, 64), attrPublication, attrSubject)
			continue
		}
		if len(vs) != 1 || m[2] != "" {
			errs.add("l'attribut %s prend une seule valeur", m[1])
			continue
		}
		v := strings.TrimSpace(vs[0])
		switch m[1] {
		case attrPublication:
			switch strings.ToLower(v) {
			case "true", "1", "oui":
				req.PublicationConsent = true
			case "false", "0", "non", "":
			default:
				errs.add("attribute[%s] vaut true ou false", attrPublication)
			}
		case attrSubject:
			if n := utf8.RuneCountInString(v); n > maxSubject {
				errs.add("attribute[%s] est trop long : %d caractères au plus (%d reçus)", attrSubject, maxSubject, n)
			}
			subject = v
		}
	}
	if subject == "" && known {
		subject = k.Label
	}
	req.Subject = subject

	desc := strings.TrimSpace(form.Get("description"))
	if n := utf8.RuneCountInString(desc); n > maxDescription {
		errs.add("description trop longue : %d caractères au plus (%d reçus)", maxDescription, n)
	}
	if media := f("media_url"); media != "" {
		u, err := url.Parse(media)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(media) > maxMediaURL {
			errs.add("media_url n'est pas une adresse http(s) valide")
		} else {
			// Guichet fetches nothing from outside: the link is kept with
			// the text for the team to open.
			if desc != "" {
				desc += "\n\n"
			}
			desc += "Média : " + media
		}
	}
	req.Body = desc

	loc, locErrs := parseLocation(f("lat"), f("long"), f("address_string"), f("address_id"), places)
	errs = append(errs, locErrs...)
	req.Location = loc

	who, whoErrs := parseCitizen(f("first_name"), f("last_name"), f("email"), f("phone"))
	errs = append(errs, whoErrs...)
	req.Citizen = who
	if known && contactRequired(cat, code) && (who == nil || who.Email == "" && who.Phone == "") {
		errs.add("le service %s demande un moyen de répondre : email ou phone", code)
	}

	// The partner's own identifier of the person or device, to find the
	// request again in their system; never published.
	ext := f("account_id")
	if ext == "" {
		ext = f("device_id")
	}
	if utf8.RuneCountInString(ext) > maxExternalID {
		errs.add("account_id ou device_id trop long : %d caractères au plus", maxExternalID)
	} else {
		req.Source.ExternalID = ext
	}
	if len(errs) > 0 {
		return schemas.Request{}, errs
	}
	return req, nil
}

// contactRequired says whether the catalogue wants a way to reach the
// citizen before a case of this competence is qualified.
func contactRequired(cat *catalogue.Catalogue, code string) bool {
	for _, r := range cat.RequiredBeforeQualification(code) {
		if r == "contact" {
			return true
		}
	}
	return false
}

// parseLocation reads the place of the problem: lat and long, or an
// address (its postal code, and the commune it names, find the commune),
// or both. An address_id alone is not enough: Guichet has no address
// repository to look it up in.
func parseLocation(lat, long, address, addressID string, places *territory.Directory) (*schemas.Location, problems) {
	var errs problems
	loc := &schemas.Location{}
	switch {
	case lat == "" && long == "":
	case lat == "" || long == "":
		errs.add("lat et long vont ensemble : donnez les deux")
	default:
		var xy [2]float64
		ok := true
		for i, s := range []string{lat, long} {
			v, err := strconv.ParseFloat(s, 64)
			if !coordinatePattern.MatchString(s) || err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				errs.add("%s n'est pas une coordonnée en degrés décimaux (WGS84), par exemple 43.2965", []string{"lat", "long"}[i])
				ok = false
				continue
			}
			// A micro-degree is about 10 cm: more decimals say nothing more.
			xy[i] = math.Round(v*1e6) / 1e6
		}
		if ok {
			if xy[0] < boundSouth || xy[0] > boundNorth || xy[1] < boundWest || xy[1] > boundEast {
				errs.add("ce point (lat %g, long %g) est hors de la Métropole Aix-Marseille-Provence", xy[0], xy[1])
			} else {
				loc.Lat, loc.Lon = &xy[0], &xy[1]
			}
		}
	}
	if n := utf8.RuneCountInString(address); n > maxAddress {
		errs.add("address_string trop long : %d caractères au plus", maxAddress)
	} else {
		loc.Address = address
	}
	if loc.Lat == nil && loc.Address == "" && len(errs) == 0 {
		if addressID != "" {
			errs.add("address_id seul ne suffit pas : donnez aussi lat et long, ou address_string")
		} else {
			errs.add("lieu manquant : donnez lat et long, ou address_string")
		}
	}
	if loc.Address != "" {
		resolveCommune(loc, places)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return loc, nil
}

// resolveCommune finds the commune of an address from its postal code and
// the commune's name written in it, as the web form does from its fields.
func resolveCommune(loc *schemas.Location, places *territory.Directory) {
	var candidates []*territory.Commune
	for _, m := range postalCodePattern.FindAllStringSubmatch(loc.Address, -1) {
		if cs := places.ByPostalCode(m[1]); len(cs) > 0 {
			loc.PostalCode, candidates = m[1], cs
		}
	}
	if len(candidates) == 0 {
		candidates = places.Communes()
	}
	lower := " " + foldSpaces(strings.ToLower(loc.Address)) + " "
	var named *territory.Commune
	for _, c := range candidates {
		name := strings.ToLower(c.Name)
		if i := strings.Index(lower, name); i > 0 && !isLetter(lower[i-1]) && !isLetter(lower[i+len(name)]) {
			if named == nil || len(c.Name) > len(named.Name) { // "Saint-Marc-Jaumegarde" over "Jaumegarde"
				named = c
			}
		}
	}
	switch {
	case named != nil:
		loc.CommuneINSEE = named.INSEE
	case loc.PostalCode != "" && len(candidates) == 1:
		loc.CommuneINSEE = candidates[0].INSEE
	}
}

func foldSpaces(s string) string { return strings.Join(strings.Fields(s), " ") }

// isLetter says whether a byte belongs to a word (ASCII letters and the
// bytes of multibyte letters).
func isLetter(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= 0x80 || b == '-'
}

// parseCitizen reads who made the request, normalized like every channel
// (e-mail lower-cased, phone in E.164).
func parseCitizen(first, last, email, phone string) (*schemas.Citizen, problems) {
	var errs problems
	who := &schemas.Citizen{Name: strings.TrimSpace(first + " " + last)}
	if utf8.RuneCountInString(who.Name) > maxName {
		errs.add("first_name et last_name sont trop longs : %d caractères au plus ensemble", maxName)
	}
	if email != "" {
		e, err := citizen.NormalizeEmail(email)
		if err != nil {
			errs.add("email n'est pas une adresse électronique valide (par exemple nom@exemple.fr)")
		}
		who.Email = e
	}
	if phone != "" {
		p, err := citizen.NormalizePhone(phone)
		if err != nil {
			errs.add("phone n'est pas un numéro de téléphone valide (par exemple 06 12 34 56 78 ou +33612345678)")
		}
		who.Phone = p
	}
	switch {
	case who.Email != "":
		who.PreferredReplyChannel = "email"
	case who.Phone != "":
		who.PreferredReplyChannel = "phone"
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if *who == (schemas.Citizen{}) {
		return nil, nil
	}
	return who, nil
}

// posted is the answer to a POST.
type posted struct {
	XMLName       xml.Name `json:"-" xml:"request"`
	ID            string   `json:"service_request_id" xml:"service_request_id"`
	ServiceNotice string   `json:"service_notice" xml:"service_notice"`
	AccountID     *string  `json:"account_id" xml:"account_id,omitempty"`
}

type postedXML struct {
	XMLName  xml.Name `xml:"service_requests"`
	Requests []posted `xml:"request"`
}

// submit serves POST requests.<format>.
func (h *Handler) submit(w http.ResponseWriter, r *http.Request, format string) {
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/x-www-form-urlencoded" {
		h.fail(w, format, http.StatusBadRequest, "Content-Type: application/x-www-form-urlencoded attendu")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
	if err := r.ParseForm(); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			h.fail(w, format, http.StatusRequestEntityTooLarge, fmt.Sprintf("envoi trop volumineux : %d Kio au plus", MaxBody>>10))
			return
		}
		h.fail(w, format, http.StatusBadRequest, "formulaire illisible : application/x-www-form-urlencoded attendu")
		return
	}
	key := r.Form.Get("api_key")
	if tok, ok := bearer(r.Header.Get("Authorization")); ok {
		key = tok
	}
	if key == "" {
		h.fail(w, format, http.StatusForbidden, "clé d'API manquante : api_key (ou l'en-tête Authorization: Bearer)")
		return
	}
	system, ok, err := h.deps.Keys.PartnerKey(r.Context(), key)
	if err != nil {
		h.deps.Log.Warn("open311: cannot check an api_key", "err", err)
		w.Header().Set("Retry-After", "5")
		h.fail(w, format, http.StatusServiceUnavailable, "service momentanément indisponible, réessayez dans quelques secondes")
		return
	}
	if !ok {
		h.fail(w, format, http.StatusForbidden, "clé d'API invalide : un jeton partenaire en service est attendu")
		return
	}
	if !h.posts.Allow(system, time.Now()) {
		w.Header().Set("Retry-After", "60")
		h.fail(w, format, http.StatusTooManyRequests, fmt.Sprintf("trop d'envois : %d par minute au plus pour cette clé ; réessayez dans une minute", h.cfg.PostRate))
		return
	}
	req, errs := ParseRequest(r.Form, h.deps.Catalogue, h.deps.Places, system)
	if len(errs) > 0 {
		h.fail(w, format, http.StatusBadRequest, errs...)
		return
	}
	rc, err := h.deps.Intake.Submit(r.Context(), req)
	if err != nil {
		if ve, ok := errors.AsType[*schemas.ValidationError](err); ok {
			var list []string
			for _, p := range ve.Problems {
				list = append(list, p.Field+" : "+p.Message)
			}
			h.fail(w, format, http.StatusBadRequest, list...)
			return
		}
		if fault.KindOf(err) == fault.Invalid {
			h.fail(w, format, http.StatusBadRequest, "demande refusée : "+err.Error())
			return
		}
		h.deps.Log.Warn("open311: request not accepted", "err", err)
		w.Header().Set("Retry-After", "5")
		h.fail(w, format, http.StatusServiceUnavailable, "service momentanément indisponible, réessayez dans quelques secondes")
		return
	}
	h.deps.Log.Info("open311: request accepted", "request_id", rc.ID, "system", system)
	p := posted{ID: rc.ID, ServiceNotice: "Demande reçue, pour le service : " + h.deps.Catalogue.ServiceFor(req.Hints.Competence) +
		". Suivez-la avec GET requests/" + rc.ID + "." + format + "."}
	h.write(w, format, http.StatusOK, []posted{p}, postedXML{Requests: []posted{p}})
}

// bearer reads "Authorization: Bearer <token>".
func bearer(header string) (string, bool) {
	scheme, tok, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != "" && len(tok) <= 512
}
