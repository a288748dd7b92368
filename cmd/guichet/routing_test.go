package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ampmetropole/guichet/services/routing/classify"
	"github.com/ampmetropole/guichet/services/testkit"
)

// The shipped model must be the one trained from the corpus in the
// repository: after editing the corpus, run `guichet train`.
func TestShippedModelIsTrainedFromTheCorpus(t *testing.T) {
	m, err := classify.DefaultModel()
	if err != nil {
		t.Fatal(err)
	}
	ex, err := examples(context.Background(), "../../services/routing/classify/corpus")
	if err != nil {
		t.Fatal(err)
	}
	if len(ex) < 1500 {
		t.Errorf("training corpus of %d examples, want at least 1500", len(ex))
	}
	full, err := classify.Train(ex, nil, classify.TrainOptions{Folds: 2, Iterations: 1})
	if err != nil {
		t.Fatal(err)
	}
	if full.Corpus.SHA256 != m.Corpus.SHA256 || full.Corpus.Examples != m.Corpus.Examples {
		t.Errorf("the shipped model (%s, %d examples) was not trained on this corpus (%d examples): run guichet train",
			m.Version, m.Corpus.Examples, full.Corpus.Examples)
	}
	if len(m.Classes) != 13 {
		t.Errorf("model knows %d competences, want 13", len(m.Classes))
	}
}

func TestRouteEvalCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	file := filepath.Join("..", "..", "services", "tools", "routeeval", "testdata", "small.jsonl")
	if code := run([]string{"route-eval", file, "--json"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var got map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, out.String())
	}
	for _, k := range []string{"accuracy", "macro_f1", "triage_rate", "auto_precision", "territory_accuracy", "citation_recall", "followup_accuracy", "false_link_rate", "n"} {
		if _, ok := got[k]; !ok {
			t.Errorf("key %q missing", k)
		}
	}
	if got["n"] != 6.0 {
		t.Errorf("n = %v", got["n"])
	}
	out.Reset()
	if code := run([]string{"route-eval", file}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "Exactitude du territoire") {
		t.Errorf("text report: %d %s", code, out.String())
	}
	for _, args := range [][]string{{"route-eval"}, {"route-eval", "a.jsonl", "b.jsonl"}, {"route-eval", "absent.jsonl"}} {
		errOut.Reset()
		if code := run(args, &out, &errOut); code == 0 || errOut.Len() == 0 {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut.String())
		}
	}
}

func TestTrainCommand(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join("..", "..", "services", "routing", "classify", "corpus", "eclairage.jsonl")
	out := filepath.Join(dir, "m.json")
	var stdout, stderr bytes.Buffer
	// One competence cannot make a classifier: a clear error.
	if code := run([]string{"train", "--data", data, "--out", out}, &stdout, &stderr); code == 0 || !strings.Contains(stderr.String(), "deux compétences") {
		t.Errorf("one competence: exit %d, %s", code, stderr.String())
	}
}

func TestExportTrainingCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	t.Setenv("DATABASE_URL", "")
	if code := run([]string{"export-training", "--data", t.TempDir()}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "DATABASE_URL") {
		t.Errorf("without a database: exit %d, %s", code, errOut.String())
	}
	t.Setenv("DATABASE_URL", testkit.Database(t))
	errOut.Reset()
	if code := run([]string{"export-training", "--since", "2026-01-01"}, &out, &errOut); code != 0 || out.Len() != 0 || !strings.Contains(errOut.String(), "0 demande") {
		t.Errorf("empty history: exit %d, out %q, err %s", code, out.String(), errOut.String())
	}
	if code := run([]string{"export-training", "--since", "hier"}, &out, &errOut); code != 2 {
		t.Errorf("bad date: exit %d", code)
	}
}

