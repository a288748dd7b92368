// Package natscluster starts, for tests, a JetStream cluster of in-process
// NATS servers on loopback, each with its own storage, so that streams can
// have three replicas and a node can be lost.
package natscluster

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Cluster is the running servers.
type Cluster struct {
	Servers []*server.Server
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Start starts n servers routed to each other and waits until JetStream
// answers; the test's cleanup stops them.
func Start(t testing.TB, n int) *Cluster {
	t.Helper()
	routes := make([]*url.URL, n)
	clusterPorts := make([]int, n)
	for i := range n {
		clusterPorts[i] = freePort(t)
		routes[i] = &url.URL{Scheme: "nats", Host: fmt.Sprintf("127.0.0.1:%d", clusterPorts[i])}
	}
	c := &Cluster{}
	for i := range n {
		opts := &server.Options{
			ServerName: fmt.Sprintf("guichet-%d", i+1),
			Host:       "127.0.0.1",
			Port:       server.RANDOM_PORT,
			JetStream:  true,
			StoreDir:   t.TempDir(),
			NoSigs:     true,
			NoLog:      true,
			Cluster:    server.ClusterOpts{Name: "guichet", Host: "127.0.0.1", Port: clusterPorts[i]},
			Routes:     routes,
		}
		srv, err := server.NewServer(opts)
		if err != nil {
			t.Fatalf("natscluster: %v", err)
		}
		srv.Start()
		c.Servers = append(c.Servers, srv)
	}
	t.Cleanup(func() {
		for _, s := range c.Servers {
			s.Shutdown()
			s.WaitForShutdown()
		}
	})
	for _, s := range c.Servers {
		if !s.ReadyForConnections(15 * time.Second) {
			t.Fatalf("natscluster: %s not ready", s.Name())
		}
	}
	// JetStream answers once the meta group has a leader.
	nc, err := nats.Connect(c.URL())
	if err != nil {
		t.Fatalf("natscluster: %v", err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := js.AccountInfo(ctx)
		cancel()
		if err == nil {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("natscluster: JetStream not ready: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// URL lists every server, for clients that fail over.
func (c *Cluster) URL() string {
	var urls []string
	for _, s := range c.Servers {
		if s.Running() {
			urls = append(urls, s.ClientURL())
		}
	}
	return strings.Join(urls, ",")
}

// Stop stops server i, as a lost node.
func (c *Cluster) Stop(i int) {
	c.Servers[i].Shutdown()
	c.Servers[i].WaitForShutdown()
}
