package open311_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/deadline"
	"github.com/ampmetropole/guichet/services/cases/lifecycle"
	"github.com/ampmetropole/guichet/services/channels/open311"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/stack"
)

// schemaSet compiles the GeoReport v2 schemas of testdata/schema.
type schemaSet map[string]*jsonschema.Schema

func loadSchemas(t *testing.T) schemaSet {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	files, err := filepath.Glob("testdata/schema/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no schemas: %v", err)
	}
	const base = "https://open311.test/schema/"
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if err := c.AddResource(base+filepath.Base(f), doc); err != nil {
			t.Fatal(err)
		}
	}
	set := schemaSet{}
	for _, f := range files {
		s, err := c.Compile(base + filepath.Base(f))
		if err != nil {
			t.Fatalf("compile %s: %v", f, err)
		}
		set[strings.TrimSuffix(filepath.Base(f), ".json")] = s
	}
	return set
}

// validate checks a JSON document against a schema of the set.
func (s schemaSet) validate(t *testing.T, schema string, body []byte) {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("not JSON: %v\n%s", err, body)
	}
	if err := s[schema].Validate(doc); err != nil {
		t.Fatalf("does not match %s.json: %v\n%s", schema, err, body)
	}
}

// lists are the XML elements whose children make a JSON array, by the
// name of those children (the Spark convention of the specification).
var lists = map[string]string{"services": "service", "service_requests": "request", "errors": "error",
	"attributes": "attribute", "values": "value", "endpoints": "endpoint", "formats": "format"}

// Leaves typed otherwise than as strings.
var (
	booleans = map[string]bool{"metadata": true, "variable": true, "required": true}
	numbers  = map[string]bool{"lat": true, "long": true, "order": true, "code": true}
)

type xmlNode struct {
	XMLName  xml.Name
	Children []xmlNode `xml:",any"`
	Text     string    `xml:",chardata"`
}

// xmlToJSON converts an XML answer into the JSON shape of the same
// resource, so that it can be validated against the same schema.
func xmlToJSON(t *testing.T, body []byte) []byte {
	t.Helper()
	if !bytes.HasPrefix(body, []byte(`<?xml version="1.0" encoding="UTF-8"?>`)) {
		t.Fatalf("no XML declaration with UTF-8:\n%s", body)
	}
	var root xmlNode
	if err := xml.Unmarshal(body, &root); err != nil {
		t.Fatalf("not XML: %v\n%s", err, body)
	}
	var conv func(n xmlNode, parent string) any
	conv = func(n xmlNode, parent string) any {
		name := n.XMLName.Local
		if child, ok := lists[name]; ok {
			arr := []any{}
			for _, c := range n.Children {
				if c.XMLName.Local != child {
					t.Fatalf("<%s> holds <%s>, want <%s>", name, c.XMLName.Local, child)
				}
				arr = append(arr, conv(c, name))
			}
			return arr
		}
		if len(n.Children) > 0 {
			obj := map[string]any{}
			for _, c := range n.Children {
				if _, dup := obj[c.XMLName.Local]; dup {
					t.Fatalf("<%s> twice in <%s>", c.XMLName.Local, name)
				}
				obj[c.XMLName.Local] = conv(c, name)
			}
			return obj
		}
		switch {
		case booleans[name]:
			b, err := strconv.ParseBool(n.Text)
			if err != nil {
				t.Fatalf("<%s>%s</%s> is not a boolean", name, n.Text, name)
			}
			return b
		case numbers[name] && !(name == "code" && parent != "error"):
			f, err := strconv.ParseFloat(n.Text, 64)
			if err != nil {
				t.Fatalf("<%s>%s</%s> is not a number", name, n.Text, name)
			}
			return f
		}
		return n.Text
	}
	out, err := json.Marshal(conv(root, ""))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// withoutNulls drops the null members of a JSON document (XML omits
// them), for comparing the two formats.
func withoutNulls(t *testing.T, body []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	var walk func(v any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if e == nil {
					delete(x, k)
				} else {
					x[k] = walk(e)
				}
			}
		case []any:
			for i, e := range x {
				x[i] = walk(e)
			}
		}
		return v
	}
	return walk(v)
}

type bundle struct {
	st      stack.Stack
	srv     *httptest.Server
	schemas schemaSet
	partner string // a partner's API token
}

