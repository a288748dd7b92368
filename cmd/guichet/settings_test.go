package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/cmd/guichet/compose"
)

var update = flag.Bool("update", false, "rewrite docs/configuration.md from the settings table")

// docs/configuration.md is written from the settings table: it fails here
// when someone changed one without the other (go test -run
// TestConfigurationPage -update rewrites it).
func TestConfigurationPage(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "configuration.md")
	want := configurationPage()
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("%s is stale: run go test ./cmd/guichet -run TestConfigurationPage -update", path)
	}
}

// Every setting is declared once, for commands that exist, with what both
// -h and the page need, and every variable a command reads is in its -h.
func TestSettingsTable(t *testing.T) {
	known := map[string]bool{}
	for _, c := range commands() {
		known[c.name] = true
	}
	seen := map[string]bool{}
	for _, s := range settings() {
		if seen[s.env] {
			t.Errorf("%s declared twice", s.env)
		}
		seen[s.env] = true
		if s.fr == "" || s.en == "" || s.set == nil || len(s.cmds) == 0 {
			t.Errorf("%s: incomplete (%+v)", s.env, s)
		}
		if s.def == "" && s.defNote == "" {
			t.Errorf("%s: say its default (def or defNote)", s.env)
		}
		for _, c := range s.cmds {
			if !known[c] {
				t.Errorf("%s: unknown command %q", s.env, c)
			}
		}
	}
	var help bytes.Buffer
	if _, _, err := parseConfig("serve", []string{"-h"}, &help, nil); err != flag.ErrHelp {
		t.Fatalf("serve -h: %v", err)
	}
	for _, s := range settings() {
		if slices.Contains(s.cmds, "serve") && !strings.Contains(help.String(), s.env) {
			t.Errorf("serve -h does not list %s", s.env)
		}
	}
	for _, svc := range compose.Services {
		if !strings.Contains(help.String(), svc) {
			t.Errorf("serve -h does not name the service %s", svc)
		}
	}
}

// A flag wins over its variable, which wins over the default; a bad value
// is named with where it came from.
func TestParseConfigPrecedence(t *testing.T) {
	t.Setenv("GUICHET_ADDR", "127.0.0.1:9000")
	t.Setenv("GUICHET_ROUTER_ACK_WAIT", "")
	t.Setenv("GUICHET_WEB_RATE", "")
	cfg, rest, err := parseConfig("serve", []string{"--addr", "127.0.0.1:9100", "api"}, io.Discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:9100" || cfg.PublicURL != "http://127.0.0.1:9100" || !slices.Equal(rest, []string{"api"}) {
		t.Errorf("flag: addr %q, public %q, rest %v", cfg.Addr, cfg.PublicURL, rest)
	}
	if cfg.Router.AckWait != 30*time.Second || cfg.WebRate != 10 || cfg.Router.Workers < 2 {
		t.Errorf("defaults: ack wait %s, web rate %d, workers %d", cfg.Router.AckWait, cfg.WebRate, cfg.Router.Workers)
	}
	cfg, _, err = parseConfig("serve", nil, io.Discard, nil)
	if err != nil || cfg.Addr != "127.0.0.1:9000" {
		t.Errorf("variable: %q %v", cfg.Addr, err)
	}
	t.Setenv("GUICHET_WEB_RATE", "zéro")
	t.Setenv("GUICHET_LINK_SIMILARITY", "3")
	_, _, err = parseConfig("serve", nil, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), `GUICHET_WEB_RATE="zéro"`) || !strings.Contains(err.Error(), `GUICHET_LINK_SIMILARITY="3"`) {
		t.Errorf("bad values: %v", err)
	}
	// migrate reads neither the router's settings nor the address.
	var help bytes.Buffer
	parseConfig("migrate", []string{"-h"}, &help, nil)
	if strings.Contains(help.String(), "GUICHET_ROUTER") || strings.Contains(help.String(), "-addr") || !strings.Contains(help.String(), "DATABASE_URL") {
		t.Errorf("migrate -h:\n%s", help.String())
	}
}

// A fatal error is one JSON line when the logs are JSON.
func TestFatalErrorAsJSON(t *testing.T) {
	t.Setenv("GUICHET_LOG_FORMAT", "json")
	t.Setenv("NATS_URL", "")
	var stderr bytes.Buffer
	if code := run([]string{"serve", "api"}, io.Discard, &stderr); code != 2 {
		t.Fatalf("exit %d", code)
	}
	var line map[string]any
	if err := json.Unmarshal(stderr.Bytes(), &line); err != nil || line["level"] != "ERROR" || !strings.Contains(fmt.Sprint(line["err"]), "NATS_URL") {
		t.Fatalf("stderr is not one JSON line naming the problem: %q (%v)", stderr.String(), err)
	}
}
