package bus

import (
	"context"
	"fmt"
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
	MaxAge          time.Duration // how long REQUESTS and CASES keep messages
}

func (c *TopologyConfig) setDefaults() {
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.DuplicateWindow == 0 {
		c.DuplicateWindow = time.Hour
	}
	if c.MaxAge == 0 {
		c.MaxAge = 90 * 24 * time.Hour
	}
}

// EnsureTopology creates or updates the REQUESTS, CASES and DEAD streams and
// the attachments object store. It is idempotent and safe at every start.
func EnsureTopology(ctx context.Context, js jetstream.JetStream, cfg TopologyConfig) error {
	cfg.setDefaults()
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
		if _, err := js.CreateOrUpdateStream(ctx, s); err != nil {
			return fmt.Errorf("bus: stream %s: %w", s.Name, err)
		}
	}
	if _, err := js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket:      BucketAttachment,
		Description: "Files attached to requests, keyed by sha256",
		Storage:     jetstream.FileStorage,
		Replicas:    cfg.Replicas,
	}); err != nil {
		return fmt.Errorf("bus: object store %s: %w", BucketAttachment, err)
	}
	return nil
}