func setup(t *testing.T) bundle {
	t.Helper()
	st := stack.New(t, stack.Options{Router: true})
	h, err := open311.New(open311.Config{}, open311.Deps{Keys: st.Auth, Intake: st.Intake, Store: st.Store,
		Catalogue: st.Catalogue, Places: st.Places, Log: testkit.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(open311.Base, h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return bundle{st: st, srv: srv, schemas: loadSchemas(t), partner: st.Token(t, "partner", nil, nil)}
}

// call makes one HTTP request and returns the status and body.
func (b bundle) call(t *testing.T, method, path string, form url.Values, header map[string]string) (int, []byte, http.Header) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, raw, resp.Header
}

// get fetches a resource in both formats, checks their content types,
// validates both against schema and that they say the same; it returns
// the JSON.
func (b bundle) get(t *testing.T, resource string, want int, schema string) []byte {
	t.Helper()
	resource, query, _ := strings.Cut(resource, "?")
	if query != "" {
		query = "?" + query
	}
	code, js, hd := b.call(t, "GET", open311.Base+resource+".json"+query, nil, nil)
	if code != want || hd.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("GET %s.json: %d %s\n%s", resource, code, hd.Get("Content-Type"), js)
	}
	b.schemas.validate(t, schema, js)
	code, x, hd := b.call(t, "GET", open311.Base+resource+".xml"+query, nil, nil)
	if code != want || hd.Get("Content-Type") != "text/xml; charset=utf-8" {
		t.Fatalf("GET %s.xml: %d %s\n%s", resource, code, hd.Get("Content-Type"), x)
	}
	converted := xmlToJSON(t, x)
	b.schemas.validate(t, schema, converted)
	if got, want := withoutNulls(t, converted), withoutNulls(t, js); !jsonEqual(got, want) {
		t.Fatalf("XML and JSON differ for %s:\n xml %s\njson %s", resource, converted, js)
	}
	return js
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// post submits a form and returns the status and the answer converted to
// JSON (from XML when format is xml), validated against schema.
func (b bundle) post(t *testing.T, format string, form url.Values, header map[string]string, want int, schema string) []byte {
	t.Helper()
	code, body, hd := b.call(t, "POST", open311.Base+"requests."+format, form, header)
	if code != want {
		t.Fatalf("POST requests.%s: %d, want %d\n%s", format, code, want, body)
	}
	if format == "xml" {
		if hd.Get("Content-Type") != "text/xml; charset=utf-8" {
			t.Fatalf("content type %q", hd.Get("Content-Type"))
		}
		body = xmlToJSON(t, body)
	} else if hd.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("content type %q", hd.Get("Content-Type"))
	}
	b.schemas.validate(t, schema, body)
	return body
}

// Personal data of the test citizen, in the fields and in the text.
const (
	firstName = "Camille"
	lastName  = "Rouxval"
	email     = "camille.rouxval@example.org"
	phone     = "06 39 98 14 27"
	e164      = "+33639981427"
)

var personal = []string{firstName, lastName, strings.ToLower(lastName), email, phone, e164, "0639981427", "39 98 14 27"}

func noPersonalData(t *testing.T, what string, body []byte) {
	t.Helper()
	for _, p := range personal {
		if bytes.Contains(bytes.ToLower(body), bytes.ToLower([]byte(p))) {
			t.Errorf("%s shows %q:\n%s", what, p, body)
		}
	}
}

func citizenForm(service, text string) url.Values {
	return url.Values{"service_code": {service}, "description": {text},
		"first_name": {firstName}, "last_name": {lastName}, "email": {email}, "phone": {phone}}
}

// storedPayload reads a request as the case store holds it.
func storedPayload(t *testing.T, st stack.Stack, id string) schemas.Request {
	t.Helper()
	var raw []byte
	if err := st.Store.DB().QueryRow(context.Background(), `SELECT payload FROM requests WHERE id = $1`, id).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	var r schemas.Request
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

type feedItem struct {
	ID                string   `json:"service_request_id"`
	Status            string   `json:"status"`
	StatusNotes       *string  `json:"status_notes"`
	ServiceCode       string   `json:"service_code"`
	ServiceName       *string  `json:"service_name"`
	Description       *string  `json:"description"`
	AgencyResponsible *string  `json:"agency_responsible"`
	ExpectedDatetime  *string  `json:"expected_datetime"`
	Address           *string  `json:"address"`
	Zipcode           *string  `json:"zipcode"`
	Lat               *float64 `json:"lat"`
	Long              *float64 `json:"long"`
}

func decodeFeed(t *testing.T, body []byte) map[string]feedItem {
	t.Helper()
	var items []feedItem
	if err := json.Unmarshal(body, &items); err != nil {
		t.Fatal(err)
	}
	out := map[string]feedItem{}
	for _, it := range items {
		out[it.ID] = it
	}
	return out
}

func TestOpen311(t *testing.T) {
	b := setup(t)

	t.Run("discovery", func(t *testing.T) {
		js := b.get(t, "discovery", 200, "discovery")
		var d struct {
			Contact   string `json:"contact"`
			Endpoints []struct {
				URL     string   `json:"url"`
				Formats []string `json:"formats"`
			} `json:"endpoints"`
		}
		if err := json.Unmarshal(js, &d); err != nil {
			t.Fatal(err)
		}
		if len(d.Endpoints) != 1 || d.Endpoints[0].URL != b.srv.URL+"/open311/v2" || len(d.Endpoints[0].Formats) != 2 {
			t.Errorf("endpoints: %+v", d.Endpoints)
		}
		if !strings.Contains(d.Contact, b.st.Catalogue.Organisation.Name) {
			t.Errorf("contact %q does not name the organisation", d.Contact)
		}
	})

	t.Run("services", func(t *testing.T) {
		js := b.get(t, "services", 200, "services")
		var list []struct {
			Code, Name, Group string
			Metadata          bool
		}
		var raw []map[string]any
		if err := json.Unmarshal(js, &raw); err != nil {
			t.Fatal(err)
		}
		for _, s := range raw {
			list = append(list, struct {
				Code, Name, Group string
				Metadata          bool
			}{s["service_code"].(string), s["service_name"].(string), s["group"].(string), s["metadata"].(bool)})
		}
		codes := map[string]bool{}
		for _, s := range list {
			codes[s.Code] = true
			if !s.Metadata || s.Group == "" {
				t.Errorf("service %+v: metadata and group expected", s)
			}
		}
		if !codes["voirie"] || !codes["proprete"] || codes["donnees_personnelles"] || codes["hors_competence"] {
			t.Errorf("service codes %v", codes)
		}
		if len(list) != len(b.st.Catalogue.Competences)-2 {
			t.Errorf("%d services for %d competences", len(list), len(b.st.Catalogue.Competences))
		}
	})

	t.Run("definition", func(t *testing.T) {
		js := b.get(t, "services/voirie", 200, "service-definition")
		if !bytes.Contains(js, []byte(`"code":"publication"`)) {
			t.Errorf("no publication attribute: %s", js)
		}
		for _, code := range []string{"inconnu", "donnees_personnelles"} {
			js := b.get(t, "services/"+code, 404, "errors")
			if !bytes.Contains(js, []byte(`"code":404`)) || !bytes.Contains(js, []byte("service inconnu")) {
				t.Errorf("unknown service %s: %s", code, js)
			}
		}
	})

	// Two reports with the citizen's name, e-mail and phone in the fields
	// and in the text: the first without consent (JSON, api_key), the
	// second with it (XML, Bearer).
	var private, public string
	t.Run("post", func(t *testing.T) {
		text := fmt.Sprintf("Nid-de-poule dangereux. Rappelez-moi au %s ou écrivez à %s. %s %s", phone, email, firstName, lastName)
		form := citizenForm("voirie", text)
		form.Set("lat", "43.296482")
		form.Set("long", "5.36978")
		form.Set("address_string", "Quai du Port, 13002 Marseille")
		form.Set("api_key", b.partner)
		form.Set("device_id", "appareil-42")
		js := b.post(t, "json", form, nil, 200, "post-response")
		var got []map[string]any
		if err := json.Unmarshal(js, &got); err != nil {
			t.Fatal(err)
		}
		private, _ = got[0]["service_request_id"].(string)
		if _, ok := got[0]["account_id"]; !ok || got[0]["account_id"] != nil {
			t.Errorf("account_id should be null: %s", js)
		}

		text = fmt.Sprintf("Tag sur le mur de l'école. Contact : %s, %s — %s %s", email, phone, firstName, strings.ToUpper(lastName))
		form = citizenForm("proprete", text)
		form.Set("address_string", "12 avenue des Goums 13400 Aubagne")
		form.Set("attribute[publication]", "true")
		form.Set("attribute[objet]", "Tag")
		x := b.post(t, "xml", form, map[string]string{"Authorization": "Bearer " + b.partner}, 200, "post-response")
		var gotx []map[string]any
		if err := json.Unmarshal(x, &gotx); err != nil {
			t.Fatal(err)
		}
		public, _ = gotx[0]["service_request_id"].(string)
		if private == "" || public == "" || private == public {
			t.Fatalf("ids %q %q", private, public)
		}
		b.st.CaseRef(t, private)
		b.st.CaseRef(t, public)

		r := storedPayload(t, b.st, private)
		if r.Channel != schemas.ChannelOpen311 || r.Source.Adapter != "open311" || !strings.HasPrefix(r.Source.System, "test-partner-") ||
			r.Source.ExternalID != "appareil-42" || r.PublicationConsent {
			t.Errorf("stored request: %+v", r)
		}
		if r.Citizen == nil || r.Citizen.Phone != e164 || r.Citizen.Email != email || r.Citizen.Name != firstName+" "+lastName {
			t.Errorf("citizen %+v", r.Citizen)
		}
		if r.Hints == nil || r.Hints.Competence != "voirie" || r.Location == nil || r.Location.Lat == nil ||
			r.Location.PostalCode != "13002" || r.Location.CommuneINSEE == "" {
			t.Errorf("hints %+v, location %+v", r.Hints, r.Location)
		}
		r = storedPayload(t, b.st, public)
		if !r.PublicationConsent || r.Subject != "Tag" || r.Location == nil || r.Location.PostalCode != "13400" {
			t.Errorf("stored request with consent: %+v %+v", r, r.Location)
		}
		if c, ok := b.st.Places.ByINSEE(r.Location.CommuneINSEE); !ok || c.Name != "Aubagne" {
			t.Errorf("commune %q, want Aubagne", r.Location.CommuneINSEE)
		}
	})

	t.Run("feed", func(t *testing.T) {
		js := b.get(t, "requests", 200, "requests")
		noPersonalData(t, "the feed", js)
		_, x, _ := b.call(t, "GET", open311.Base+"requests.xml", nil, nil)
		noPersonalData(t, "the XML feed", x)
		feed := decodeFeed(t, js)
		p, ok := feed[private]
		if !ok || p.Description != nil || p.ServiceCode != "voirie" || p.Status != "open" || p.Lat == nil || p.Address == nil ||
			p.AgencyResponsible == nil || *p.AgencyResponsible != "Voirie — Marseille-Provence" || p.ExpectedDatetime == nil {
			t.Errorf("request without consent: %+v", p)
		}
		q, ok := feed[public]
		if !ok || q.Description == nil {
			t.Fatalf("request with consent: %+v", q)
		}
		// The street, not the door; coordinates to about 100 m.
		if q.Address == nil || *q.Address != "avenue des Goums 13400 Aubagne" {
			t.Errorf("published address %v, want the street without its number", q.Address)
		}
		if p.Lat == nil || *p.Lat != 43.296 {
			t.Errorf("published latitude %v, want 43.296 (rounded from 43.296482)", p.Lat)
		}
		d := *q.Description
		if !strings.Contains(d, "Tag sur le mur de l'école") || !strings.Contains(d, "[courriel]") || !strings.Contains(d, "[téléphone]") || !strings.Contains(d, "[nom]") {
			t.Errorf("published description %q", d)
		}
		one := b.get(t, "requests/"+public, 200, "requests")
		if got := decodeFeed(t, one); len(got) != 1 || got[public].ServiceCode != "proprete" {
			t.Errorf("requests/%s: %s", public, one)
		}
		noPersonalData(t, "one request", one)
		byID := b.get(t, "requests", 200, "requests") // the default period holds both
		if len(decodeFeed(t, byID)) < 2 {
			t.Errorf("feed %s", byID)
		}
	})

	t.Run("status", func(t *testing.T) {
		ref := b.st.CaseRef(t, public)
		cal := deadline.New(frtime.Paris())
		for _, to := range []string{lifecycle.Qualified, lifecycle.InProgress, lifecycle.Resolved} {
			if _, err := b.st.Store.Transition(context.Background(), casestore.TransitionRequest{Ref: ref, To: to, Role: lifecycle.RoleTeam,
				Change: casestore.Change{Actor: "julie", Reason: "nettoyé"}}, cal); err != nil {
				t.Fatal(err)
			}
		}
		closed := decodeFeed(t, b.get(t, "requests?status=closed", 200, "requests"))
		if c, ok := closed[public]; !ok || c.Status != "closed" || c.StatusNotes == nil || *c.StatusNotes != "Demande résolue" || c.ExpectedDatetime != nil {
			t.Errorf("closed: %+v", closed)
		}
		if _, ok := closed[private]; ok {
			t.Errorf("an open request in the closed feed")
		}
		open := decodeFeed(t, b.get(t, "requests?status=open&service_code=voirie,proprete", 200, "requests"))
		if _, ok := open[public]; ok {
			t.Errorf("a closed request in the open feed")
		}
		if _, ok := open[private]; !ok {
			t.Errorf("the open request is missing from the open feed")
		}
		ids := decodeFeed(t, b.get(t, "requests?service_request_id="+private+","+public, 200, "requests"))
		if len(ids) != 2 {
			t.Errorf("by ids: %v", ids)
		}
		old := decodeFeed(t, b.get(t, "requests?start_date=2020-01-01T00:00:00Z&end_date=2020-03-01T00:00:00Z", 200, "requests"))
		if len(old) != 0 {
			t.Errorf("requests of 2020: %v", old)
		}
		// Whole days (yesterday too, should the test run across midnight).
		now := time.Now().UTC()
		days := "requests?start_date=" + now.AddDate(0, 0, -1).Format(time.DateOnly) + "&end_date=" + now.Format(time.DateOnly)
		if days := decodeFeed(t, b.get(t, days, 200, "requests")); len(days) < 2 {
			t.Errorf("today's requests, by days: %v", days)
		}
	})

	// Requests of other channels and other partners are in the public feed
	// too, and just as anonymous.
	t.Run("other channels and partners", func(t *testing.T) {
		web, _ := b.st.Route(t, schemas.Request{Channel: schemas.ChannelWeb, Subject: "Lampadaire", Body: "Lampadaire éteint. " + email,
			Location: &schemas.Location{Address: "Cours Mirabeau 13100 Aix-en-Provence", PostalCode: "13100"},
			Citizen:  &schemas.Citizen{Name: firstName + " " + lastName, Email: email, Phone: e164},
			Hints:    &schemas.Hints{Competence: "eclairage"}})
		_ = web
		other := b.st.Token(t, "partner", nil, nil)
		form := citizenForm("dechets", "Bac renversé, "+firstName+" "+lastName+" "+phone)
		form.Set("lat", "43.5297")
		form.Set("long", "5.4474")
		form.Set("api_key", other)
		js := b.post(t, "json", form, nil, 200, "post-response")
		var got []map[string]any
		_ = json.Unmarshal(js, &got)
		id := got[0]["service_request_id"].(string)
		b.st.CaseRef(t, id)
		feed := b.get(t, "requests", 200, "requests")
		noPersonalData(t, "the feed", feed)
		items := decodeFeed(t, feed)
		if it, ok := items[id]; !ok || it.ServiceCode != "dechets" || it.Description != nil {
			t.Errorf("the other partner's request: %+v", it)
		}
		found := false
		for _, it := range items {
			if it.ServiceCode == "eclairage" {
				found = true
			}
		}
		if !found {
			t.Errorf("the web request is not in the feed")
		}
	})

	t.Run("abuse", func(t *testing.T) {
		telephony := b.st.Token(t, "telephony", nil, nil)
		valid := func() url.Values {
			f := citizenForm("voirie", "Trou dans la chaussée")
			f.Set("lat", "43.3")
			f.Set("long", "5.4")
			f.Set("api_key", b.partner)
			return f
		}
		with := func(mut func(url.Values)) url.Values { f := valid(); mut(f); return f }
		cases := []struct {
			name   string
			form   url.Values
			header map[string]string
			want   int
		}{
			{"no key", with(func(f url.Values) { f.Del("api_key") }), nil, 403},
			{"a telephony token", with(func(f url.Values) { f.Set("api_key", telephony) }), nil, 403},
			{"a telephony bearer", with(func(f url.Values) { f.Del("api_key") }), map[string]string{"Authorization": "Bearer " + telephony}, 403},
			{"an unknown token", with(func(f url.Values) { f.Set("api_key", "gch_"+strings.Repeat("A", 43)) }), nil, 403},
			{"unknown service", with(func(f url.Values) { f.Set("service_code", "police") }), nil, 400},
			{"personal data service", with(func(f url.Values) { f.Set("service_code", "donnees_personnelles") }), nil, 400},
			{"malformed lat", with(func(f url.Values) { f.Set("lat", "43,3x") }), nil, 400},
			{"lat without long", with(func(f url.Values) { f.Del("long") }), nil, 400},
			{"outside the Métropole", with(func(f url.Values) { f.Set("lat", "48.85"); f.Set("long", "2.35") }), nil, 400},
			{"no place", with(func(f url.Values) { f.Del("lat"); f.Del("long") }), nil, 400},
			{"bad e-mail", with(func(f url.Values) { f.Set("email", "pas une adresse") }), nil, 400},
			{"bad phone", with(func(f url.Values) { f.Set("phone", "12") }), nil, 400},
			{"unknown attribute", with(func(f url.Values) { f.Set("attribute[couleur]", "rouge") }), nil, 400},
			{"bad consent", with(func(f url.Values) { f.Set("attribute[publication]", "peut-être") }), nil, 400},
			{"too long", with(func(f url.Values) { f.Set("description", strings.Repeat("é", 4001)) }), nil, 400},
			{"oversized body", with(func(f url.Values) { f.Set("description", strings.Repeat("a", 70<<10)) }), nil, 413},
			{"twice", with(func(f url.Values) { f.Add("service_code", "proprete") }), nil, 400},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				for _, format := range []string{"json", "xml"} {
					js := b.post(t, format, tc.form, tc.header, tc.want, "errors")
					if !bytes.Contains(js, fmt.Appendf(nil, `"code":%d`, tc.want)) {
						t.Errorf("error code: %s", js)
					}
				}
			})
		}
		for _, tc := range []struct {
			path string
			want int
		}{
			{"requests?start_date=2026-01-01T00:00:00Z&end_date=2026-05-01T00:00:00Z", 400},
			{"requests?end_date=2026-01-01T00:00:00Z&start_date=2026-02-01T00:00:00Z", 400},
			{"requests?start_date=hier", 400},
			{"requests?status=pending", 400},
			{"requests?service_code=police", 400},
			{"requests?service_code=donnees_personnelles", 400},
			{"requests?service_request_id=1234", 400},
			{"requests/019ac4e4-0a11-7b66-8f70-5a4b3c2d1e05", 404},
			{"requests/pas-un-id", 404},
			{"inconnu", 404},
		} {
			t.Run(tc.path, func(t *testing.T) {
				path, query, _ := strings.Cut(tc.path, "?")
				if query != "" {
					query = "?" + query
				}
				for _, format := range []string{"json", "xml"} {
					code, body, _ := b.call(t, "GET", open311.Base+path+"."+format+query, nil, nil)
					if code != tc.want {
						t.Fatalf("%s.%s: %d, want %d\n%s", path, format, code, tc.want, body)
					}
					if format == "xml" {
						body = xmlToJSON(t, body)
					}
					b.schemas.validate(t, "errors", body)
				}
			})
		}
		if code, body, _ := b.call(t, "DELETE", open311.Base+"requests.json", nil, nil); code != 405 {
			t.Errorf("DELETE: %d %s", code, body)
		}
		code, body, _ := b.call(t, "POST", open311.Base+"requests.json", nil, map[string]string{"Content-Type": "application/json"})
		if code != 400 {
			t.Errorf("JSON body: %d %s", code, body)
		}
	})
}

