package deploytest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// natsNodes are the servers of the cluster, named as the StatefulSet's pods
// (ordinals from 1) and the Compose services.
var natsNodes = []string{"nats-1", "nats-2", "nats-3"}

// embeddedMaxPayload is the bound that services/platform/bus/embedded.go gives the
// server of `guichet dev`: a deployed cluster must take the same messages.
const embeddedMaxPayload = 8 << 20

// loadNATSConfig reads a configuration file with nats-server's own parser and
// fails on errors and on warnings alike (an unknown field is an error; a
// field that nats-server ignores is a warning).
func loadNATSConfig(path string) (*server.Options, error) {
	opts := &server.Options{}
	err := opts.ProcessConfigFile(path)
	var both interface {
		Errors() []error
		Warnings() []error
	}
	if errors.As(err, &both) && len(both.Errors()) == 0 && len(both.Warnings()) > 0 {
		return nil, fmt.Errorf("warnings: %v", both.Warnings())
	}
	if err != nil {
		return nil, err
	}
	return opts, nil
}

func TestNATSConfigs(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(deployDir(t), "nats", "*.conf"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".conf"))
	}
	if !slices.Equal(names, natsNodes) {
		t.Fatalf("deploy/nats holds %v, want one file per node %v", names, natsNodes)
	}
	var first string
	for i, path := range files {
		node := natsNodes[i]
		t.Run(node, func(t *testing.T) {
			opts, err := loadNATSConfig(path)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if opts.ServerName != node {
				t.Errorf("server_name %q, want %q (the pod's name: the StatefulSet reads /etc/nats/$(POD_NAME).conf)", opts.ServerName, node)
			}
			if opts.Port != 4222 || opts.HTTPPort != 8222 || opts.Cluster.Port != 6222 {
				t.Errorf("ports client %d, monitoring %d, cluster %d; want 4222, 8222, 6222 (the Service and the probes use them)",
					opts.Port, opts.HTTPPort, opts.Cluster.Port)
			}
			if !opts.JetStream {
				t.Error("JetStream is off")
			}
			if opts.StoreDir != "/data/jetstream" {
				t.Errorf("store_dir %q, want /data/jetstream (on the data volume)", opts.StoreDir)
			}
			if opts.JetStreamMaxStore <= 0 || opts.JetStreamMaxMemory <= 0 {
				t.Errorf("JetStream limits not set: file %d, memory %d", opts.JetStreamMaxStore, opts.JetStreamMaxMemory)
			}
			if opts.MaxPayload < embeddedMaxPayload {
				t.Errorf("max_payload %d, want at least %d like the embedded server of guichet dev", opts.MaxPayload, embeddedMaxPayload)
			}
			if opts.PidFile != "/data/nats.pid" {
				t.Errorf("pid_file %q, want /data/nats.pid (the preStop hook signals lame duck mode through it)", opts.PidFile)
			}
			if opts.LameDuckDuration < 10*time.Second {
				t.Errorf("lame_duck_duration %v: too short to move clients and leaders", opts.LameDuckDuration)
			}
			if opts.Cluster.Name != "guichet" {
				t.Errorf("cluster name %q, want guichet", opts.Cluster.Name)
			}
			var routes []string
			for _, r := range opts.Routes {
				routes = append(routes, r.Host)
			}
			var want []string
			for _, n := range natsNodes {
				want = append(want, n+".nats:6222")
			}
			if !slices.Equal(routes, want) {
				t.Errorf("routes %v, want the three nodes %v", routes, want)
			}
			// nats-server's own validation of the options, as at start-up
			// (nothing is started or written).
			if _, err := server.NewServer(opts); err != nil {
				t.Fatalf("nats-server refuses the options: %v", err)
			}
		})
		// The files differ only by the server's name.
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		text := strings.NewReplacer("server_name: "+node, "server_name: N", "server "+node+" of", "server N of").Replace(string(b))
		if first == "" {
			first = text
		} else if text != first {
			t.Errorf("%s differs from %s beyond its name", filepath.Base(path), filepath.Base(files[0]))
		}
	}
}

func TestNATSConfigTypoRefused(t *testing.T) {
	good := filepath.Join(deployDir(t), "nats", "nats-1.conf")
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ from, to string }{
		{"jetstream {", "jetstrem {"},
		{"store_dir:", "store_dri:"},
		{"  routes: [", "  route: ["},
	} {
		if !strings.Contains(string(b), tc.from) {
			t.Fatalf("nats-1.conf has no %q to misspell", tc.from)
		}
		bad := filepath.Join(t.TempDir(), "nats-1.conf")
		if err := os.WriteFile(bad, []byte(strings.Replace(string(b), tc.from, tc.to, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := loadNATSConfig(bad); err == nil {
			t.Errorf("%q misspelt %q was accepted", tc.from, tc.to)
		} else {
			t.Logf("refused: %v", err)
		}
	}
}
