package deploytest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The files to run Guichet on bare hosts (deploy/systemd): one unit
// template serving each of the six services, an address of its own for
// each, settings Guichet reads, a NATS configuration nats-server takes, and
// a file store smaller than the containers' claim.
func TestSystemdFiles(t *testing.T) {
	unit := readFile(t, "systemd/guichet@.service")
	for _, want := range []string{"ExecStart=/usr/local/bin/guichet serve %i", "EnvironmentFile=/etc/guichet/guichet.env",
		"EnvironmentFile=/etc/guichet/%i.env", "Restart=on-failure", "KillSignal=SIGTERM", "User=guichet"} {
		if !strings.Contains(unit, want+"\n") {
			t.Errorf("systemd/guichet@.service lacks %q", want)
		}
	}
	services := []string{"api", "web", "agent", "router", "notifier", "imap"}
	seen := map[string]string{}
	for _, s := range services {
		env := parseEnvFile(t, "systemd/"+s+".env")
		checkVariables(t, "systemd/"+s+".env", env)
		addr := env.values["GUICHET_ADDR"]
		if addr == "" {
			t.Errorf("systemd/%s.env: no GUICHET_ADDR", s)
		} else if other, dup := seen[addr]; dup {
			t.Errorf("systemd/%s.env and %s.env listen on the same address %s", s, other, addr)
		}
		seen[addr] = s
	}
	envs, _ := filepath.Glob(filepath.Join(deployDir(t), "systemd", "*.env"))
	if len(envs) != len(services)+1 {
		t.Errorf("systemd/: %d .env files, want one per service and guichet.env", len(envs))
	}
	common := parseEnvFile(t, "systemd/guichet.env")
	checkVariables(t, "systemd/guichet.env", common)
	for _, k := range []string{"GUICHET_SECRET", "GUICHET_SMTP_URL", "GUICHET_IMAP_URL"} {
		if v, ok := common.values[k]; !ok || v != "" {
			t.Errorf("systemd/guichet.env: %s must be there and empty (no secret in the repository), got %q", k, v)
		}
	}
	opts, err := loadNATSConfig(filepath.Join(deployDir(t), "systemd", "nats-server.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if !opts.JetStream || opts.JetStreamMaxStore > 50<<30 || opts.MaxPayload != embeddedMaxPayload {
		t.Errorf("systemd/nats-server.conf: JetStream %v, file store %d bytes (keep it modest on a bare host), max payload %d",
			opts.JetStream, opts.JetStreamMaxStore, opts.MaxPayload)
	}
	sql, err := os.ReadFile(filepath.Join(deployDir(t), "systemd", "postgres.sql"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CREATE ROLE guichet", "CREATE DATABASE guichet OWNER guichet", "unaccent", "btree_gin"} {
		if !strings.Contains(string(sql), want) {
			t.Errorf("systemd/postgres.sql lacks %q", want)
		}
	}
}
