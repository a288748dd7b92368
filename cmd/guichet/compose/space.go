package compose

import (
	"context"

	"github.com/ampmetropole/guichet/services/channels/web/webform"
	"github.com/ampmetropole/guichet/services/platform/sms"
)

// SMSSender sends a text message.
type SMSSender interface {
	Send(ctx context.Context, m sms.Message) error
}

// citizenSpace gives the web channel what "Mes demandes" needs: the store,
// the public URL its links start with, the e-mail sender (SMTP, else the
// development outbox; without either, no link by e-mail), the SMS sender
// when there is one, and FranceConnect when configured.
func (a *App) citizenSpace(cfg Config, deps Deps, wc *webform.Config, wd *webform.Deps) {
	if cfg.PublicURL == "" {
		a.Log.Warn("mes demandes: off, its links need GUICHET_PUBLIC_URL")
		return
	}
	wd.Space = a.Store
	wc.PublicURL = cfg.PublicURL
	if m, err := mailSender(cfg, deps); err == nil {
		wd.Mail = m
	} else {
		a.Log.Warn("mes demandes: no link by e-mail", "err", err)
	}
	if a.sms != nil {
		wd.SMS = a.sms
	}
	if fc := cfg.FranceConnect; fc.Issuer != "" {
		wc.Space.FranceConnect = &webform.FranceConnectConfig{IssuerURL: fc.Issuer, ClientID: fc.ClientID, ClientSecret: fc.ClientSecret}
	}
}
