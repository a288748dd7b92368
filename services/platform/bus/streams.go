package bus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Stream and subject names on the bus.
const (
	StreamRequests   = "REQUESTS"
	StreamCases      = "CASES"
	StreamDead       = "DEAD"
	SubjectRequests  = "guichet.requests"
	SubjectCases     = "guichet.cases"
	SubjectDead      = "guichet.dead"
	BucketAttachment = "attachments"
)

// RequestSubject is where a request of a channel is published.
func RequestSubject(channel string) string { return SubjectRequests + "." + channel }

// TopologyConfig sizes the streams.
type TopologyConfig struct {
	Replicas        int           // 1 for a single server, 3 on a cluster
	DuplicateWindow time.Duration // Nats-Msg-Id deduplication window
	// MaxAge is how long REQUESTS and CASES keep messages: the catalogue's
	// retention of streams (30 days unless it says otherwise). DEAD has no
	// limit: a person reviews each dead letter, and a purge erases the
	// copies of what it erased (Forget).
	MaxAge time.Duration
}

func (c *TopologyConfig) setDefaults() {
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.DuplicateWindow == 0 {
		c.DuplicateWindow = time.Hour
	}
	if c.MaxAge == 0 {
		c.MaxAge = 30 * 24 * time.Hour
	}
}

// EnsureTopology creates or updates the REQUESTS, CASES and DEAD streams and
// the attachments object store. It is idempotent and safe at every start,
// and when several processes start at once: a stream that already has the
// wanted configuration is left alone, one created meanwhile by another
// process is taken as it is or updated, and a cluster that does not answer
// yet (a meta leader being elected, a replica catching up) is asked again
// with back-off until ctx ends or the topology budget (two minutes) runs out.
func EnsureTopology(ctx context.Context, js jetstream.JetStream, cfg TopologyConfig) error {
	cfg.setDefaults()
	ctx, cancel := context.WithTimeout(ctx, topologyBudget)
	defer cancel()
	streams := []jetstream.StreamConfig{
		{Name: StreamRequests, Subjects: []string{SubjectRequests + ".>"}, MaxAge: cfg.MaxAge,
			Description: "Normalized citizen requests from every channel (request.v1)"},
		{Name: StreamCases, Subjects: []string{SubjectCases + ".>"}, MaxAge: cfg.MaxAge,
			Description: "Case history events (case-event.v1)"},
		// Dead letters wait for a person: kept until removed.
		{Name: StreamDead, Subjects: []string{SubjectDead + ".>"},
			Description: "Messages that could not be processed, with the reason in headers"},
	}
	for _, s := range streams {
		s.Storage = jetstream.FileStorage
		s.Replicas = cfg.Replicas
		s.Duplicates = cfg.DuplicateWindow
		s.Retention = jetstream.LimitsPolicy
		s.Discard = jetstream.DiscardOld
		if err := retry(ctx, func(ctx context.Context) error { return ensureStream(ctx, js, s) }); err != nil {
			return fmt.Errorf("bus: stream %s: %w", s.Name, err)
		}
	}
	store := jetstream.ObjectStoreConfig{
		Bucket:      BucketAttachment,
		Description: "Files attached to requests, keyed by sha256",
		Storage:     jetstream.FileStorage,
		Replicas:    cfg.Replicas,
	}
	if err := retry(ctx, func(ctx context.Context) error {
		if _, err := js.ObjectStore(ctx, store.Bucket); err == nil {
			return nil // its configuration is the same at every start
		}
		_, err := js.CreateOrUpdateObjectStore(ctx, store)
		return err
	}); err != nil {
		return fmt.Errorf("bus: object store %s: %w", BucketAttachment, err)
	}
	return nil
}

// topologyBudget bounds the wait for a cluster to take the topology, and
// topologyTry one request to it.
const (
	topologyBudget = 2 * time.Minute
	topologyTry    = 10 * time.Second
)

// ensureStream creates the stream, or updates it when its configuration
// differs from want; it leaves alone a stream that already matches, so that
// processes starting together do not all update it at once.
func ensureStream(ctx context.Context, js jetstream.JetStream, want jetstream.StreamConfig) error {
	st, err := js.Stream(ctx, want.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = js.CreateStream(ctx, want)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return errRetryNow // created by another process meanwhile: look again
		}
		return err
	}
	if err != nil {
		return err
	}
	have := st.CachedInfo().Config
	if have.Description == want.Description && slices.Equal(have.Subjects, want.Subjects) && have.MaxAge == want.MaxAge &&
		have.Replicas == want.Replicas && have.Duplicates == want.Duplicates && have.Storage == want.Storage &&
		have.Retention == want.Retention && have.Discard == want.Discard {
		return nil
	}
	_, err = js.UpdateStream(ctx, want)
	return err
}

// errRetryNow asks retry to try again without waiting.
var errRetryNow = errors.New("bus: try again")

// retry calls try, each call bounded by topologyTry, until it succeeds or
// ctx ends, waiting 250 ms, doubled each time up to 5 s, between failures.
func retry(ctx context.Context, try func(ctx context.Context) error) error {
	wait := 250 * time.Millisecond
	for {
		tctx, cancel := context.WithTimeout(ctx, topologyTry)
		err := try(tctx)
		cancel()
		switch {
		case err == nil:
			return nil
		case errors.Is(err, errRetryNow):
			continue
		case ctx.Err() != nil:
			return fmt.Errorf("%w (la grappe NATS ne répond pas : %w)", err, ctx.Err())
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (la grappe NATS ne répond pas : %w)", err, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}
