package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ampmetropole/guichet/services/platform/fault"
)

// Headers set on a dead letter.
const (
	HeaderDeadReason     = "Guichet-Dead-Reason"
	HeaderDeadStream     = "Guichet-Dead-Stream"
	HeaderDeadSubject    = "Guichet-Dead-Subject"
	HeaderDeadSequence   = "Guichet-Dead-Sequence"
	HeaderDeadDeliveries = "Guichet-Dead-Deliveries"
	HeaderDeadConsumer   = "Guichet-Dead-Consumer"
)

// Message is what a Handler sees of a delivery.
type Message struct {
	Subject  string
	Data     []byte
	Header   nats.Header
	MsgID    string // Nats-Msg-Id
	Attempt  int    // 1 for the first delivery
	Sequence uint64 // stream sequence
}

// Handler processes one message. nil acknowledges it; an error whose
// fault.Kind is not retryable dead-letters it at once; any other error is
// retried with back-off until MaxAttempts, then dead-lettered.
type Handler func(ctx context.Context, m Message) error

// BatchHandler processes messages together (one database transaction for
// all, say) and returns one error per message, as Handler would.
type BatchHandler func(ctx context.Context, ms []Message) []error

// DeadLetterFunc is told about every message sent to DEAD, after the fact.
type DeadLetterFunc func(ctx context.Context, m Message, reason error)

// ConsumerConfig configures a durable pull consumer.
type ConsumerConfig struct {
	Stream         string
	Durable        string
	FilterSubject  string
	MaxAttempts    int             // deliveries before dead-lettering; default 5
	Backoff        []time.Duration // delay before attempt n+1; the last one repeats
	AckWait        time.Duration   // redelivery after a crash (work in hand is kept from it); default 30s
	HandlerTimeout time.Duration   // default 20s
	Workers        int             // messages (or batches) handled at once; default 4
	// BatchSize is the most messages a BatchHandler gets at once; a batch
	// starts when a message arrives and closes when full or BatchLinger
	// later (default 2 ms).
	BatchSize    int
	BatchLinger  time.Duration
	OnDeadLetter DeadLetterFunc
}

func (c *ConsumerConfig) setDefaults() {
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 5
	}
	if len(c.Backoff) == 0 {
		c.Backoff = []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute}
	}
	if c.AckWait <= 0 {
		c.AckWait = 30 * time.Second
	}
	if c.HandlerTimeout <= 0 {
		// May exceed AckWait: a message in hand is kept from redelivery
		// (inHand), and the ack wait only decides how soon a crashed
		// consumer's messages go to another.
		c.HandlerTimeout = 20 * time.Second
	}
	if c.Workers <= 0 {
		c.Workers = 4
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 1
	}
	if c.BatchLinger <= 0 {
		c.BatchLinger = 2 * time.Millisecond
	}
}

// Validate reports a configuration that cannot work.
func (c *ConsumerConfig) Validate() error {
	if c.Stream == "" || c.Durable == "" {
		return errors.New("bus: consumer needs Stream and Durable")
	}
	return nil
}

