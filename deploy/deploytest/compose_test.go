package deploytest

import (
	"context"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// composeServices are the Guichet containers and the argument of each;
// imap runs only with the profile "imap".
var composeServices = map[string][]string{
	"migrate":  {"migrate"},
	"api":      {"serve", "api"},
	"web":      {"serve", "web"},
	"agent":    {"serve", "agent"},
	"router":   {"serve", "router"},
	"notifier": {"serve", "notifier"},
	"imap":     {"serve", "imap"},
}

// composeHealthPaths are the URLs each container's health check asks for
// (see httpProbePaths); probesOnly services publish no port.
var composeHealthPaths = map[string]string{"api": "/readyz", "web": "/", "agent": "/bo/connexion",
	"router": "/readyz", "notifier": "/readyz", "imap": "/readyz"}

// composeTestEnv fills the secrets that .env.example leaves empty, as an
// operator does.
var composeTestEnv = map[string]string{
	"POSTGRES_PASSWORD": "mot-de-passe-de-test",
	"GUICHET_SECRET":    "une-cle-de-test-assez-longue",
	"GUICHET_SMTP_URL":  "smtp://guichet:secret@smtp.example.org:587",
}

// loadCompose loads deploy/compose/compose.yaml with the compose-spec loader
// (schema validation, interpolation, env files), as `docker compose` does,
// from a copy of deploy/ in which .env is .env.example with fill set. edit
// may change compose.yaml first.
func loadCompose(t *testing.T, fill map[string]string, edit func(string) string) (*types.Project, error) {
	t.Helper()
	root := t.TempDir()
	for _, rel := range []string{"compose/compose.yaml", "compose/Dockerfile", "compose/.env.example",
		"nats/nats-1.conf", "nats/nats-2.conf", "nats/nats-3.conf"} {
		content := readFile(t, rel)
		if rel == "compose/compose.yaml" && edit != nil {
			content = edit(content)
		}
		if rel == "compose/.env.example" {
			rel = "compose/.env"
			var lines []string
			for line := range strings.SplitSeq(content, "\n") {
				if k, v, ok := strings.Cut(line, "="); ok && v == "" && fill[k] != "" {
					line = k + "=" + fill[k]
				}
				lines = append(lines, line)
			}
			content = strings.Join(lines, "\n")
		}
		path := filepath.Join(root, "deploy", rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(root, "deploy", "compose")
	opts, err := cli.NewProjectOptions([]string{filepath.Join(dir, "compose.yaml")},
		cli.WithWorkingDirectory(dir), cli.WithEnvFiles(), cli.WithDotEnv, cli.WithProfiles([]string{"imap"}))
	if err != nil {
		return nil, err
	}
	return opts.LoadProject(context.Background())
}

func TestCompose(t *testing.T) {
	p, err := loadCompose(t, composeTestEnv, nil)
	if err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	if p.Name != "guichet" {
		t.Errorf("project %q, want guichet", p.Name)
	}
	names := slices.Sorted(maps.Keys(p.Services))
	want := append([]string{"nats-1", "nats-2", "nats-3", "postgres"}, slices.Collect(maps.Keys(composeServices))...)
	sort.Strings(want)
	if !slices.Equal(names, want) {
		t.Fatalf("services %v, want %v", names, want)
	}

	var aliases []string
	for i, node := range natsNodes {
		s := p.Services[node]
		if !strings.HasPrefix(s.Image, "nats:2.") {
			t.Errorf("%s: image %q, want nats:2.x", node, s.Image)
		}
		if !hasVolume(s, filepath.Join("deploy", "nats", node+".conf"), "/etc/nats/nats.conf") || !hasVolume(s, "", "/data") {
			t.Errorf("%s: volumes %+v, want deploy/nats/%s.conf on /etc/nats/nats.conf and a volume on /data (store_dir)", node, s.Volumes, node)
		}
		if !slices.Contains(s.Command, "/etc/nats/nats.conf") {
			t.Errorf("%s: command %v does not read /etc/nats/nats.conf", node, s.Command)
		}
		if n := s.Networks["default"]; n != nil {
			aliases = append(aliases, n.Aliases...)
		}
		if s.HealthCheck == nil || !strings.Contains(strings.Join(s.HealthCheck.Test, " "), ":8222/healthz") {
			t.Errorf("%s: no health check on the monitoring port", node)
		}
		if i > 0 && len(s.Ports) > 0 {
			t.Errorf("%s publishes ports: only nats-1 does, on the loopback", node)
		}
	}

	pg := p.Services["postgres"]
	if !strings.HasPrefix(pg.Image, "postgres:16") || pg.HealthCheck == nil || !hasVolume(pg, "", "/var/lib/postgresql/data") {
		t.Errorf("postgres: want image postgres:16, a health check and a volume for its data: %s %+v %+v", pg.Image, pg.HealthCheck, pg.Volumes)
	}
	if pg.Environment["POSTGRES_PASSWORD"] == nil || *pg.Environment["POSTGRES_PASSWORD"] != composeTestEnv["POSTGRES_PASSWORD"] {
		t.Error("postgres: POSTGRES_PASSWORD does not come from .env")
	}

	for name, args := range composeServices {
		s := p.Services[name]
		if !slices.Equal(s.Command, args) {
			t.Errorf("%s: command %v, want %v", name, s.Command, args)
		}
		if s.Build == nil || filepath.Clean(s.Build.Context) != filepath.Clean(filepath.Join(p.WorkingDir, "..", "..")) ||
			s.Build.Dockerfile != "deploy/compose/Dockerfile" {
			t.Errorf("%s: build %+v, want the repository's root with deploy/compose/Dockerfile", name, s.Build)
		}
		if !s.ReadOnly || !slices.Contains(s.Tmpfs, "/tmp") {
			t.Errorf("%s: want a read-only root and a tmpfs /tmp", name)
		}
		env := func(k string) string {
			if v := s.Environment[k]; v != nil {
				return *v
			}
			return ""
		}
		var hosts []string
		for _, u := range strings.Split(env("NATS_URL"), ",") {
			if pu, err := url.Parse(u); err == nil && pu.Scheme == "nats" && pu.Port() == "4222" {
				hosts = append(hosts, pu.Hostname())
			}
		}
		if !slices.Equal(hosts, aliases) {
			t.Errorf("%s: NATS_URL %q, want the three nodes %v", name, env("NATS_URL"), aliases)
		}
		db, err := url.Parse(env("DATABASE_URL"))
		if err != nil || db.Hostname() != "postgres" {
			t.Errorf("%s: DATABASE_URL %q is not the postgres service", name, env("DATABASE_URL"))
		} else if pw, _ := db.User.Password(); pw != composeTestEnv["POSTGRES_PASSWORD"] {
			t.Errorf("%s: DATABASE_URL does not carry POSTGRES_PASSWORD (got %q)", name, pw)
		}
		for k, v := range map[string]string{"GUICHET_STREAM_REPLICAS": "3", "GUICHET_ADDR": "0.0.0.0:8080",
			"GUICHET_SECRET": composeTestEnv["GUICHET_SECRET"], "GUICHET_SMTP_URL": composeTestEnv["GUICHET_SMTP_URL"]} {
			if env(k) != v {
				t.Errorf("%s: %s=%q, want %q", name, k, env(k), v)
			}
		}
		if name == "migrate" {
			if s.DependsOn["postgres"].Condition != types.ServiceConditionHealthy {
				t.Errorf("migrate: does not wait for a healthy postgres: %+v", s.DependsOn)
			}
			continue
		}
		if s.DependsOn["migrate"].Condition != types.ServiceConditionCompletedSuccessfully {
			t.Errorf("%s: does not wait for the migrations: %+v", name, s.DependsOn)
		}
		for _, node := range natsNodes {
			if s.DependsOn[node].Condition != types.ServiceConditionHealthy {
				t.Errorf("%s: does not wait for a healthy %s", name, node)
			}
		}
		path, http := composeHealthPaths[name]
		if !http {
			if len(s.Ports) > 0 || s.HealthCheck != nil {
				t.Errorf("%s: `serve %s` opens no port, but the service publishes ports or has a health check", name, name)
			}
			continue
		}
		if s.HealthCheck == nil || !slices.Contains(s.HealthCheck.Test, "http://127.0.0.1:8080"+path) {
			t.Errorf("%s: health check %+v, want %s", name, s.HealthCheck, path)
		}
		if probesOnly[name] {
			if len(s.Ports) > 0 {
				t.Errorf("%s: publishes ports %+v, but serves only its probes", name, s.Ports)
			}
			continue
		}
		if len(s.Ports) != 1 || s.Ports[0].Target != 8080 {
			t.Errorf("%s: ports %+v, want one to 8080", name, s.Ports)
		}
	}
	for name, s := range p.Services {
		for _, port := range s.Ports {
			if port.HostIP != "127.0.0.1" {
				t.Errorf("%s: port %d published on %q, want the loopback by default", name, port.Target, port.HostIP)
			}
		}
	}
	if r := p.Services["router"].Deploy; r == nil || r.Replicas == nil || *r.Replicas != 2 {
		t.Error("router: want 2 replicas")
	}
	if !slices.Equal(p.Services["imap"].Profiles, []string{"imap"}) {
		t.Errorf("imap: profiles %v, want [imap]", p.Services["imap"].Profiles)
	}
}

func hasVolume(s types.ServiceConfig, sourceSuffix, target string) bool {
	return slices.ContainsFunc(s.Volumes, func(v types.ServiceVolumeConfig) bool {
		if v.Target != target {
			return false
		}
		if sourceSuffix == "" {
			return v.Type == types.VolumeTypeVolume
		}
		return v.Type == types.VolumeTypeBind && v.ReadOnly && strings.HasSuffix(v.Source, string(filepath.Separator)+sourceSuffix)
	})
}

// TestComposeEnvExample checks the example settings: every variable is one
// Guichet reads (or the deployment's own), and no secret is filled in.
func TestComposeEnvExample(t *testing.T) {
	env := parseEnvFile(t, "compose/.env.example")
	checkVariables(t, "compose/.env.example", env, "POSTGRES_PASSWORD", "GUICHET_BIND")
	for _, k := range []string{"POSTGRES_PASSWORD", "GUICHET_SECRET", "GUICHET_SMTP_URL", "GUICHET_OIDC_CLIENT_SECRET", "GUICHET_IMAP_URL"} {
		v, ok := env.values[k]
		if !ok {
			t.Errorf("compose/.env.example lacks %s", k)
		} else if v != "" {
			t.Errorf("compose/.env.example: %s=%q: the example holds no secret", k, v)
		}
	}
	if env.values["GUICHET_STREAM_REPLICAS"] != "3" {
		t.Errorf("GUICHET_STREAM_REPLICAS=%q, want 3", env.values["GUICHET_STREAM_REPLICAS"])
	}
	// Left as it is, the example stops Compose with a message in French.
	_, err := loadCompose(t, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "manque dans .env") {
		t.Errorf("compose.yaml loaded with the secrets empty: %v", err)
	}
}

func TestComposeTypoRefused(t *testing.T) {
	for _, tc := range []struct{ from, to string }{
		{"      replicas: 2", "      replica: 2"},
		{"    healthcheck:\n      <<: *http-health", "    healthchek:\n      <<: *http-health"},
		{"  read_only: true", "  readonly: true"},
	} {
		_, err := loadCompose(t, composeTestEnv, func(s string) string {
			if !strings.Contains(s, tc.from) {
				t.Fatalf("compose.yaml has no %q to misspell", tc.from)
			}
			return strings.Replace(s, tc.from, tc.to, 1)
		})
		if err == nil {
			t.Errorf("compose.yaml with %q was accepted", strings.TrimSpace(tc.to))
		} else {
			t.Logf("%q refused: %v", strings.TrimSpace(tc.to), err)
		}
	}
}

// TestDockerfile checks the image's recipe: a static build of ./cmd/guichet,
// a Debian runtime with what reading scans needs, a non-root user.
func TestDockerfile(t *testing.T) {
	df := readFile(t, "compose/Dockerfile")
	for _, want := range []string{
		"FROM golang:1.26 AS build", "CGO_ENABLED=0", "./cmd/guichet", "FROM debian:", "-slim",
		"poppler-utils", "tesseract-ocr ", "tesseract-ocr-fra", "ca-certificates", "USER 10001:10001",
	} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}
