package bus_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ampmetropole/guichet/services/platform/bus"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func TestTopology(t *testing.T) {
	_, conn := testkit.Bus(t)
	ctx := context.Background()
	for name, subject := range map[string]string{
		bus.StreamRequests: "guichet.requests.>", bus.StreamCases: "guichet.cases.>", bus.StreamDead: "guichet.dead.>",
	} {
		s, err := conn.JS.Stream(ctx, name)
		if err != nil {
			t.Fatalf("stream %s: %v", name, err)
		}
		info := s.CachedInfo()
		if info.Config.Storage != jetstream.FileStorage || len(info.Config.Subjects) != 1 || info.Config.Subjects[0] != subject {
			t.Errorf("stream %s: storage %v subjects %v", name, info.Config.Storage, info.Config.Subjects)
		}
	}
	if _, err := conn.JS.ObjectStore(ctx, bus.BucketAttachment); err != nil {
		t.Errorf("object store: %v", err)
	}
	// Idempotent: a second start changes nothing and fails nothing.
	if err := bus.EnsureTopology(ctx, conn.JS, bus.TopologyConfig{DuplicateWindow: time.Minute}); err != nil {
		t.Fatalf("second EnsureTopology: %v", err)
	}
}

func TestPublishDeduplicates(t *testing.T) {
	_, conn := testkit.Bus(t)
	ctx := context.Background()
	p := bus.NewPublisher(conn.JS)
	first, err := p.Publish(ctx, "guichet.requests.web", "id-1", []byte(`{}`), nil)
	if err != nil || first.Duplicate {
		t.Fatalf("first publish: %+v %v", first, err)
	}
	second, err := p.Publish(ctx, "guichet.requests.web", "id-1", []byte(`{}`), nil)
	if err != nil || !second.Duplicate || second.Sequence != first.Sequence {
		t.Fatalf("second publish of the same id: %+v %v", second, err)
	}
	if n := testkit.StreamMsgs(t, conn, bus.StreamRequests); n != 1 {
		t.Fatalf("REQUESTS holds %d messages, want 1", n)
	}
}

// startConsumer runs h on a durable consumer of REQUESTS with short back-off.
func startConsumer(t *testing.T, conn *bus.Conn, h bus.Handler, dead bus.DeadLetterFunc) *bus.Consumer {
	t.Helper()
	c, err := bus.NewConsumer(conn.JS, bus.ConsumerConfig{
		Stream: bus.StreamRequests, Durable: "test", MaxAttempts: 3,
		Backoff: []time.Duration{50 * time.Millisecond}, AckWait: time.Second, Workers: 2, OnDeadLetter: dead,
	}, h, testkit.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}

func publish(t *testing.T, conn *bus.Conn, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if _, err := bus.NewPublisher(conn.JS).Publish(context.Background(), "guichet.requests.web", id, []byte(id), nil); err != nil {
			t.Fatal(err)
		}
	}
}

func TestConsumerRetriesThenSucceeds(t *testing.T) {
	_, conn := testkit.Bus(t)
	var calls atomic.Int32
	var attempts []int
	var mu sync.Mutex
	startConsumer(t, conn, func(ctx context.Context, m bus.Message) error {
		mu.Lock()
		attempts = append(attempts, m.Attempt)
		mu.Unlock()
		if calls.Add(1) < 3 {
			return errors.New("database away")
		}
		return nil
	}, nil)
	publish(t, conn, "m1")
	testkit.Eventually(t, 10*time.Second, "third attempt", func() bool { return calls.Load() == 3 })
	waitAcked(t, conn, "test")
	time.Sleep(200 * time.Millisecond) // a wrong ack would bring a fourth delivery
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(attempts) != "[1 2 3]" {
		t.Fatalf("attempts %v, want [1 2 3]", attempts)
	}
	if n := testkit.StreamMsgs(t, conn, bus.StreamDead); n != 0 {
		t.Fatalf("%d dead letters for a message that succeeded", n)
	}
}

