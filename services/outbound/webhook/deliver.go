package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// maxAnswer is how much of a receiver's answer is read (and discarded):
// enough to reuse the connection, not enough to be flooded.
const maxAnswer = 4 << 10

// sender POSTs signed bodies.
type sender struct {
	client *http.Client
	rules  Rules
}

func newSender(timeout time.Duration, rules Rules) *sender {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 4
	return &sender{rules: rules, client: &http.Client{Transport: tr, Timeout: timeout,
		// A redirect is an answer like another: not 2xx, so a failure.
		// Following it would send the event where nobody subscribed.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// send makes one attempt and returns the receiver's status code (0 when
// none) and what went wrong (nil on 2xx).
func (s *sender) send(ctx context.Context, c claimed, body []byte, now time.Time) (int, error) {
	if !s.rules.allowed(c.URL) {
		return 0, errors.New("adresse refusée par la configuration (http:// hors boucle locale ou non autorisé)")
	}
	wh, err := standardwebhooks.NewWebhook(c.Secret)
	if err != nil {
		return 0, fmt.Errorf("secret illisible : %w", err)
	}
	sig, err := wh.Sign(c.WebhookID, now, body)
	if err != nil {
		return 0, fmt.Errorf("signature : %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set(standardwebhooks.HeaderWebhookID, c.WebhookID)
	req.Header.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(standardwebhooks.HeaderWebhookSignature, sig)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Guichet")
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("réponse HTTP %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// work sends due deliveries until ctx ends.
func (s *Service) work(ctx context.Context) {
	lease := s.cfg.Timeout + 30*time.Second
	poll := time.NewTimer(s.cfg.Poll)
	defer poll.Stop()
	for ctx.Err() == nil {
		c, ok, err := s.store.claim(ctx, lease)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("claim", "err", err)
		}
		if ok {
			// Others may be due too: wake a colleague.
			s.Kick()
			s.attempt(context.WithoutCancel(ctx), c)
			continue
		}
		poll.Reset(s.cfg.Poll)
		select {
		case <-ctx.Done():
		case <-s.kick:
		case <-poll.C:
		}
	}
}

// attempt sends a claimed delivery and records how it went: delivered,
// due again after its back-off, or dead past the schedule.
func (s *Service) attempt(ctx context.Context, c claimed) {
	log := s.log.With("webhook_id", c.WebhookID, "subscription", c.SubscriptionID)
	var code int
	// The stored JSON comes back in PostgreSQL's layout: it is sent as
	// Guichet writes it.
	var b Body
	err := json.Unmarshal(c.Payload, &b)
	var body []byte
	if err == nil {
		body, err = json.Marshal(&b)
	}
	if err != nil {
		err = fmt.Errorf("contenu illisible : %w", err)
	} else {
		code, err = s.sender.send(ctx, c, body, time.Now())
	}
	o := outcome{StatusCode: code, Status: StatusDelivered}
	if err != nil {
		o.Error = err.Error()
		n := c.Attempts + 1 - c.RetryFrom
		if n > len(s.cfg.Backoff) {
			o.Status = StatusDead
		} else {
			o.Status, o.Wait = StatusPending, s.cfg.Backoff[n-1]
		}
	}
	s.metrics.attempts.WithLabelValues(o.Status).Inc()
	switch o.Status {
	case StatusDead:
		log.Warn("webhook dead: its schedule is exhausted", "attempts", c.Attempts+1, "status_code", code, "err", err)
	case StatusPending:
		log.Info("webhook not delivered, retried", "attempts", c.Attempts+1, "status_code", code, "err", err, "retry_in", o.Wait)
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.store.record(rctx, c, o); err != nil {
		// The lease runs out and the delivery is attempted again.
		log.Error("record attempt", "err", err)
	}
}