// Consumer runs a Handler on a durable pull consumer.
type Consumer struct {
	cfg     ConsumerConfig
	js      jetstream.JetStream
	pub     *Publisher
	handler Handler
	batch   BatchHandler
	log     *slog.Logger

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// NewConsumer prepares a consumer; Start creates it on the server and runs it.
func NewConsumer(js jetstream.JetStream, cfg ConsumerConfig, h Handler, log *slog.Logger) (*Consumer, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Consumer{cfg: cfg, js: js, pub: NewPublisher(js), handler: h, log: log.With("consumer", cfg.Durable)}, nil
}

// NewBatchConsumer prepares a consumer whose handler takes up to
// cfg.BatchSize messages at once.
func NewBatchConsumer(js jetstream.JetStream, cfg ConsumerConfig, h BatchHandler, log *slog.Logger) (*Consumer, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Consumer{cfg: cfg, js: js, pub: NewPublisher(js), batch: h, log: log.With("consumer", cfg.Durable)}, nil
}

// Start creates or updates the durable consumer and starts handling messages
// until Stop.
func (c *Consumer) Start(ctx context.Context) error {
	cons, err := c.js.CreateOrUpdateConsumer(ctx, c.cfg.Stream, jetstream.ConsumerConfig{
		Durable:       c.cfg.Durable,
		FilterSubject: c.cfg.FilterSubject,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       c.cfg.AckWait,
		// The server keeps redelivering; we count attempts and dead-letter
		// ourselves so that the reason is recorded, even after crashes.
		MaxDeliver:    -1,
		MaxAckPending: c.cfg.Workers * max(16, 2*c.cfg.BatchSize),
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return fmt.Errorf("bus: consumer %s: %w", c.cfg.Durable, err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(c.cfg.Workers * 2 * c.cfg.BatchSize))
	if err != nil {
		return fmt.Errorf("bus: consumer %s: messages: %w", c.cfg.Durable, err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c.mu.Lock()
	c.cancel = cancel
	c.done = make(chan struct{})
	c.mu.Unlock()

	msgs := make(chan jetstream.Msg)
	// Stop ends fetching, not the work in flight: a handler runs to its end
	// (bounded by HandlerTimeout) so that it can commit and acknowledge.
	workCtx := context.WithoutCancel(runCtx)
	var wg sync.WaitGroup
	for range c.cfg.Workers {
		wg.Go(func() {
			if c.batch != nil {
				c.batches(workCtx, msgs)
				return
			}
			for m := range msgs {
				c.handle(workCtx, m)
			}
		})
	}
	go func() {
		defer close(c.done)
		defer wg.Wait()
		defer close(msgs)
		go func() { <-runCtx.Done(); it.Stop() }()
		for {
			m, err := it.Next()
			if err != nil {
				if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
					return
				}
				c.log.Warn("next message", "err", err)
				continue
			}
			select {
			case msgs <- m:
			case <-runCtx.Done():
				// Not acknowledged: the server redelivers it after AckWait.
				return
			}
		}
	}()
	return nil
}

// Stop stops fetching, lets handlers in flight finish, and returns. Safe to
// call twice.
func (c *Consumer) Stop() {
	c.mu.Lock()
	cancel, done := c.cancel, c.done
	c.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}

// message reads a delivery; false when it cannot be handled at all (no
// metadata: terminated) or was abandoned (dead-lettered) already.
func (c *Consumer) message(ctx context.Context, jm jetstream.Msg) (Message, *slog.Logger, bool) {
	meta, err := jm.Metadata()
	if err != nil {
		c.log.Error("message without metadata", "err", err)
		_ = jm.Term()
		return Message{}, nil, false
	}
	m := Message{
		Subject:  jm.Subject(),
		Data:     jm.Data(),
		Header:   jm.Headers(),
		MsgID:    jm.Headers().Get(jetstream.MsgIDHeader),
		Attempt:  int(meta.NumDelivered),
		Sequence: meta.Sequence.Stream,
	}
	log := c.log.With("nats_subject", m.Subject, "msg_id", m.MsgID, "seq", m.Sequence, "attempt", m.Attempt)
	if m.Attempt > c.cfg.MaxAttempts {
		// Earlier attempts never answered: the handler crashed or hung.
		c.deadLetter(ctx, jm, m, fmt.Errorf("abandonné après %d remises sans réponse du traitement", m.Attempt-1), log)
		return m, log, false
	}
	return m, log, true
}

func (c *Consumer) handle(ctx context.Context, jm jetstream.Msg) {
	m, log, ok := c.message(ctx, jm)
	if !ok {
		return
	}
	stop := c.inHand([]jetstream.Msg{jm})
	err := c.run(ctx, m)
	stop()
	c.settle(ctx, jm, m, err, log, true)
}

// batches gathers messages into batches for the batch handler: a batch
// opens with a message and closes when full or BatchLinger later.
func (c *Consumer) batches(ctx context.Context, msgs <-chan jetstream.Msg) {
	for first := range msgs {
		batch := []jetstream.Msg{first}
		linger := time.NewTimer(c.cfg.BatchLinger)
	fill:
		for len(batch) < c.cfg.BatchSize {
			select {
			case m, ok := <-msgs:
				if !ok {
					break fill
				}
				batch = append(batch, m)
			case <-linger.C:
				break fill
			}
		}
		linger.Stop()
		c.handleBatch(ctx, batch)
	}
}

func (c *Consumer) handleBatch(ctx context.Context, jms []jetstream.Msg) {
	var ms []Message
	var keep []jetstream.Msg
	var logs []*slog.Logger
	for _, jm := range jms {
		if m, log, ok := c.message(ctx, jm); ok {
			ms, keep, logs = append(ms, m), append(keep, jm), append(logs, log)
		}
	}
	if len(ms) == 0 {
		return
	}
	stop := c.inHand(keep)
	errs := c.runBatch(ctx, ms)
	stop()
	for i, jm := range keep {
		// One acknowledgement a message, not waited for: the work is
		// committed and idempotent, a redelivery is harmless.
		c.settle(ctx, jm, ms[i], errs[i], logs[i], false)
	}
}

// inHand tells the server every third of the ack wait, until stop, that
// the messages are being worked on: a batch slower than the ack wait (a
// backlog, a database that answers slowly, a batch split to find a bad
// request) is not delivered again meanwhile, which would be handled
// twice and count attempts towards the dead letter.
func (c *Consumer) inHand(jms []jetstream.Msg) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(c.cfg.AckWait / 3)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				for _, jm := range jms {
					_ = jm.InProgress()
				}
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// runBatch calls the batch handler with a timeout; a panic fails every
// message of the batch.
func (c *Consumer) runBatch(ctx context.Context, ms []Message) (errs []error) {
	hctx, cancel := context.WithTimeout(ctx, c.cfg.HandlerTimeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("handler panic", "panic", r, "stack", string(debug.Stack()))
			errs = make([]error, len(ms))
			for i := range errs {
				errs[i] = fmt.Errorf("bus: handler panic: %v", r)
			}
		}
	}()
	errs = c.batch(hctx, ms)
	if len(errs) != len(ms) {
		panic(fmt.Sprintf("bus: batch handler returned %d results for %d messages", len(errs), len(ms)))
	}
	return errs
}

// settle acknowledges, retries or dead-letters a handled message.
func (c *Consumer) settle(ctx context.Context, jm jetstream.Msg, m Message, err error, log *slog.Logger, wait bool) {
	switch {
	case err == nil && wait:
		if err := jm.DoubleAck(ctx); err != nil {
			// The work is committed and idempotent: a redelivery is harmless.
			log.Warn("ack failed", "err", err)
		}
	case err == nil:
		if err := jm.Ack(); err != nil {
			log.Warn("ack failed", "err", err)
		}
	case !fault.Retryable(err) || m.Attempt >= c.cfg.MaxAttempts:
		c.deadLetter(ctx, jm, m, err, log)
	default:
		delay := c.cfg.Backoff[min(m.Attempt, len(c.cfg.Backoff))-1]
		log.Warn("handler failed, will retry", "err", err, "retry_in", delay)
		_ = jm.NakWithDelay(delay)
	}
}

// run calls the handler with a timeout, turning a panic into an error.
func (c *Consumer) run(ctx context.Context, m Message) (err error) {
	hctx, cancel := context.WithTimeout(ctx, c.cfg.HandlerTimeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("handler panic", "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("bus: handler panic: %v", r)
		}
	}()
	return c.handler(hctx, m)
}

func (c *Consumer) deadLetter(ctx context.Context, jm jetstream.Msg, m Message, reason error, log *slog.Logger) {
	h := nats.Header{}
	for k, v := range m.Header {
		if k != jetstream.MsgIDHeader {
			h[k] = v
		}
	}
	h.Set(HeaderDeadReason, truncate(reason.Error(), 1024))
	h.Set(HeaderDeadStream, c.cfg.Stream)
	h.Set(HeaderDeadSubject, m.Subject)
	h.Set(HeaderDeadSequence, strconv.FormatUint(m.Sequence, 10))
	h.Set(HeaderDeadDeliveries, strconv.Itoa(m.Attempt))
	h.Set(HeaderDeadConsumer, c.cfg.Durable)
	subject := SubjectDead + "." + strings.TrimPrefix(m.Subject, "guichet.")
	// One dead letter per consumer and message: two consumers may give up on
	// the same message for different reasons.
	id := "dead:" + c.cfg.Durable + ":" + c.cfg.Stream + ":" + strconv.FormatUint(m.Sequence, 10)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := c.pub.Publish(pctx, subject, id, m.Data, h); err != nil {
		// Not lost: the original stays unacknowledged and comes back.
		log.Error("dead-letter publish failed, will retry", "err", err, "reason", reason)
		_ = jm.NakWithDelay(c.cfg.Backoff[len(c.cfg.Backoff)-1])
		return
	}
	log.Error("message dead-lettered", "reason", reason, "dead_subject", subject)
	if err := jm.Term(); err != nil {
		log.Warn("term after dead-letter failed", "err", err)
	}
	if c.cfg.OnDeadLetter != nil {
		c.cfg.OnDeadLetter(pctx, m, reason)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