func TestConsumerDeadLetters(t *testing.T) {
	tests := []struct {
		name       string
		handler    bus.Handler
		deliveries int
		reason     string
	}{
		{"invalid: at once", func(ctx context.Context, m bus.Message) error {
			return fault.E(fault.Invalid, errors.New("schema says no"))
		}, 1, "schema says no"},
		{"transient: after max attempts", func(ctx context.Context, m bus.Message) error {
			return errors.New("still away")
		}, 3, "still away"},
		{"panic: recovered, then dead", func(ctx context.Context, m bus.Message) error {
			panic("boom")
		}, 3, "handler panic: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, conn := testkit.Bus(t)
			var deadCalls atomic.Int32
			var ok atomic.Int32
			startConsumer(t, conn, func(ctx context.Context, m bus.Message) error {
				if string(m.Data) == "good" {
					ok.Add(1)
					return nil
				}
				return tt.handler(ctx, m)
			}, func(ctx context.Context, m bus.Message, reason error) { deadCalls.Add(1) })
			publish(t, conn, "bad", "good")
			testkit.Eventually(t, 10*time.Second, "dead letter", func() bool { return testkit.StreamMsgs(t, conn, bus.StreamDead) == 1 })
			testkit.Eventually(t, 5*time.Second, "good message handled", func() bool { return ok.Load() == 1 })
			waitAcked(t, conn, "test")

			s, _ := conn.JS.Stream(context.Background(), bus.StreamDead)
			msg, err := s.GetLastMsgForSubject(context.Background(), "guichet.dead.requests.web")
			if err != nil {
				t.Fatal(err)
			}
			if string(msg.Data) != "bad" {
				t.Errorf("dead letter carries %q, want the original message", msg.Data)
			}
			if got := msg.Header.Get(bus.HeaderDeadReason); got == "" || !strings.Contains(got, tt.reason) {
				t.Errorf("reason %q, want it to mention %q", got, tt.reason)
			}
			if got := msg.Header.Get(bus.HeaderDeadDeliveries); got != strconv.Itoa(tt.deliveries) {
				t.Errorf("deliveries %s, want %d", got, tt.deliveries)
			}
			if deadCalls.Load() != 1 {
				t.Errorf("OnDeadLetter called %d times", deadCalls.Load())
			}
		})
	}
}

func waitAcked(t *testing.T, conn *bus.Conn, durable string) {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, "all messages acknowledged", func() bool {
		c, err := conn.JS.Consumer(context.Background(), bus.StreamRequests, durable)
		if err != nil {
			return false
		}
		info, err := c.Info(context.Background())
		return err == nil && info.NumAckPending == 0 && info.NumPending == 0 && info.NumRedelivered == 0
	})
}

// A batch slower than the ack wait is not delivered again while it is
// worked on, which would handle it twice and spend its attempts.
func TestSlowBatchIsNotRedelivered(t *testing.T) {
	_, conn := testkit.Bus(t)
	var mu sync.Mutex
	var seen []string
	c, err := bus.NewBatchConsumer(conn.JS, bus.ConsumerConfig{
		Stream: bus.StreamRequests, Durable: "slow", MaxAttempts: 3, Backoff: []time.Duration{50 * time.Millisecond},
		AckWait: 600 * time.Millisecond, Workers: 2, BatchSize: 8,
	}, func(ctx context.Context, ms []bus.Message) []error {
		mu.Lock()
		for _, m := range ms {
			seen = append(seen, string(m.Data)+"#"+strconv.Itoa(m.Attempt))
		}
		mu.Unlock()
		time.Sleep(2 * time.Second) // more than three ack waits
		return make([]error, len(ms))
	}, testkit.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	publish(t, conn, "a", "b", "c")
	testkit.Eventually(t, 10*time.Second, "handled", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) >= 3
	})
	waitAcked(t, conn, "slow")
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 3 {
		t.Errorf("handled %v: a message in hand was delivered again", seen)
	}
	for _, s := range seen {
		if !strings.HasSuffix(s, "#1") {
			t.Errorf("%s: not a first attempt", s)
		}
	}
}