// A partner posting faster than its rate is told to wait.
func TestPostRate(t *testing.T) {
	st := stack.New(t, stack.Options{})
	h, err := open311.New(open311.Config{PostRate: 1}, open311.Deps{Keys: st.Auth, Intake: st.Intake, Store: st.Store,
		Catalogue: st.Catalogue, Places: st.Places, Log: testkit.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	key := st.Token(t, "partner", nil, nil)
	form := url.Values{"api_key": {key}, "service_code": {"voirie"}, "address_string": {"Place Castellane, 13006 Marseille"}, "description": {"Feu tricolore en panne"}}
	var codes []int
	for range 2 {
		resp, err := http.PostForm(srv.URL+open311.Base+"requests.json", form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
	}
	if !slices.Equal(codes, []int{200, 429}) {
		t.Errorf("codes %v, want [200 429]", codes)
	}
}

func TestScrub(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Appelez Léa Dupont au 06 12 34 56 78.", "Appelez [nom] [nom] au [téléphone]."},
		{"écrire à lea.dupont@example.org", "écrire à [courriel]"},
		{"DUPONT a vu le tag", "[nom] a vu le tag"},
		{"Dupontel n'est pas Dupont", "Dupontel n'est pas [nom]"},
		{"Rien de personnel", "Rien de personnel"},
	} {
		if got := open311.Scrub(tc.in, []string{"Léa Dupont", "lea.dupont@example.org", "+33612345678"}); got != tc.want {
			t.Errorf("Scrub(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	long := strings.Repeat("a", 5000)
	if n := len([]rune(open311.Scrub(long, nil))); n != 4000 {
		t.Errorf("scrubbed length %d", n)
	}
}
