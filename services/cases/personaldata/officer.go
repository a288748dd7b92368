package personaldata

import (
	"context"
	"time"

	"github.com/ampmetropole/guichet/services/cases/retention"
)

// Officer is the data protection officer's work, as the DPO's page and the
// API do it: the export, the legal holds and the register here, erasure,
// retention and holds by services/cases/retention (which audits them).
type Officer struct {
	*Exporter
	retain   *retention.Service
	register Register
}

// NewOfficer pairs the export with the retention service; register is the
// register of the running configuration.
func NewOfficer(x *Exporter, r *retention.Service, register Register) *Officer {
	return &Officer{Exporter: x, retain: r, register: register}
}

// Erase erases the person's data (retention.Service.Erase), the subject
// normalized as the export does: fault.Invalid for a wrong subject,
// fault.Conflict, with the reasons, while a case is open or held.
func (o *Officer) Erase(ctx context.Context, who Subject, reason, actor string) (retention.Report, error) {
	who, err := who.Normalize()
	if err != nil {
		return retention.Report{}, err
	}
	return o.retain.Erase(ctx, retention.Subject(who), reason, actor)
}

// Apply applies the retention schedule as of now, or says what it would
// erase (dryRun).
func (o *Officer) Apply(ctx context.Context, now time.Time, dryRun bool, actor string) (retention.Report, error) {
	return o.retain.Apply(ctx, now, dryRun, actor)
}

// Hold puts a case under a legal hold.
func (o *Officer) Hold(ctx context.Context, ref, reason, actor string) error {
	return o.retain.Hold(ctx, ref, reason, actor)
}

// Release takes a case's legal hold off.
func (o *Officer) Release(ctx context.Context, ref, reason, actor string) error {
	return o.retain.Release(ctx, ref, reason, actor)
}

// Register is the register of processing.
func (o *Officer) Register() Register { return o.register }
