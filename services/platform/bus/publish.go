package bus

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Publisher publishes messages and waits for JetStream's acknowledgement.
type Publisher struct {
	js jetstream.JetStream
}

// NewPublisher returns a publisher on js.
func NewPublisher(js jetstream.JetStream) *Publisher { return &Publisher{js: js} }

// Published is what JetStream acknowledged.
type Published struct {
	Stream    string
	Sequence  uint64
	Duplicate bool // the same Nats-Msg-Id was already stored within the window
}

// Publish stores data on subject with Nats-Msg-Id = msgID and returns only
// once JetStream has acknowledged it (or ctx ends).
func (p *Publisher) Publish(ctx context.Context, subject, msgID string, data []byte, header nats.Header) (Published, error) {
	msg := &nats.Msg{Subject: subject, Data: data, Header: header}
	ack, err := p.js.PublishMsg(ctx, msg, jetstream.WithMsgID(msgID))
	if err != nil {
		return Published{}, fmt.Errorf("bus: publish %s (%s): %w", subject, msgID, err)
	}
	return Published{Stream: ack.Stream, Sequence: ack.Sequence, Duplicate: ack.Duplicate}, nil
}
