package open311

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ampmetropole/guichet/services/cases/catalogue"
)

// discoveryDoc is the Service Discovery file.
type discoveryDoc struct {
	XMLName    xml.Name   `json:"-" xml:"discovery"`
	Changeset  string     `json:"changeset" xml:"changeset"`
	Contact    string     `json:"contact" xml:"contact"`
	KeyService string     `json:"key_service" xml:"key_service"`
	Endpoints  []endpoint `json:"endpoints" xml:"endpoints>endpoint"`
}

type endpoint struct {
	Specification string   `json:"specification" xml:"specification"`
	URL           string   `json:"url" xml:"url"`
	Changeset     string   `json:"changeset" xml:"changeset"`
	Type          string   `json:"type" xml:"type"`
	Formats       []string `json:"formats" xml:"formats>format"`
}

func (h *Handler) discovery(w http.ResponseWriter, r *http.Request, format string) {
	org := h.deps.Catalogue.Organisation
	cs := h.changeset.Format(time.RFC3339)
	d := discoveryDoc{
		Changeset: cs,
		Contact:   fmt.Sprintf("%s, %s — %s, %s (%s)", org.ServiceDesk, org.Name, org.Phone, org.Address, org.Hours),
		KeyService: "Clé d'API (api_key) : un jeton partenaire de Guichet, demandé au " + org.ServiceDesk +
			" et délivré par ses administrateurs (guichet token create --role partner --name <nom>).",
		Endpoints: []endpoint{{Specification: Specification, URL: h.baseURL(r), Changeset: cs, Type: "production",
			Formats: []string{"text/xml", "application/json"}}},
	}
	h.write(w, format, http.StatusOK, d, d)
}

// service is one entry of the service list.
type service struct {
	XMLName     xml.Name `json:"-" xml:"service"`
	Code        string   `json:"service_code" xml:"service_code"`
	Name        string   `json:"service_name" xml:"service_name"`
	Description string   `json:"description" xml:"description"`
	Metadata    bool     `json:"metadata" xml:"metadata"`
	Type        string   `json:"type" xml:"type"`
	Keywords    string   `json:"keywords" xml:"keywords"`
	Group       string   `json:"group" xml:"group"`
}

type servicesXML struct {
	XMLName  xml.Name  `xml:"services"`
	Services []service `xml:"service"`
}

// maxKeywords bounds the keywords of a service: its strongest routing
// phrases.
const maxKeywords = 12

// serviceOf describes a competence: its help as the description, the
// service that handles it as the group, and the phrases that most surely
// point to it as keywords.
func serviceOf(k catalogue.Competence) service {
	var kw []string
	for _, r := range k.Rules {
		if r.Weight >= 2.5 && len(kw) < maxKeywords {
			kw = append(kw, r.Phrase)
		}
	}
	return service{Code: k.Code, Name: k.Label, Description: k.Help, Metadata: true, Type: "realtime",
		Keywords: strings.Join(kw, ", "), Group: k.Service}
}

func (h *Handler) serviceList(w http.ResponseWriter, format string) {
	list := h.services
	if list == nil {
		list = []service{}
	}
	h.write(w, format, http.StatusOK, list, servicesXML{Services: list})
}

// definition is a service's definition: the attributes a POST may carry.
type definition struct {
	XMLName    xml.Name    `json:"-" xml:"service_definition"`
	Code       string      `json:"service_code" xml:"service_code"`
	Attributes []attribute `json:"attributes" xml:"attributes>attribute"`
}

type attribute struct {
	Variable            bool    `json:"variable" xml:"variable"`
	Code                string  `json:"code" xml:"code"`
	Datatype            string  `json:"datatype" xml:"datatype"`
	Required            bool    `json:"required" xml:"required"`
	DatatypeDescription *string `json:"datatype_description" xml:"datatype_description,omitempty"`
	Order               int     `json:"order" xml:"order"`
	Description         string  `json:"description" xml:"description"`
	Values              []value `json:"values,omitempty" xml:"-"`
	// XMLValues are Values for XML, where "values>value" would write an
	// empty <values/> for an attribute without any.
	XMLValues *xmlValues `json:"-" xml:"values,omitempty"`
}

type xmlValues struct {
	Values []value `xml:"value"`
}

type value struct {
	Key  string `json:"key" xml:"key"`
	Name string `json:"name" xml:"name"`
}

// Attribute codes a POST may carry (attribute[code]=…).
const (
	attrPublication = "publication"
	attrSubject     = "objet"
)

// maxSubject bounds attribute[objet], as the web form bounds its subject.
const maxSubject = 200

func ptr[T any](v T) *T { return &v }

// attributes are the same for every service: the citizen's consent to
// publication, and a subject.
func attributes() []attribute {
	list := []attribute{
		{Variable: true, Code: attrPublication, Datatype: "singlevaluelist", Required: false, Order: 1,
			DatatypeDescription: ptr("true ou false ; false si absent"),
			Description: "Le citoyen accepte-t-il que la description de son signalement, sans son nom ni ses coordonnées, " +
				"soit publiée sur les flux publics de la Métropole ? À ne mettre à true qu'avec son accord exprès.",
			Values: []value{{Key: "true", Name: "Oui, publier la description (sans nom ni coordonnées)"},
				{Key: "false", Name: "Non, ne pas la publier"}}},
		{Variable: true, Code: attrSubject, Datatype: "string", Required: false, Order: 2,
			DatatypeDescription: ptr(fmt.Sprintf("texte, %d caractères au plus", maxSubject)),
			Description:         "Objet de la demande en quelques mots ; à défaut, le nom du service."},
	}
	for i, a := range list {
		if len(a.Values) > 0 {
			list[i].XMLValues = &xmlValues{Values: a.Values}
		}
	}
	return list
}

func (h *Handler) definition(w http.ResponseWriter, format, code string) {
	if _, ok := h.byCode[code]; !ok {
		h.fail(w, format, http.StatusNotFound, "service inconnu : "+clip(code, 64)+" (voir la liste : services.json ou services.xml)")
		return
	}
	d := definition{Code: code, Attributes: attributes()}
	h.write(w, format, http.StatusOK, d, d)
}

// clip shortens what a caller sent before it is quoted back.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
