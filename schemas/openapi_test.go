package schemas

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// The OpenAPI document of the JSON API, and the package whose routes it
// must describe: server.go registers them (h.route, h.mux.Handle), helpers
// beside it may too (h.guarded).
const (
	openAPIFile   = "openapi.yaml"
	apiServerFile = "../services/staff/api/server.go"
	apiPackageDir = "../services/staff/api"
)

// loadOpenAPI loads openapi.yaml with its relative $refs to the JSON Schemas
// beside it (request.v1, case-event.v1) resolved.
func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = true // './request.v1.schema.json', nothing remote
	loader.ReadFromURIFunc = func(_ *openapi3.Loader, location *url.URL) ([]byte, error) {
		if location.Scheme != "" || location.Host != "" {
			return nil, fmt.Errorf("%s: only files beside openapi.yaml may be referred to", location)
		}
		return os.ReadFile(location.Path)
	}
	doc, err := loader.LoadFromFile(openAPIFile)
	if err != nil {
		t.Fatalf("load %s: %v", openAPIFile, err)
	}
	return doc
}

// TestOpenAPIValid checks the document against OpenAPI 3.1 (structure,
// references, parameters, security schemes, and every example against its
// schema with JSON Schema 2020-12).
func TestOpenAPIValid(t *testing.T) {
	doc := loadOpenAPI(t)
	if doc.OpenAPI != "3.1.0" || !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi: %q, want 3.1.0", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background(), openapi3.EnableMultiError()); err != nil {
		t.Fatalf("%s is not a valid OpenAPI 3.1 document:\n%v", openAPIFile, err)
	}
	if doc.Info == nil || doc.Info.Title != "API Guichet — Métropole Aix-Marseille-Provence" {
		t.Errorf("info: %+v", doc.Info)
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			// kin-openapi takes any key as a status code.
			for code := range op.Responses.Map() {
				if n, err := strconv.Atoi(code); code != "default" && (err != nil || len(code) != 3 || n < 100 || n > 599) {
					t.Errorf("%s %s: response %q is not an HTTP status code", method, path, code)
				}
			}
		}
	}
}

