package open311

import (
	"encoding/xml"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/platform/redact"
)

// Feed limits, per the specification: 90 days, 1000 requests.
const (
	maxSpan  = 90 * 24 * time.Hour
	maxFeed  = 1000
	maxIDs   = 200
	maskName = "[nom]"
)

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// publicRequest is a request as the public feed shows it: no name, no
// contact, no citizen's address; the description only with consent.
type publicRequest struct {
	XMLName           xml.Name `json:"-" xml:"request"`
	ID                string   `json:"service_request_id" xml:"service_request_id"`
	Status            string   `json:"status" xml:"status"`
	StatusNotes       *string  `json:"status_notes" xml:"status_notes,omitempty"`
	ServiceName       *string  `json:"service_name" xml:"service_name,omitempty"`
	ServiceCode       string   `json:"service_code" xml:"service_code"`
	Description       *string  `json:"description" xml:"description,omitempty"`
	AgencyResponsible *string  `json:"agency_responsible" xml:"agency_responsible,omitempty"`
	ServiceNotice     *string  `json:"service_notice" xml:"service_notice,omitempty"`
	RequestedDatetime string   `json:"requested_datetime" xml:"requested_datetime"`
	UpdatedDatetime   *string  `json:"updated_datetime" xml:"updated_datetime,omitempty"`
	ExpectedDatetime  *string  `json:"expected_datetime" xml:"expected_datetime,omitempty"`
	Address           *string  `json:"address" xml:"address,omitempty"`
	AddressID         *string  `json:"address_id" xml:"address_id,omitempty"`
	Zipcode           *string  `json:"zipcode" xml:"zipcode,omitempty"`
	Lat               *float64 `json:"lat" xml:"lat,omitempty"`
	Long              *float64 `json:"long" xml:"long,omitempty"`
	MediaURL          *string  `json:"media_url" xml:"media_url,omitempty"`
}

type requestsXML struct {
	XMLName  xml.Name        `xml:"service_requests"`
	Requests []publicRequest `xml:"request"`
}

// list serves GET requests.<format>.
func (h *Handler) list(w http.ResponseWriter, r *http.Request, format string) {
	q, errs := h.parseQuery(r.URL.Query(), time.Now())
	if len(errs) > 0 {
		h.fail(w, format, http.StatusBadRequest, errs...)
		return
	}
	h.answer(w, r, format, q, "")
}

// one serves GET requests/<id>.<format>.
func (h *Handler) one(w http.ResponseWriter, r *http.Request, format, id string) {
	if !uuidPattern.MatchString(id) {
		h.fail(w, format, http.StatusNotFound, "demande introuvable : "+clip(id, 64))
		return
	}
	h.answer(w, r, format, casestore.PublicQuery{IDs: []string{id}, Services: h.codes()}, id)
}

// answer reads the feed; a single id asked and not found is a 404.
func (h *Handler) answer(w http.ResponseWriter, r *http.Request, format string, q casestore.PublicQuery, single string) {
	rows, err := h.deps.Store.PublicRequests(r.Context(), q)
	if err != nil {
		kind := fault.KindOf(err)
		h.deps.Log.Warn("open311: public feed", "err", err, "kind", kind)
		w.Header().Set("Retry-After", "5")
		h.fail(w, format, http.StatusServiceUnavailable, "service momentanément indisponible, réessayez dans quelques secondes")
		return
	}
	if single != "" && len(rows) == 0 {
		h.fail(w, format, http.StatusNotFound, "demande introuvable : "+single)
		return
	}
	out := make([]publicRequest, 0, len(rows))
	for _, p := range rows {
		out = append(out, h.public(p))
	}
	h.write(w, format, http.StatusOK, out, requestsXML{Requests: out})
}

// codes are the services the feed may show.
func (h *Handler) codes() []string {
	out := make([]string, 0, len(h.services))
	for _, s := range h.services {
		out = append(out, s.Code)
	}
	return out
}

// parseQuery reads the arguments of GET requests: service_request_id
// (comma-separated, overriding the others), service_code (comma-separated),
// start_date and end_date (90 days apart at most; by default the last 90
// days), status (open, closed).
func (h *Handler) parseQuery(v url.Values, now time.Time) (casestore.PublicQuery, []string) {
	var errs problems
	q := casestore.PublicQuery{Services: h.codes(), Limit: maxFeed}
	for _, k := range []string{"service_request_id", "service_code", "start_date", "end_date", "status", "jurisdiction_id"} {
		if len(v[k]) > 1 {
			errs.add("le paramètre %s est donné plusieurs fois (une liste s'écrit séparée par des virgules)", k)
		}
	}
	if ids := strings.TrimSpace(v.Get("service_request_id")); ids != "" {
		for _, id := range strings.Split(ids, ",") {
			id = strings.TrimSpace(id)
			if !uuidPattern.MatchString(id) {
				errs.add("service_request_id invalide : %s", clip(id, 64))
				continue
			}
			q.IDs = append(q.IDs, id)
		}
		if len(q.IDs) > maxIDs {
			errs.add("%d service_request_id au plus à la fois", maxIDs)
		}
		// The specification: the ids override every other argument.
		return q, errs
	}
	if codes := strings.TrimSpace(v.Get("service_code")); codes != "" {
		var want []string
		for _, c := range strings.Split(codes, ",") {
			c = strings.TrimSpace(c)
			if !slices.Contains(q.Services, c) {
				errs.add("service_code inconnu : %s (voir services.json)", clip(c, 64))
				continue
			}
			want = append(want, c)
		}
		q.Services = want
	}
	var start, end time.Time
	var ok bool
	if s := strings.TrimSpace(v.Get("start_date")); s != "" {
		if start, ok = parseDate(s); !ok {
			errs.add("start_date n'est pas une date ISO 8601 avec fuseau (par exemple 2026-11-01T00:00:00Z)")
		}
	}
	if s := strings.TrimSpace(v.Get("end_date")); s != "" {
		if end, ok = parseDate(s); !ok {
			errs.add("end_date n'est pas une date ISO 8601 avec fuseau (par exemple 2026-11-30T23:59:59Z)")
		} else if len(s) == len(time.DateOnly) {
			end = end.Add(24*time.Hour - time.Second) // the whole day
		}
	}
	switch {
	case start.IsZero() && end.IsZero():
		end, start = now, now.Add(-maxSpan)
	case end.IsZero():
		end = start.Add(maxSpan)
	case start.IsZero():
		start = end.Add(-maxSpan)
	}
	switch {
	case end.Before(start):
		errs.add("end_date précède start_date")
	case end.Sub(start) > maxSpan:
		errs.add("de start_date à end_date : 90 jours au plus")
	}
	q.From, q.To = start, end
	if st := strings.TrimSpace(v.Get("status")); st != "" {
		var open, closed bool
		for _, s := range strings.Split(st, ",") {
			switch strings.TrimSpace(s) {
			case "open":
				open = true
			case "closed":
				closed = true
			default:
				errs.add("status vaut open ou closed")
			}
		}
		switch {
		case open && !closed:
			q.Status = "open"
		case closed && !open:
			q.Status = "closed"
		}
	}
	return q, errs
}

