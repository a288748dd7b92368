package compose

import (
	"github.com/ampmetropole/guichet/services/cases/personaldata"
	"github.com/ampmetropole/guichet/services/cases/retention"
)

// Officer is the data protection officer's work for the pages and the
// API: the export and register (services/cases/personaldata) and the
// erasure, retention and holds (services/cases/retention), whose purges
// the other stores are told of (Forgetters).
func (p *Parts) Officer(cfg Config, deps Deps) *personaldata.Officer {
	return personaldata.NewOfficer(personaldata.NewExporter(p.Store.DB(), p.Catalogue, p.Places),
		retention.New(p.Store.DB(), p.Catalogue, p.Log.With("service", "retention"), p.Forgetters(deps)...),
		personaldata.BuildRegister(p.Catalogue, RegisterConfig(cfg)))
}

// RegisterConfig names the outside recipients the configuration sends
// data to, for the register of processing: hosts and origins, never
// credentials; a recipient half configured is none.
func RegisterConfig(c Config) personaldata.RegisterConfig {
	rc := personaldata.RegisterConfig{SMS: c.SMS.Addr, MailServer: personaldata.Host(c.Mail.SMTPURL), Mailbox: personaldata.Host(c.IMAP.URL)}
	if c.Auth.OIDCIssuer != "" && c.Auth.OIDCClientID != "" {
		rc.StaffSSO = c.Auth.OIDCIssuer
	}
	if c.FranceConnect.Issuer != "" && c.FranceConnect.ClientID != "" {
		rc.FranceConnect = c.FranceConnect.Issuer
	}
	if c.Map.Tiles != "" {
		rc.MapTiles = personaldata.Origin(c.Map.Tiles)
	}
	if c.Map.GeocoderURL != "" {
		rc.Geocoder = personaldata.Origin(c.Map.GeocoderURL)
	}
	return rc
}