func TestTokenCommand(t *testing.T) {
	t.Setenv("DATABASE_URL", testkit.Database(t))
	var out, errOut bytes.Buffer
	if code := run([]string{"token", "create", "--role", "team", "--competence", "voirie", "--name", "telephonie"}, &out, &errOut); code != 0 {
		t.Fatalf("create: %d %s", code, errOut.String())
	}
	if tok := strings.TrimSpace(out.String()); !strings.HasPrefix(tok, "gch_") || len(tok) < 40 {
		t.Errorf("token %q", tok)
	}
	for _, args := range [][]string{
		{"token"}, {"token", "list"}, {"token", "create", "--role", "pape"}, {"token", "revoke"},
	} {
		errOut.Reset()
		if code := run(args, &out, &errOut); code != 2 {
			t.Errorf("%v: exit %d (%s)", args, code, errOut.String())
		}
	}
	errOut.Reset()
	if code := run([]string{"token", "create", "--role", "team", "--competence", "police"}, &out, &errOut); code == 0 {
		t.Errorf("unknown competence accepted")
	}
	out.Reset()
	if code := run([]string{"token", "revoke", "--name", "telephonie"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "révoqué") {
		t.Errorf("revoke: %d %s %s", code, out.String(), errOut.String())
	}
}

// TestBenchCommand runs a small benchmark: it must route every request and
// report every figure (the figures themselves are for the README, not for
// a test to judge).
func TestBenchCommand(t *testing.T) {
	t.Setenv("NATS_URL", "")
	t.Setenv("DATABASE_URL", "")
	t.Chdir("../..") // the corpus the requests are written from
	var out, errOut bytes.Buffer
	if code := run([]string{"bench", "--requests", "60", "--concurrency", "4", "--json"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var rep map[string]any
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	// Guichet ran as `guichet serve api router`, apart from the load
	// generator, whose CPU is reported on its own.
	if rep["generator_apart"] != true {
		t.Errorf("generator_apart = %v", rep["generator_apart"])
	}
	// Its own PostgreSQL runs on this machine: its CPU time is read too (in
	// ticks of 10 ms, so 60 requests may show none).
	num := func(k string) float64 { f, _ := rep[k].(float64); return f }
	if v, ok := rep["postgres_cpu_ms_per_request"].(float64); !ok || v < 0 {
		t.Errorf("postgres_cpu_ms_per_request = %v, %v", v, ok)
	}
	for _, k := range []string{"e2e_rps", "intake_p99_ms", "e2e_p99_ms", "raw_js_rps", "raw_pg_rps", "ratio_pg",
		"raw_pg_same_rows_rps", "ratio_same_rows", "guichet_cpu_ms_per_request", "generator_cpu_ms_per_request"} {
		if num(k) <= 0 {
			t.Errorf("%s = %v", k, rep[k])
		}
	}
	if num("n") != 60 || num("routed") != 60 || num("acknowledged") != 60 {
		t.Errorf("report %v", rep)
	}
	if code := run([]string{"bench", "--requests", "0"}, &out, &errOut); code != 2 {
		t.Errorf("--requests 0: exit %d", code)
	}
}

func TestAccountCommand(t *testing.T) {
	t.Setenv("DATABASE_URL", testkit.Database(t))
	var out, errOut bytes.Buffer
	if code := runAccountFor(t, "", &out, &errOut, "account", "create", "--login", "camille", "--role", "team", "--competence", "voirie", "--name", "Camille Roux"); code != 0 {
		t.Fatalf("create: %d %s", code, errOut.String())
	}
	if pw := strings.TrimSpace(out.String()); len(pw) < 20 {
		t.Errorf("generated password %q", pw)
	}
	out.Reset()
	if code := runAccountFor(t, "un mot de passe assez long\n", &out, &errOut, "account", "create", "--login", "nadia", "--role", "supervisor", "--password-stdin"); code != 0 || out.Len() != 0 {
		t.Fatalf("create with a password: %d %q %s", code, out.String(), errOut.String())
	}
	if code := runAccountFor(t, "", &out, &errOut, "account", "create", "--login", "paul", "--role", "team"); code == 0 {
		t.Error("a team member without competence was created")
	}
	if code := runAccountFor(t, "", &out, &errOut, "account", "disable", "--login", "camille"); code != 0 {
		t.Fatalf("disable: %d %s", code, errOut.String())
	}
	out.Reset()
	if code := runAccountFor(t, "", &out, &errOut, "account", "list"); code != 0 || !strings.Contains(out.String(), "camille\tteam\tvoirie") ||
		!strings.Contains(out.String(), "(désactivé)") || !strings.Contains(out.String(), "nadia\tsupervisor") {
		t.Errorf("list: %d %s", code, out.String())
	}
	for _, args := range [][]string{{"account"}, {"account", "create", "--role", "team"}, {"account", "create", "--login", "x", "--role", "pape"}} {
		if code := runAccountFor(t, "", &out, &errOut, args...); code != 2 {
			t.Errorf("%v: exit %d", args, code)
		}
	}
}

// runAccountFor runs the account command with stdin.
func runAccountFor(t *testing.T, stdin string, out, errOut *bytes.Buffer, args ...string) int {
	t.Helper()
	err := runAccount(context.Background(), args[1:], strings.NewReader(stdin), out, errOut)
	if err == nil {
		return 0
	}
	errOut.WriteString(err.Error())
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}