var (
	// routeCall is a method of the handler called with a literal route
	// pattern: h.route("GET /api/v1/requests/{id}", …), h.guarded("POST
	// /api/v1/cases/{ref}/route", …), h.mux.Handle("GET /metrics", …).
	routeCall = regexp.MustCompile(`\bh\.(?:mux\.)?([A-Za-z_]\w*)\(\s*"((?:GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) [^"]*)"`)
	// registration is every call that registers a route, whatever its
	// first argument, so that a pattern that is not a literal "METHOD /path"
	// fails the test rather than going unchecked.
	registration = regexp.MustCompile(`\bh\.(route|guarded|mux\.Handle|mux\.HandleFunc)\(\s*([^,]+),`)
	literalRoute = regexp.MustCompile(`^"([A-Z]+) (/[^" ]*)"$`)
	wildcard     = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*)(\.\.\.)?\}`)
)

// route is a route the API registers: method, path as OpenAPI writes it,
// and the helper that registers it ("route", "guarded", "Handle"…).
type route struct{ method, path, via string }

// registeredRoutes reads the route patterns out of the source of the API
// package (server.go and the files beside it, not the tests).
func registeredRoutes(t *testing.T) []route {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(apiPackageDir, "*.go"))
	if err != nil || !slices.Contains(names, filepath.Clean(apiServerFile)) {
		t.Fatalf("%s not found (%v)", apiServerFile, err)
	}
	var routes []route
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range registration.FindAllStringSubmatch(string(src), -1) {
			if arg := strings.TrimSpace(m[2]); arg != "pattern" && !literalRoute.MatchString(arg) {
				// "pattern" is a helper (route, guarded) passing on its own
				// argument; anything else hides a route from this test.
				t.Errorf("%s: h.%s(%s, …): the pattern is not a literal \"METHOD /path\", so this test cannot check that it is documented", name, m[1], arg)
			}
		}
		for _, m := range routeCall.FindAllStringSubmatch(string(src), -1) {
			lit := literalRoute.FindStringSubmatch(`"` + m[2] + `"`)
			if lit == nil {
				t.Errorf("%s: h.%s(%q, …): not a \"METHOD /path\" pattern", name, m[1], m[2])
				continue
			}
			path := strings.TrimSuffix(lit[2], "{$}")
			path = wildcard.ReplaceAllString(path, "{$1}") // {rest...} is {rest} in OpenAPI
			routes = append(routes, route{lit[1], path, m[1]})
		}
	}
	// The regexps must keep finding the routes we know of.
	for _, want := range [][2]string{{"POST", "/api/v1/requests"}, {"GET", "/api/v1/cases/{ref}"}, {"GET", "/metrics"}} {
		if !slices.ContainsFunc(routes, func(r route) bool { return r.method == want[0] && r.path == want[1] }) {
			t.Fatalf("%s: %s %s not found: has the way routes are registered changed?", apiPackageDir, want[0], want[1])
		}
	}
	return routes
}

// TestOpenAPICoversRoutes fails when the API registers a route that
// openapi.yaml does not document with the same method and path (path
// parameters with the same names). Documenting a route before it is
// registered is allowed.
func TestOpenAPICoversRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	registered := registeredRoutes(t)
	for _, r := range registered {
		method, path := r.method, r.path
		item := doc.Paths.Value(path)
		if item == nil {
			t.Errorf("%s %s is registered in %s but not documented in %s (paths: %q missing)", method, path, apiPackageDir, openAPIFile, path)
			continue
		}
		if item.GetOperation(method) == nil {
			t.Errorf("%s %s is registered in %s but %s documents no %s operation on %q", method, path, apiPackageDir, openAPIFile, strings.ToLower(method), path)
		}
	}
	// Documented ahead of the code is allowed (routes being written); say so.
	var ahead []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !slices.ContainsFunc(registered, func(r route) bool { return r.method == method && r.path == path }) {
				ahead = append(ahead, method+" "+path)
			}
		}
	}
	sort.Strings(ahead)
	for _, r := range ahead {
		t.Logf("documented, not registered in %s (yet): %s", apiPackageDir, r)
	}
}

// TestOpenAPISecurity checks the authentication the document promises
// against the code: a route registered with h.guarded (behind
// auth.RequireAPI), and every /api/v1/cases* and /api/v1/mail/* route,
// requires a bearer token or the back-office session and answers 401 and
// 403; a route registered without a guard is documented as open.
func TestOpenAPISecurity(t *testing.T) {
	doc := loadOpenAPI(t)
	via := map[[2]string]string{}
	for _, r := range registeredRoutes(t) {
		via[[2]string{r.method, r.path}] = r.via
	}
	for _, name := range []string{"bearerAuth", "sessionCookie"} {
		if doc.Components.SecuritySchemes[name] == nil {
			t.Fatalf("components.securitySchemes.%s missing", name)
		}
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			how, registered := via[[2]string{method, path}]
			guarded := how == "guarded" || strings.HasPrefix(path, "/api/v1/cases") || strings.HasPrefix(path, "/api/v1/mail/")
			var sec openapi3.SecurityRequirements
			if op.Security != nil {
				sec = *op.Security
			} else {
				sec = doc.Security
			}
			anonymous := len(sec) == 0 || slices.ContainsFunc(sec, func(r openapi3.SecurityRequirement) bool { return len(r) == 0 })
			if guarded {
				if anonymous {
					t.Errorf("%s %s: must require bearerAuth or sessionCookie, has security %v", method, path, sec)
				}
				for _, code := range []string{"401", "403"} {
					if op.Responses.Value(code) == nil {
						t.Errorf("%s %s: authenticated route without a %s response", method, path, code)
					}
				}
			} else if registered && !anonymous {
				t.Errorf("%s %s: documented as requiring authentication, but registered with h.%s, without a guard", method, path, how)
			}
		}
	}
}

// TestOpenAPIRequestSubmission checks that the body of POST /api/v1/requests
// stays request.v1 less what Guichet completes itself: one property per
// property of request.v1.schema.json, each a $ref to it, and the same
// required fields but id, schema, received_at, tracking_code, source and
// language.
func TestOpenAPIRequestSubmission(t *testing.T) {
	doc := loadOpenAPI(t)
	body := doc.Paths.Value("/api/v1/requests").Post.RequestBody.Value.Content.Get("application/json").Schema
	if body.Ref != "#/components/schemas/RequestSubmission" {
		t.Fatalf("POST /api/v1/requests body: $ref %q", body.Ref)
	}
	sub := body.Value
	raw, err := files.ReadFile("request.v1.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var req struct {
		Required   []string                   `json:"required"`
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(raw, &req); err != nil {
		t.Fatal(err)
	}
	for name := range req.Properties {
		p := sub.Properties[name]
		if p == nil {
			t.Errorf("RequestSubmission lacks %q, a property of request.v1", name)
			continue
		}
		if want := "./request.v1.schema.json#/properties/" + name; p.Ref != want {
			t.Errorf("RequestSubmission.%s: $ref %q, want %q", name, p.Ref, want)
		}
	}
	for name := range sub.Properties {
		if _, ok := req.Properties[name]; !ok {
			t.Errorf("RequestSubmission has %q, which request.v1 does not", name)
		}
	}
	completed := []string{"id", "schema", "received_at", "tracking_code", "source", "language"}
	var want []string
	for _, r := range req.Required {
		if !slices.Contains(completed, r) {
			want = append(want, r)
		}
	}
	got := slices.Clone(sub.Required)
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("RequestSubmission.required = %v, want %v (request.v1's less what Guichet completes)", got, want)
	}
	if sub.AdditionalProperties.Has == nil || *sub.AdditionalProperties.Has {
		t.Errorf("RequestSubmission must refuse other properties, as request.v1 does")
	}

	// The references resolve into request.v1 itself: the README's example
	// is accepted, and its constraints (required body, channels, no other
	// field, competences) still hold.
	ok := map[string]any{
		"channel": "web", "subject": "Nid-de-poule rue Paradis", "body": "Un trou profond devant le 112 rue Paradis.",
		"citizen":  map[string]any{"name": "Léa Martinez", "email": "lea.martinez@example.net"},
		"location": map[string]any{"postal_code": "13006"}, "hints": map[string]any{"competence": "voirie"},
	}
	if err := doc.ValidateSchemaJSON(sub, ok, openapi3.EnableJSONSchema2020()); err != nil {
		t.Errorf("README's request refused: %v", err)
	}
	for name, bad := range map[string]map[string]any{
		"no body":        {"channel": "web"},
		"bad channel":    {"channel": "fax", "body": "x"},
		"unknown field":  {"channel": "web", "body": "x", "priority": "high"},
		"bad competence": {"channel": "web", "body": "x", "hints": map[string]any{"competence": "plomberie"}},
	} {
		if err := doc.ValidateSchemaJSON(sub, bad, openapi3.EnableJSONSchema2020()); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
