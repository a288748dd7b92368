package bus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Erasure names what a purge erased, for the streams to forget it too.
type Erasure struct {
	Requests []string // request ids: their REQUESTS messages, CASES events and DEAD copies
	Cases    []string // case references: their CASES events and the DEAD copies of them
	// Contacts are e-mail addresses and phone numbers erased: a dead letter
	// that holds one (a rejected e-mail, which belongs to no request) goes.
	Contacts []string
}

func (e Erasure) empty() bool {
	return len(e.Requests) == 0 && len(e.Cases) == 0 && len(e.Contacts) == 0
}

// Forgotten counts what a Forget erased and what it read to find it.
type Forgotten struct {
	Requests, Cases, Dead int // messages erased from REQUESTS, CASES and DEAD
	Scanned               int // messages read
}

// Forget erases from the streams every message of e once; see
// Forgetter.Forget. A purge that runs in several batches should keep one
// Forgetter for all of them.
func Forget(ctx context.Context, js jetstream.JetStream, e Erasure) (Forgotten, error) {
	return NewForgetter(js).Forget(ctx, e)
}

// Forgetter erases from REQUESTS, CASES and DEAD the messages of what a
// purge erased. It indexes REQUESTS (by request id) and CASES (by case
// reference and request id) as it reads them and keeps the index between
// calls, so that a purge told in many batches reads each message once: a
// call reads only what was published since the one before. DEAD, where
// a person reviews each message and which stays small, is read whole at
// each call. A Forgetter is safe for concurrent use.
type Forgetter struct {
	js    jetstream.JetStream
	mu    sync.Mutex
	index map[string]*streamIndex // by stream name
}

// NewForgetter returns a Forgetter of the streams on js.
func NewForgetter(js jetstream.JetStream) *Forgetter {
	return &Forgetter{js: js, index: map[string]*streamIndex{}}
}

// Forget erases every message of the requests, cases and contacts of e
// with SecureDeleteMsg: the server overwrites each message with random
// bytes in its store files (on every replica), not only marks it deleted,
// so that the text is gone from the disk files and not merely
// unreachable. REQUESTS is read headers only (a request's message carries
// its id as Nats-Msg-Id), CASES and DEAD with their payloads (an event
// names its case and request in its JSON; a dead letter is a copy of
// either, or a rejected e-mail, matched by the contacts it holds). ctx
// bounds the reading; what was erased before it ended stays erased, and
// forgetting again is harmless.
func (f *Forgetter) Forget(ctx context.Context, e Erasure) (Forgotten, error) {
	var out Forgotten
	if e.empty() {
		return out, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	requests, cases := set(e.Requests), set(e.Cases)
	if len(requests) > 0 {
		n, err := f.forgetIndexed(ctx, StreamRequests, true, requestKeys, e.Requests, &out.Scanned)
		out.Requests += n
		if err != nil {
			return out, fmt.Errorf("bus: forget: %w", err)
		}
	}
	if len(requests) > 0 || len(cases) > 0 {
		n, err := f.forgetIndexed(ctx, StreamCases, false, eventKeys, append(append([]string{}, e.Cases...), e.Requests...), &out.Scanned)
		out.Cases += n
		if err != nil {
			return out, fmt.Errorf("bus: forget: %w", err)
		}
	}
	n, err := f.forgetDead(ctx, requests, cases, e.Contacts, &out.Scanned)
	out.Dead += n
	if err != nil {
		return out, fmt.Errorf("bus: forget: %w", err)
	}
	return out, nil
}

// requestKeys indexes a REQUESTS message by its request id.
func requestKeys(m jetstream.Msg) []string {
	if id := m.Headers().Get(jetstream.MsgIDHeader); id != "" {
		return []string{id}
	}
	return nil
}

// eventKeys indexes a CASES event by its case and its request.
func eventKeys(m jetstream.Msg) []string {
	r := refs(m.Data())
	var keys []string
	if r.CaseRef != "" {
		keys = append(keys, r.CaseRef)
	}
	if r.RequestID != "" {
		keys = append(keys, r.RequestID)
	}
	return keys
}

// forgetIndexed brings the stream's index up to date, then erases the
// messages indexed under keys.
func (f *Forgetter) forgetIndexed(ctx context.Context, stream string, headersOnly bool, keysOf func(jetstream.Msg) []string, keys []string, scanned *int) (int, error) {
	s, err := f.js.Stream(ctx, stream)
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", stream, err)
	}
	idx := f.index[stream]
	if idx == nil {
		idx = &streamIndex{keys: map[string][]uint64{}}
		f.index[stream] = idx
	}
	n, err := idx.refresh(ctx, s, headersOnly, keysOf)
	*scanned += n
	if err != nil {
		return 0, err
	}
	erased := 0
	done := map[uint64]bool{}
	for _, k := range keys {
		for _, seq := range idx.keys[k] {
			if done[seq] {
				continue
			}
			done[seq] = true
			if err := Erase(ctx, s, seq); err != nil {
				return erased, err
			}
			erased++
		}
		delete(idx.keys, k)
	}
	return erased, nil
}

