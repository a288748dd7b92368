package mailroom

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// Rejections keeps what the mailroom sent that could not become a request,
// for its list of letters.
type Rejections interface {
	RecordMailRejection(ctx context.Context, r casestore.MailRejection) error
}

// UploadConfig bounds the scans the mailroom uploads by hand (page and API).
// Zero fields take the defaults.
type UploadConfig struct {
	// Wait is how long Upload waits for a reading before answering that it
	// is pending: below the HTTP server's 30 s write timeout.
	Wait time.Duration // default 20s
	// Timeout bounds all the work of one upload, in the background
	// included: waiting for the scan reader, reading, storing, publishing.
	Timeout time.Duration // default 3 min
	// MaxInFlight is how many uploads may be at work at once, their caller
	// still waiting or not; beyond it Upload answers fault.TooMany.
	MaxInFlight int // default 4
	// Rejections records an upload that failed once its caller had its
	// answer; nil: the failure is only logged.
	Rejections Rejections
	Log        *slog.Logger // default slog.Default()
}

// Default upload bounds. Three minutes leave room for two scans ahead of
// this one at the reader (scan.DefaultBudget each) and for this one.
const (
	DefaultUploadWait    = 20 * time.Second
	DefaultUploadTimeout = 3 * time.Minute
	DefaultMaxUploads    = 4
)

// Upload is a scan uploaded by the mailroom.
type Upload struct {
	ID      string // the request's id, known before the scan is read
	Pending bool   // still being read: published, or its failure recorded, when done
	Result  Result // the letter handled, when not pending
}

// uploads are the readings of uploaded scans under way.
type uploads struct {
	cfg     UploadConfig
	slots   chan struct{} // one token per upload at work
	stop    context.Context
	cancel  context.CancelFunc
	mu      sync.Mutex // guards stopped and wg.Add against Stop
	stopped bool
	wg      sync.WaitGroup
}

// SetUploads configures Upload. Call it before the pipeline serves uploads.
func (p *Pipeline) SetUploads(cfg UploadConfig) {
	if cfg.Wait <= 0 {
		cfg.Wait = DefaultUploadWait
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultUploadTimeout
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = DefaultMaxUploads
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if p.uploads != nil {
		p.uploads.cancel() // nothing runs yet: only its context is released
	}
	u := &uploads{cfg: cfg, slots: make(chan struct{}, cfg.MaxInFlight)}
	u.stop, u.cancel = context.WithCancel(context.Background())
	p.uploads = u
}

// outcome is a letter handled, or its failure.
type outcome struct {
	res Result
	err error
}

// Upload handles a scan uploaded by the mailroom like Letter, but waits for
// it at most UploadConfig.Wait, and no longer than ctx: then it answers
// Pending with the id the request will have, and the reading goes on in the
// background, detached from ctx and bounded by UploadConfig.Timeout. A
// failure after that answer is recorded for the mailroom's list under the
// key o.Key ("upload:<sha256>" when empty). Errors are Letter's, or
// fault.TooMany beyond UploadConfig.MaxInFlight uploads at work, or
// fault.Transient once the pipeline is stopped.
func (p *Pipeline) Upload(ctx context.Context, data []byte, name string, o Origin) (Upload, error) {
	u := p.uploads
	if o.Key == "" {
		o.Key = ScanKey(data)
	}
	if o.ReceivedAt.IsZero() {
		o.ReceivedAt = time.Now()
	}
	up := Upload{ID: p.RequestID(o)}
	select {
	case u.slots <- struct{}{}:
	default:
		return up, fault.E(fault.TooMany, errors.New("mailroom: trop de scans en cours de lecture ; réessayez dans une minute"))
	}
	u.mu.Lock()
	if u.stopped {
		u.mu.Unlock()
		<-u.slots
		return up, fault.E(fault.Transient, errors.New("mailroom: service en cours d'arrêt"))
	}
	u.wg.Add(1)
	u.mu.Unlock()

	// The reading outlives the caller's request, not the pipeline.
	work, cancel := context.WithTimeout(context.WithoutCancel(ctx), u.cfg.Timeout)
	unlink := context.AfterFunc(u.stop, cancel)
	handoff, abandoned := make(chan outcome), make(chan struct{})
	go func() {
		defer u.wg.Done()
		defer func() { <-u.slots }()
		defer cancel()
		defer unlink()
		res, err := p.Letter(work, data, name, o)
		select {
		case handoff <- outcome{res, err}:
		case <-abandoned:
			u.finish(work, o, name, res, err)
		}
	}()

	wait, cancelWait := context.WithTimeout(ctx, u.cfg.Wait)
	defer cancelWait()
	select {
	case out := <-handoff:
		if out.err == nil {
			up.ID = out.res.Receipt.ID
		}
		up.Result = out.res
		return up, out.err
	case <-wait.Done():
		close(abandoned)
		up.Pending = true
		return up, nil
	}
}

// finish logs an upload read after its caller had its answer and records
// its failure for the mailroom.
func (u *uploads) finish(ctx context.Context, o Origin, name string, res Result, err error) {
	log := u.cfg.Log.With("key", o.Key, "name", name)
	if err == nil {
		log.Info("uploaded scan read in the background", "request_id", res.Receipt.ID, "duplicate", res.Receipt.Duplicate)
		return
	}
	log.Warn("uploaded scan not read in the background", "err", err)
	if u.cfg.Rejections == nil {
		return
	}
	r := casestore.MailRejection{MessageKey: o.Key, Sender: "dépôt au service courrier", Subject: "Scan déposé : " + name,
		Reason: u.reason(err), ReceivedAt: o.ReceivedAt}
	if o.OperatorID != "" {
		r.Sender = "dépôt par " + o.OperatorID
	}
	// The work's context may have ended: that is often why it failed.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := u.cfg.Rejections.RecordMailRejection(rctx, r); err != nil {
		log.Error("uploaded scan not read: cannot record the rejection", "err", err)
	}
}

// reason says in French why an upload failed, for the mailroom's list.
func (u *uploads) reason(err error) string {
	switch k := fault.KindOf(err); {
	case k == fault.Invalid || k == fault.TooLarge:
		msg := strings.TrimPrefix(strings.TrimPrefix(err.Error(), "mailroom: "), "scan: ")
		return "Scan refusé : " + msg
	case k == fault.TooMany:
		return "Scan non lu : trop de scans en cours de lecture ; déposez-le de nouveau."
	case u.stop.Err() != nil:
		return "Scan non lu : le service s'est arrêté pendant la lecture ; déposez-le de nouveau."
	}
	return "Scan non lu (incident technique) ; déposez-le de nouveau dans quelques minutes."
}

// Stop cancels the uploads still at work and waits for them, their
// failures recorded. Letter and Email are not affected. Safe to call twice.
func (p *Pipeline) Stop() {
	u := p.uploads
	u.mu.Lock()
	u.stopped = true
	u.mu.Unlock()
	u.cancel()
	u.wg.Wait()
}
