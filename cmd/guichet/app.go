package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/api"
	"github.com/ampmetropole/guichet/services/bus"
	"github.com/ampmetropole/guichet/services/casestore"
	"github.com/ampmetropole/guichet/services/intake"
	"github.com/ampmetropole/guichet/services/router"
	"github.com/ampmetropole/guichet/services/territory"
)

// Services that `guichet serve` can run.
var knownServices = []string{"api", "router"}

// app is a set of running services on one NATS and one PostgreSQL.
type app struct {
	log      *slog.Logger
	conn     *bus.Conn
	store    *casestore.Store
	router   *router.Router
	server   *http.Server
	serveErr chan error
	addr     string
}

// startApp connects, migrates, creates the streams and starts the services.
// On error everything already started is stopped.
func startApp(ctx context.Context, cfg Config, natsURL, databaseURL string, services []string, log *slog.Logger) (_ *app, err error) {
	a := &app{log: log, serveErr: make(chan error, 1)}
	defer func() {
		if err != nil {
			a.stop()
		}
	}()
	if err := casestore.Migrate(ctx, databaseURL, log); err != nil {
		return nil, err
	}
	v, err := schemas.NewValidator()
	if err != nil {
		return nil, err
	}
	if a.store, err = casestore.Open(ctx, casestore.Config{URL: databaseURL, MaxConns: int32(cfg.Router.Workers + 8)}, v, log); err != nil {
		return nil, err
	}
	if a.conn, err = bus.Connect(ctx, natsURL, "guichet", log); err != nil {
		return nil, err
	}
	if err := bus.EnsureTopology(ctx, a.conn.JS, bus.TopologyConfig{Replicas: cfg.Streams.Replicas}); err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	if slices.Contains(services, "router") {
		places, err := territory.Load()
		if err != nil {
			return nil, err
		}
		a.router, err = router.New(router.Config{
			Workers: cfg.Router.Workers, MaxAttempts: cfg.Router.MaxAttempts, AckWait: cfg.Router.AckWait,
		}, a.conn, a.store, v, places, reg, log)
		if err != nil {
			return nil, err
		}
		if err := a.router.Start(ctx); err != nil {
			return nil, err
		}
	}
	if slices.Contains(services, "api") {
		in, err := intake.New(bus.NewPublisher(a.conn.JS), a.store, v, []byte(cfg.Secret), log)
		if err != nil {
			return nil, err
		}
		h, err := api.New(api.Deps{
			Intake:   in,
			Store:    a.store,
			Ready:    map[string]api.Pinger{"nats": a.conn, "postgres": a.store},
			Gatherer: reg,
			Log:      log.With("service", "api"),
		}, reg)
		if err != nil {
			return nil, err
		}
		ln, err := net.Listen("tcp", cfg.Addr)
		if err != nil {
			return nil, fmt.Errorf("écoute HTTP sur %s : %w (adresse déjà prise ? choisissez --addr)", cfg.Addr, err)
		}
		a.addr = ln.Addr().String()
		a.server = api.NewServer(cfg.Addr, h, log)
		go func() {
			if err := a.server.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				a.serveErr <- err
			}
		}()
	}
	return a, nil
}

// wait blocks until ctx ends or the HTTP server fails.
func (a *app) wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-a.serveErr:
		return fmt.Errorf("serveur HTTP : %w", err)
	}
}

// stop stops the services in the reverse order of their start.
func (a *app) stop() {
	if a.server != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := a.server.Shutdown(sctx); err != nil {
			a.log.Warn("HTTP shutdown", "err", err)
		}
		cancel()
	}
	if a.router != nil {
		a.router.Stop()
	}
	if a.conn != nil {
		a.conn.Close()
	}
	if a.store != nil {
		a.store.Close()
	}
}
