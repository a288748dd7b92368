package backoffice

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/scope"
	"github.com/ampmetropole/guichet/services/platform/bus"
	"github.com/ampmetropole/guichet/services/staff/auth"
)

// The queue and the triage page refresh themselves with server-sent events
// fed by the CASES stream: one ordered consumer per process, running while
// someone watches, whose events each stream filters to its viewer's scope.
// A stream sends only counts ("2 new cases, 1 changed"), never a case's
// content: the page's script offers to reload. Why events rather than
// polling: a poll is a request, and every request of a signed-in person
// writes their session's last use; an idle stream costs a goroutine and a
// heartbeat, no database work.

// CaseFeed hears case events as they are published (the CASES stream):
// Watch calls fn for each event published after it returned, from one
// goroutine, until stop is called; stop waits for the calls to end.
type CaseFeed interface {
	Watch(ctx context.Context, fn func(schemas.CaseEvent)) (stop func(), err error)
}

// StreamFeed is the CASES stream as a [CaseFeed]: an ordered consumer of
// the events published from now on, removed when stopped.
func StreamFeed(js jetstream.JetStream) CaseFeed { return streamFeed{js: js} }

type streamFeed struct{ js jetstream.JetStream }

func (f streamFeed) Watch(ctx context.Context, fn func(schemas.CaseEvent)) (func(), error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := f.js.OrderedConsumer(ctx, bus.StreamCases, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{bus.SubjectCases + ".>"}, DeliverPolicy: jetstream.DeliverNewPolicy})
	if err != nil {
		return nil, fmt.Errorf("backoffice: live: %w", err)
	}
	cc, err := c.Consume(func(m jetstream.Msg) {
		var e schemas.CaseEvent
		if json.Unmarshal(m.Data(), &e) == nil {
			fn(e)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("backoffice: live: %w", err)
	}
	return func() {
		cc.Stop()
		select {
		case <-cc.Closed():
		case <-time.After(5 * time.Second):
		}
	}, nil
}

// The bounds of the live streams; variables for the tests.
var (
	liveHeartbeat   = 25 * time.Second // a comment line, so that proxies keep the stream open
	liveMaxDuration = 10 * time.Minute // then the stream ends; the script opens another if the person is still there
	liveGather      = time.Second      // events that close together make one message
	liveRetry       = 20 * time.Second // how long the browser waits before reconnecting by itself
)

// Limits on the streams open at once.
const (
	liveMaxStreams    = 2000 // in the process
	liveMaxPerSession = 4    // per session: a few tabs
)

var (
	errLiveBusy    = errors.New("backoffice: live: too many streams")
	errLiveSession = errors.New("backoffice: live: too many streams for this session")
	errLiveClosed  = errors.New("backoffice: live: stopping")
)

// hub hands the feed's events to the streams that watch.
type hub struct {
	feed CaseFeed
	log  *slog.Logger

	startMu sync.Mutex // one watch started or stopped at a time
	mu      sync.Mutex // the fields below
	streams map[*listener]struct{}
	per     map[string]int // streams by session
	stop    func()         // the running watch; nil when none
	closed  bool
	done    chan struct{} // closed by Close
	once    sync.Once
}

func newHub(feed CaseFeed, log *slog.Logger) *hub {
	return &hub{feed: feed, log: log, streams: map[*listener]struct{}{}, per: map[string]int{}, done: make(chan struct{})}
}

// on says whether the pages refresh themselves.
func (h *hub) on() bool { return h != nil && h.feed != nil }

// listener is one stream: the cases its viewer sees, and what changed
// since its last message.
type listener struct {
	session string
	scope   scope.Scope
	triage  bool          // the triage queue only
	wake    chan struct{} // one slot: something changed
	mu      sync.Mutex
	fresh   int // cases that came into view
	changed int // cases in view that changed or left
}

// sees says whether the listener shows a case of this competence and
// territory.
func (l *listener) sees(competence, territory string) bool {
	if l.triage && competence != schemas.CompetenceTriage {
		return false
	}
	return l.scope.Sees(competence, territory)
}

// note counts an event for the listener when it changes what its page
// shows.
func (l *listener) note(e schemas.CaseEvent) {
	in := l.sees(e.Competence, e.Territory)
	was := false
	if e.Type == schemas.EventRerouted {
		from, _ := e.Data["from"].(string)
		fromTerr, _ := e.Data["from_territory"].(string)
		was = l.sees(from, fromTerr)
	}
	l.mu.Lock()
	switch {
	case in && (e.Type == schemas.EventCreated || e.Type == schemas.EventRerouted && !was):
		l.fresh++
	case (in || was) && shownChange(e.Type):
		l.changed++
	default:
		l.mu.Unlock()
		return
	}
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// take returns and resets the counts.
func (l *listener) take() (fresh, changed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fresh, changed, l.fresh, l.changed = l.fresh, l.changed, 0, 0
	return fresh, changed
}

// shownChange says whether an event changes a case as the queue lists it
// (its state, deadline, contacts, competence): a note or an answer does not.
func shownChange(typ string) bool {
	switch typ {
	case schemas.EventStateChanged, schemas.EventRerouted, schemas.EventRequestLinked, schemas.EventUnlinked,
		schemas.EventMerged, schemas.EventUnmerged, schemas.EventBreached, schemas.EventAssigned:
		return true
	}
	return false
}

// join opens a stream for a session, starting the feed's watch if it is the
// first.
func (h *hub) join(session string, sc scope.Scope, triage bool) (*listener, error) {
	h.startMu.Lock()
	defer h.startMu.Unlock()
	h.mu.Lock()
	switch {
	case h.closed:
		h.mu.Unlock()
		return nil, errLiveClosed
	case len(h.streams) >= liveMaxStreams:
		h.mu.Unlock()
		return nil, errLiveBusy
	case h.per[session] >= liveMaxPerSession:
		h.mu.Unlock()
		return nil, errLiveSession
	}
	start := h.stop == nil
	h.mu.Unlock()
	if start {
		stop, err := h.feed.Watch(context.Background(), h.dispatch)
		if err != nil {
			return nil, err
		}
		h.mu.Lock()
		h.stop = stop
		h.mu.Unlock()
	}
	l := &listener{session: session, scope: sc, triage: triage, wake: make(chan struct{}, 1)}
	h.mu.Lock()
	h.streams[l] = struct{}{}
	h.per[session]++
	h.mu.Unlock()
	return l, nil
}

// leave closes a stream, and the feed's watch with the last one.
func (h *hub) leave(l *listener) {
	h.startMu.Lock()
	defer h.startMu.Unlock()
	h.mu.Lock()
	delete(h.streams, l)
	if h.per[l.session]--; h.per[l.session] <= 0 {
		delete(h.per, l.session)
	}
	var stop func()
	if len(h.streams) == 0 {
		stop, h.stop = h.stop, nil
	}
	h.mu.Unlock()
	if stop != nil {
		stop()
	}
}

func (h *hub) dispatch(e schemas.CaseEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for l := range h.streams {
		l.note(e)
	}
}

// close ends every stream (each says so to its page); safe twice.
func (h *hub) close() {
	h.once.Do(func() {
		h.mu.Lock()
		h.closed = true
		close(h.done)
		h.mu.Unlock()
	})
}

// Close ends the live streams, before the HTTP server shuts down: a stream
// would hold its connection open until its end. Safe twice.
func (h *Handler) Close() { h.live.close() }

// sessionKey identifies the session of a request for the per-session
// limit: the hash of its cookie, else the signed-in name.
func sessionKey(r *http.Request, p auth.Principal) string {
	if c, err := r.Cookie(auth.SessionCookie); err == nil {
		sum := sha256.Sum256([]byte(c.Value))
		return hex.EncodeToString(sum[:])
	}
	return "name:" + p.Name
}

// liveStream answers GET /bo/direct?file=dossiers|tri: a stream of
// server-sent events saying how many cases of the viewer's queue (or triage
// queue) arrived or changed, with a heartbeat, for liveMaxDuration at most.
func (h *Handler) liveStream(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	if !h.live.on() {
		h.notFound(w, r, "")
		return
	}
	if len(r.URL.RawQuery) > 64 {
		h.shell.Error(w, h.deps.Guard.Viewer(r), http.StatusBadRequest, "Adresse trop longue.")
		return
	}
	triage := false
	switch r.URL.Query().Get("file") {
	case "dossiers":
	case "tri":
		if !p.Can(auth.PermTriage) {
			h.deps.Guard.DenyPage(w, r)
			return
		}
		triage = true
	default:
		h.notFound(w, r, "")
		return
	}
	l, err := h.live.join(sessionKey(r, p), p.Scope(), triage)
	switch {
	case errors.Is(err, errLiveSession), errors.Is(err, errLiveBusy):
		w.Header().Set("Retry-After", "60")
		h.shell.Error(w, h.deps.Guard.Viewer(r), http.StatusTooManyRequests,
			"Trop de pages ouvertes se mettent à jour en direct : fermez-en une, ou actualisez les autres à la main.")
		return
	case err != nil:
		if !errors.Is(err, errLiveClosed) {
			h.deps.Log.Warn("live refresh unavailable", "err", err)
		}
		h.unavailable(w, r, "La mise à jour en direct est momentanément indisponible : actualisez la page à la main.")
		return
	}
	defer h.live.leave(l)
	rc := http.NewResponseController(w)
	// The server's read timeout would end a stream that reads nothing more;
	// its write timeout is moved on at each write instead.
	_ = rc.SetReadDeadline(time.Time{})
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	write := func(s string) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(30 * time.Second))
		if _, err := io.WriteString(w, s); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !write("retry: " + strconv.FormatInt(liveRetry.Milliseconds(), 10) + "\n\nevent: pret\ndata: {}\n\n") {
		return
	}
	beat := time.NewTicker(liveHeartbeat)
	defer beat.Stop()
	end := time.NewTimer(liveMaxDuration)
	defer end.Stop()
	ctx := r.Context()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.live.done:
			write("event: fin\ndata: {}\n\n")
			return
		case <-end.C:
			write("event: fin\ndata: {}\n\n")
			return
		case <-beat.C:
			if !write(": direct\n\n") {
				return
			}
		case <-l.wake:
			// Let a burst of events (a merge, a batch of letters) make one message.
			gather := time.NewTimer(liveGather)
			select {
			case <-ctx.Done():
				gather.Stop()
				return
			case <-gather.C:
			}
			fresh, changed := l.take()
			if fresh+changed == 0 {
				continue
			}
			if !write(fmt.Sprintf("event: change\ndata: {\"nouveaux\":%d,\"modifies\":%d}\n\n", fresh, changed)) {
				return
			}
		}
	}
}
