package deploytest

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// deployDir is the repository's deploy/ folder (tests run in their package's
// folder, deploy/deploytest).
func deployDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// readFile returns a file's content under deploy/.
func readFile(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(deployDir(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// envFile is an env file's variables in order (comments and blank lines
// dropped), as KEY=VALUE lines without quoting, the form Compose and
// kustomize both read.
type envFile struct {
	keys   []string
	values map[string]string
}

func parseEnvFile(t *testing.T, rel string) envFile {
	t.Helper()
	f := envFile{values: map[string]string{}}
	sc := bufio.NewScanner(strings.NewReader(readFile(t, rel)))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			t.Fatalf("%s:%d: KEY=VALUE expected, got %q", rel, n, line)
		}
		if _, dup := f.values[k]; dup {
			t.Fatalf("%s:%d: %s set twice", rel, n, k)
		}
		f.keys = append(f.keys, k)
		f.values[k] = v
	}
	return f
}

// knownVariables are the environment variables Guichet reads: the first
// column of docs/configuration.md, which cmd/guichet writes from its
// settings table (and a test there keeps fresh).
func knownVariables(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(deployDir(t), "..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "| `"); ok {
			if name, _, ok := strings.Cut(rest, "`"); ok {
				known[name] = true
			}
		}
	}
	if !known["GUICHET_STREAM_REPLICAS"] || !known["NATS_URL"] {
		t.Fatalf("docs/configuration.md: variables not found (%d found)", len(known))
	}
	return known
}

// checkVariables fails for a variable Guichet does not read (a typo that
// would silently leave a setting at its default). except lists variables
// that are for the deployment itself, not for Guichet.
func checkVariables(t *testing.T, rel string, f envFile, except ...string) {
	t.Helper()
	known := knownVariables(t)
	for _, k := range f.keys {
		if !known[k] && !slices.Contains(except, k) {
			t.Errorf("%s: %s is not a variable Guichet reads (docs/configuration.md)", rel, k)
		}
	}
}