// forgetDead reads DEAD whole and erases the copies of what is forgotten.
func (f *Forgetter) forgetDead(ctx context.Context, requests, cases map[string]bool, contacts []string, scanned *int) (int, error) {
	var lower [][]byte
	for _, c := range contacts {
		if c = strings.ToLower(strings.TrimSpace(c)); c != "" {
			lower = append(lower, []byte(c))
		}
	}
	s, err := f.js.Stream(ctx, StreamDead)
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", StreamDead, err)
	}
	var seqs []uint64
	n, err := Scan(ctx, s, 0, false, func(m jetstream.Msg, seq uint64) {
		r := refs(m.Data())
		if requests[r.ID] || requests[r.RequestID] || cases[r.CaseRef] {
			seqs = append(seqs, seq)
			return
		}
		if len(lower) > 0 {
			data := bytes.ToLower(m.Data())
			for _, c := range lower {
				if bytes.Contains(data, c) {
					seqs = append(seqs, seq)
					return
				}
			}
		}
	})
	*scanned += n
	if err != nil {
		return 0, err
	}
	for i, seq := range seqs {
		if err := Erase(ctx, s, seq); err != nil {
			return i, err
		}
	}
	return len(seqs), nil
}

// streamIndex is where the messages of a stream read so far are, by key.
type streamIndex struct {
	last uint64              // the last sequence read
	keys map[string][]uint64 // key → sequences
}

// refresh reads the messages published since the last refresh and drops
// what aged out of the stream meanwhile.
func (x *streamIndex) refresh(ctx context.Context, s jetstream.Stream, headersOnly bool, keysOf func(jetstream.Msg) []string) (int, error) {
	info, err := s.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("stream info: %w", err)
	}
	st := info.State
	if st.LastSeq < x.last {
		// The stream was purged or made anew: start again.
		x.last, x.keys = 0, map[string][]uint64{}
	}
	if st.FirstSeq > 1 && len(x.keys) > 0 {
		x.prune(st.FirstSeq)
	}
	if st.LastSeq == x.last {
		return 0, nil
	}
	return Scan(ctx, s, x.last+1, headersOnly, func(m jetstream.Msg, seq uint64) {
		for _, k := range keysOf(m) {
			x.keys[k] = append(x.keys[k], seq)
		}
		x.last = seq
	})
}

// prune drops the sequences below first (aged out of the stream).
func (x *streamIndex) prune(first uint64) {
	for k, seqs := range x.keys {
		i := 0
		for i < len(seqs) && seqs[i] < first {
			i++
		}
		switch {
		case i == len(seqs):
			delete(x.keys, k)
		case i > 0:
			x.keys[k] = seqs[i:]
		}
	}
}

// Erase overwrites one message of s and deletes it; a message already gone
// (aged out or erased meanwhile) is not an error.
func Erase(ctx context.Context, s jetstream.Stream, seq uint64) error {
	err := s.SecureDeleteMsg(ctx, seq)
	if err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return fmt.Errorf("erase %s #%d: %w", s.CachedInfo().Config.Name, seq, err)
	}
	return nil
}

// scanIdle is how long Scan waits for the next message before it asks the
// stream whether there is one left to read.
const scanIdle = 5 * time.Second

// Scan reads s once, in order, from sequence from (0 or 1: from the
// first), with an ordered consumer (payloads too unless headersOnly), and
// calls each with every message; it returns how many it read. It reads up
// to the last message the stream held when it started: messages published
// meanwhile are for a later scan.
func Scan(ctx context.Context, s jetstream.Stream, from uint64, headersOnly bool, each func(m jetstream.Msg, seq uint64)) (int, error) {
	info, err := s.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("scan: info: %w", err)
	}
	name, last := info.Config.Name, info.State.LastSeq
	if info.State.Msgs == 0 || last < from {
		return 0, nil
	}
	cfg := jetstream.OrderedConsumerConfig{HeadersOnly: headersOnly, InactiveThreshold: time.Minute}
	if from > info.State.FirstSeq {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, from
	}
	cons, err := s.OrderedConsumer(ctx, cfg)
	if err != nil {
		return 0, fmt.Errorf("scan %s: consumer: %w", name, err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(512))
	if err != nil {
		return 0, fmt.Errorf("scan %s: %w", name, err)
	}
	defer it.Stop()
	read := 0
	for seen := uint64(0); seen < last; {
		nctx, cancel := context.WithTimeout(ctx, scanIdle)
		m, err := it.Next(jetstream.NextContext(nctx))
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return read, fmt.Errorf("scan %s: stopped after %d messages: %w", name, read, ctx.Err())
			}
			if errors.Is(err, context.DeadlineExceeded) {
				// Nothing came: what was left may have aged out meanwhile.
				now, err := s.Info(ctx)
				if err != nil {
					return read, fmt.Errorf("scan %s: info: %w", name, err)
				}
				if st := now.State; st.Msgs == 0 || st.LastSeq <= seen || st.FirstSeq > last {
					break // nothing left between what was read and last
				}
				continue
			}
			return read, fmt.Errorf("scan %s: %w", name, err)
		}
		meta, err := m.Metadata()
		if err != nil {
			return read, fmt.Errorf("scan %s: metadata: %w", name, err)
		}
		seen = meta.Sequence.Stream
		if seen > last {
			break
		}
		read++
		each(m, seen)
		if meta.NumPending == 0 {
			break
		}
	}
	return read, nil
}

// msgRefs is what a request, a case event or a dead copy of either says of
// whom it is about.
type msgRefs struct {
	ID        string `json:"id"`
	CaseRef   string `json:"case_ref"`
	RequestID string `json:"request_id"`
}

// refs reads the ids of a JSON payload; a payload that is not JSON (a
// rejected e-mail) has none.
func refs(data []byte) msgRefs {
	var r msgRefs
	if len(data) > 0 && data[0] == '{' {
		_ = json.Unmarshal(data, &r)
	}
	return r
}

func set(list []string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, s := range list {
		if s != "" {
			m[s] = true
		}
	}
	return m
}
