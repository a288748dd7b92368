// Package bus owns Guichet's use of NATS JetStream: connecting, the streams
// and the attachments object store, publishing with deduplication, and the
// durable consumers with bounded retries and dead-lettering.
package bus

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Conn is a NATS connection with its JetStream context.
type Conn struct {
	NC *nats.Conn
	JS jetstream.JetStream
}

// Connect dials NATS and keeps reconnecting for as long as the process runs.
func Connect(ctx context.Context, url, name string, log *slog.Logger) (*Conn, error) {
	nc, err := nats.Connect(url,
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500*time.Millisecond),
		nats.Timeout(5*time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { log.Info("nats reconnected", "url", c.ConnectedUrl()) }),
	)
	if err != nil {
		return nil, fmt.Errorf("bus: connect %s: %w", url, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("bus: jetstream: %w", err)
	}
	return &Conn{NC: nc, JS: js}, nil
}

// Close drains nothing: callers stop their consumers first.
func (c *Conn) Close() { c.NC.Close() }

// Ping checks that the server answers, for readiness probes.
func (c *Conn) Ping(ctx context.Context) error {
	if !c.NC.IsConnected() {
		return fmt.Errorf("bus: not connected (%s)", c.NC.Status())
	}
	if _, err := c.JS.AccountInfo(ctx); err != nil {
		return fmt.Errorf("bus: jetstream account info: %w", err)
	}
	return nil
}
