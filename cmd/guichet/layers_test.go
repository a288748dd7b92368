package main

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// houseLayers is the house plan: the layers of services/, in the order a
// request flows through them, and the layers each may import (besides its
// own). Only the composition root (cmd/guichet) may import anything.
//
//	platform   plumbing: bus, errors, HTML pages, mail sending, time, limits
//	cases      the record and its rules: case store, lifecycle, catalogue, deadlines, places, citizens, scopes
//	language   understanding French text and speech (extraction), for the channels and the router alike
//	intake     the one way in: completing, validating, publishing; attachments
//	routing    the router and its classifier
//	outbound   what Guichet sends out: notices, replies, printed letters
//	channels   web, phone, mail: each channel's adapter, parsing and desk page (one may not import another)
//	staff      sign-in and scopes, the back office, the JSON API (the face of the channels for other systems)
//	tools      corpus, route-eval, seed
//	testkit    test support: may import anything, imported by tests only
var houseLayers = map[string][]string{
	"platform": {},
	"cases":    {"platform"},
	"language": {"platform", "cases"},
	"intake":   {"platform", "cases"},
	"routing":  {"platform", "cases", "language"},
	"outbound": {"platform", "cases"},
	"channels": {"platform", "cases", "language", "intake"},
	"staff":    {"platform", "cases", "intake", "outbound", "channels"},
	"tools":    {"platform", "cases", "language", "intake", "routing", "channels"},
	"testkit":  {"platform", "cases", "language", "intake", "routing", "outbound", "channels", "staff", "tools"},
}

const servicesImport = "github.com/ampmetropole/guichet/services/"

// layerOf returns the layer of a path under services/ ("platform/bus" →
// "platform") and, for a channel, which one ("channels/web/webform" →
// "channels", "web").
func layerOf(rel string) (layer, channel string) {
	parts := strings.Split(rel, "/")
	layer = parts[0]
	if layer == "channels" && len(parts) > 1 {
		channel = parts[1]
	}
	return layer, channel
}

// forbiddenImports reads every non-test Go file under root/services and
// returns the imports the house plan forbids, as "file imports path
// (why)".
func forbiddenImports(t *testing.T, root string) []string {
	t.Helper()
	var bad []string
	fset := token.NewFileSet()
	err := filepath.WalkDir(filepath.Join(root, "services"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, err := filepath.Rel(filepath.Join(root, "services"), path)
		if err != nil {
			return err
		}
		from, fromChannel := layerOf(filepath.ToSlash(rel))
		allowed, known := houseLayers[from]
		if !known {
			bad = append(bad, rel+": in no layer of the house plan ("+from+")")
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p := strings.Trim(imp.Path.Value, `"`)
			target, ok := strings.CutPrefix(p, servicesImport)
			if !ok {
				continue
			}
			to, toChannel := layerOf(target)
			switch {
			case to == "testkit" && from != "testkit":
				bad = append(bad, rel+" imports "+target+" (test support, for tests only)")
			case to == from && to == "channels" && fromChannel != toChannel:
				bad = append(bad, rel+" imports "+target+" (one channel does not use another)")
			case to != from && !slices.Contains(allowed, to):
				bad = append(bad, rel+" imports "+target+" ("+from+" may import "+strings.Join(append([]string{from}, allowed...), ", ")+")")
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return bad
}

// The layering is a rule the code keeps, not a picture: a package that
// imports from a layer it may not fails this test.
func TestHousePlanLayering(t *testing.T) {
	bad := forbiddenImports(t, filepath.Join("..", ".."))
	for _, b := range bad {
		t.Error(b)
	}
	top, err := filepath.Glob(filepath.Join("..", "..", "services", "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(top) > 10 {
		t.Errorf("services/ holds %d entries; the house plan has ten layers at most: %v", len(top), top)
	}
	for _, dir := range top {
		if _, ok := houseLayers[filepath.Base(dir)]; !ok {
			t.Errorf("services/%s is not a layer of the house plan", filepath.Base(dir))
		}
	}
}