// parseDate reads a W3C date-time with its time zone, or a day (UTC).
func parseDate(s string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, true
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, true
	}
	return time.Time{}, false
}

// public turns a request of the store into the feed's: the status from
// the case's state, the state's label as the note, the team of the
// competence and territory as the agency.
func (h *Handler) public(p casestore.PublicRequest) publicRequest {
	out := publicRequest{ID: p.ID, Status: "open", ServiceCode: p.Service, RequestedDatetime: stamp(p.ReceivedAt),
		UpdatedDatetime: ptr(stamp(p.UpdatedAt))}
	if slices.Contains(casestore.ClosedStates, p.State) {
		out.Status = "closed"
	}
	note := "Demande reçue, en cours d'orientation"
	if p.State != "" {
		note = "Demande " + catalogue.StateLabel(p.State)
	}
	out.StatusNotes = &note
	if k, ok := h.byCode[p.Service]; ok {
		out.ServiceName = ptr(k.Label)
	}
	agency := h.deps.Catalogue.ServiceFor(p.Service)
	if t, ok := h.deps.Catalogue.Team(p.Service, p.Territory); ok && p.Territory != "" {
		agency = t.Name
	}
	out.AgencyResponsible = &agency
	if p.Deadline != nil && out.Status == "open" {
		out.ExpectedDatetime = ptr(stamp(*p.Deadline))
	}
	if l := p.Location; l != nil {
		// The street, not the door: the place of a problem is often
		// someone's home (a dwelling reported unfit, a noisy neighbour).
		if a := streetLevel(redact.Text(l.Address)); a != "" {
			out.Address = ptr(a)
		}
		if l.PostalCode != "" {
			out.Zipcode = ptr(l.PostalCode)
		}
		out.Lat, out.Long = coarse(l.Lat), coarse(l.Lon)
	}
	if p.Consent && p.Description != "" {
		out.Description = ptr(Scrub(p.Description, p.Contacts))
	}
	return out
}

// houseNumber is a number at the head of an address, with its suffix
// ("12", "12 bis", "12B,").
var houseNumber = regexp.MustCompile(`(?i)^\s*\d+\s*(bis|ter|quater|[a-d])?\b[\s,]*`)

// streetLevel is an address without its house number.
func streetLevel(address string) string {
	return strings.TrimSpace(houseNumber.ReplaceAllString(address, ""))
}

// coarse rounds a coordinate to three decimals (about 100 m): the public
// feed places a problem in its street, not at a door.
func coarse(v *float64) *float64 {
	if v == nil {
		return nil
	}
	r := math.Round(*v*1000) / 1000
	return &r
}

// stamp writes a time as the specification wants it: ISO 8601 with its
// zone (UTC).
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Scrub prepares a description a citizen agreed to publish: their contacts
// and any e-mail address or phone number masked, their name too (each word
// of it, whatever the case), cut to the specification's 4000 characters.
func Scrub(text string, contacts []string) string {
	// Addresses first: a name is often part of one.
	text = redact.Text(text)
	for _, c := range contacts {
		if c == "" || strings.Contains(c, "@") || strings.HasPrefix(c, "+") {
			continue
		}
		for _, word := range strings.FieldsFunc(c, func(r rune) bool { return !unicode.IsLetter(r) && r != '\'' }) {
			if utf8.RuneCountInString(word) >= 2 {
				text = replaceWord(text, word, maskName)
			}
		}
	}
	if utf8.RuneCountInString(text) > maxDescription {
		text = string([]rune(text)[:maxDescription-1]) + "…"
	}
	return text
}

// replaceWord replaces every whole-word occurrence of word in text, in any
// case.
func replaceWord(text, word, with string) string {
	re, err := regexp.Compile(`(?i)(^|[^\p{L}\p{N}])` + regexp.QuoteMeta(word) + `($|[^\p{L}\p{N}])`)
	if err != nil {
		return text
	}
	// Matches overlap by their boundary characters ("Roux Roux"): twice.
	for range 2 {
		text = re.ReplaceAllString(text, "${1}"+with+"${2}")
	}
	return text
}
