package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/ampmetropole/guichet/services/cases/caseref"
	"github.com/ampmetropole/guichet/services/cases/personaldata"
	"github.com/ampmetropole/guichet/services/cases/retention"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/platform/frtime"
	"github.com/ampmetropole/guichet/services/staff/auth"
)

// Officer is the data protection officer's work (personaldata.Officer):
// what is held about a person, its erasure, the retention schedule, legal
// holds and the register of processing.
type Officer interface {
	Export(ctx context.Context, who personaldata.Subject) (personaldata.Export, error)
	Erase(ctx context.Context, who personaldata.Subject, reason, actor string) (retention.Report, error)
	Apply(ctx context.Context, now time.Time, dryRun bool, actor string) (retention.Report, error)
	Hold(ctx context.Context, ref, reason, actor string) error
	Release(ctx context.Context, ref, reason, actor string) error
	Holds(ctx context.Context, limit int) ([]personaldata.Hold, error)
	Register() personaldata.Register
}

// rgpdBody bounds what the DPO's routes read: a person, a reason, a date.
const rgpdBody = 8 << 10

// registerRGPD registers the DPO's routes (permission personal_data: the
// dpo and admin roles).
func (h *Handler) registerRGPD() {
	if h.deps.Officer == nil {
		return
	}
	h.guarded("GET /api/v1/rgpd/export", auth.PermPersonalData, h.rgpdExport)
	h.guarded("POST /api/v1/rgpd/erase", auth.PermPersonalData, h.rgpdErase)
	h.guarded("POST /api/v1/rgpd/retention", auth.PermPersonalData, h.rgpdRetention)
	h.guarded("GET /api/v1/rgpd/holds", auth.PermPersonalData, h.rgpdHolds)
	h.guarded("POST /api/v1/rgpd/holds", auth.PermPersonalData, h.rgpdHold)
	h.guarded("POST /api/v1/rgpd/holds/{ref}/release", auth.PermPersonalData, h.rgpdRelease)
	h.guarded("GET /api/v1/rgpd/registre", auth.PermPersonalData, h.rgpdRegister)
}

// rgpdExport answers GET /api/v1/rgpd/export?email=…|phone=…|name=…
// [&format=texte]: everything held about the person, as JSON (the export's
// stable fields) or as the French document in plain text.
func (h *Handler) rgpdExport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k := range q {
		switch k {
		case "email", "phone", "name", "format":
		default:
			writeJSONError(w, http.StatusBadRequest, "paramètre inconnu : "+truncate(k, 40)+" (email, phone, name, format)", nil)
			return
		}
	}
	format := q.Get("format")
	if format != "" && format != "json" && format != "texte" {
		writeJSONError(w, http.StatusBadRequest, "format : json ou texte", nil)
		return
	}
	who := personaldata.Subject{Email: q.Get("email"), Phone: q.Get("phone"), Name: q.Get("name")}
	ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
	defer cancel()
	e, err := h.deps.Officer.Export(ctx, who)
	if err != nil {
		h.writeRGPDError(w, r, err)
		return
	}
	p, _ := auth.FromContext(r.Context())
	h.audit(r, p, personaldata.ActionExport, e.Subject.Value(), map[string]any{"by": e.Subject.Kind(), "format": format,
		"requests": len(e.Requests), "cases": len(e.Cases), "page": "api"})
	if format == "texte" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(e.Text()))
		return
	}
	writeJSON(w, http.StatusOK, e)
}

// subjectBody is a person named in a body, and why they are erased.
type subjectBody struct {
	Email  string `json:"email"`
	Phone  string `json:"phone"`
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// reportJSON is what an erasure or a run of the schedule did.
type reportJSON struct {
	DryRun   bool          `json:"dry_run"`
	Cases    int           `json:"cases"`
	Requests int           `json:"requests"`
	Files    int           `json:"files"`
	Refs     []string      `json:"case_refs"`
	Refused  []refusalJSON `json:"refused"`
	// Warning says what went wrong after the erasure (another store not
	// told yet: it will be at the next run of the schedule).
	Warning string `json:"warning,omitempty"`
}

type refusalJSON struct {
	Ref    string `json:"case_ref"`
	Reason string `json:"reason"`
}

func reportOf(rep retention.Report) reportJSON {
	out := reportJSON{DryRun: rep.DryRun, Cases: rep.Cases, Requests: rep.Requests, Files: rep.Files,
		Refs: append([]string{}, rep.Purged.Cases...), Refused: []refusalJSON{}}
	for _, f := range rep.Refused {
		out.Refused = append(out.Refused, refusalJSON{f.Ref, f.Reason})
	}
	return out
}

// rgpdErase answers POST /api/v1/rgpd/erase {"email"|"phone"|"name",
// "reason"}: 200 with what was erased; 409 with the reasons while one of
// the person's cases is open or held.
func (h *Handler) rgpdErase(w http.ResponseWriter, r *http.Request) {
	var b subjectBody
	if err := decodeStrict(w, r, rgpdBody, &b); err != nil {
		h.writeError(w, r, err)
		return
	}
	if strings.TrimSpace(b.Reason) == "" {
		writeJSONError(w, http.StatusBadRequest, "reason : le motif de l'effacement est obligatoire (il est écrit au journal d'audit)", nil)
		return
	}
	p, _ := auth.FromContext(r.Context())
	who := personaldata.Subject{Email: b.Email, Phone: b.Phone, Name: b.Name}
	rep, err := h.deps.Officer.Erase(r.Context(), who, b.Reason, p.Name)
	if fault.KindOf(err) == fault.Conflict {
		n, _ := who.Normalize()
		h.audit(r, p, personaldata.ActionEraseRefused, n.Value(), map[string]any{"by": n.Kind(), "refusal": err.Error(), "page": "api"})
		out := reportOf(rep)
		writeJSON(w, http.StatusConflict, struct {
			Error   string        `json:"error"`
			Refused []refusalJSON `json:"refused"`
		}{refusalText(err), out.Refused})
		return
	}
	if err != nil && rep.Cases+rep.Requests+rep.Files == 0 {
		h.writeRGPDError(w, r, err)
		return
	}
	out := reportOf(rep)
	if err != nil {
		h.deps.Log.Warn("erasure: another store not told yet", "err", err)
		out.Warning = "effacé de la base ; les autres stockages (flux, pièces jointes) le seront à la prochaine application du calendrier"
	}
	writeJSON(w, http.StatusOK, out)
}

// refusalText is a refusal's French reason without the package's prefix.
func refusalText(err error) string {
	return strings.TrimPrefix(err.Error(), "retention: ")
}

// rgpdRetention answers POST /api/v1/rgpd/retention {"now"?, "dry_run"?}:
// what the schedule erases as of now (a date AAAA-MM-JJ or RFC 3339, by
// default today); a dry run unless "dry_run" is false.
func (h *Handler) rgpdRetention(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Now    string `json:"now"`
		DryRun *bool  `json:"dry_run"`
	}
	// No body at all: a dry run as of today.
	if r.ContentLength != 0 {
		if err := decodeStrict(w, r, rgpdBody, &b); err != nil {
			h.writeError(w, r, err)
			return
		}
	}
	now := time.Now()
	if b.Now != "" {
		t, ok := parseDay(b.Now)
		if !ok {
			writeJSONError(w, http.StatusBadRequest, "now : date AAAA-MM-JJ ou RFC 3339 attendue, par exemple 2028-01-01", nil)
			return
		}
		now = t
	}
	dry := b.DryRun == nil || *b.DryRun
	p, _ := auth.FromContext(r.Context())
	rep, err := h.deps.Officer.Apply(r.Context(), now, dry, p.Name)
	if dry {
		h.audit(r, p, personaldata.ActionRetention, "", map[string]any{"now": now.UTC().Format(time.RFC3339), "cases": rep.Cases,
			"requests": rep.Requests, "files": rep.Files, "page": "api"})
	}
	if err != nil && rep.Cases+rep.Requests+rep.Files == 0 {
		h.writeRGPDError(w, r, err)
		return
	}
	out := reportOf(rep)
	if err != nil {
		h.deps.Log.Warn("retention: another store not told yet", "err", err)
		out.Warning = "effacé de la base ; les autres stockages (flux, pièces jointes) le seront à la prochaine application du calendrier"
	}
	writeJSON(w, http.StatusOK, out)
}

// parseDay reads a date as AAAA-MM-JJ (midnight, Paris time) or RFC 3339.
func parseDay(s string) (time.Time, bool) {
	if t, err := time.ParseInLocation(time.DateOnly, s, frtime.Paris()); err == nil {
		return t, true
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, true
	}
	return time.Time{}, false
}

// rgpdHolds answers GET /api/v1/rgpd/holds: the cases under a legal hold.
func (h *Handler) rgpdHolds(w http.ResponseWriter, r *http.Request) {
	holds, err := h.deps.Officer.Holds(r.Context(), 1000)
	if err != nil {
		h.writeRGPDError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"holds": holds})
}

// rgpdHold answers POST /api/v1/rgpd/holds {"case_ref", "reason"}: the
// case is kept, whatever the schedule, until released.
func (h *Handler) rgpdHold(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Ref    string `json:"case_ref"`
		Reason string `json:"reason"`
	}
	if err := decodeStrict(w, r, rgpdBody, &b); err != nil {
		h.writeError(w, r, err)
		return
	}
	ref, ok := caseref.Normalize(b.Ref)
	if !ok {
		writeJSONError(w, http.StatusBadRequest, "case_ref : référence de dossier invalide ("+caseref.Shape+" attendu)", nil)
		return
	}
	p, _ := auth.FromContext(r.Context())
	if err := h.deps.Officer.Hold(r.Context(), ref.String(), b.Reason, p.Name); err != nil {
		h.writeRGPDError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"case_ref": ref.String(), "status": "held"})
}

// rgpdRelease answers POST /api/v1/rgpd/holds/{ref}/release {"reason"}.
func (h *Handler) rgpdRelease(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Reason string `json:"reason"`
	}
	if err := decodeStrict(w, r, rgpdBody, &b); err != nil {
		h.writeError(w, r, err)
		return
	}
	ref, err := caseref.Parse(r.PathValue("ref"))
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, "référence de dossier invalide ("+caseref.Shape+" attendu)", nil)
		return
	}
	p, _ := auth.FromContext(r.Context())
	if err := h.deps.Officer.Release(r.Context(), ref.String(), b.Reason, p.Name); err != nil {
		h.writeRGPDError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"case_ref": ref.String(), "status": "released"})
}

// rgpdRegister answers GET /api/v1/rgpd/registre [?format=markdown]: the
// register of processing (RGPD article 30).
func (h *Handler) rgpdRegister(w http.ResponseWriter, r *http.Request) {
	reg := h.deps.Officer.Register()
	switch r.URL.Query().Get("format") {
	case "", "json":
		writeJSON(w, http.StatusOK, reg)
	case "markdown":
		w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(reg.Markdown()))
	default:
		writeJSONError(w, http.StatusBadRequest, "format : json ou markdown", nil)
	}
}

// writeRGPDError answers err as writeError does, the retention package's
// prefix taken off the French reasons.
func (h *Handler) writeRGPDError(w http.ResponseWriter, r *http.Request, err error) {
	switch fault.KindOf(err) {
	case fault.Invalid, fault.Conflict:
		status := http.StatusBadRequest
		if fault.KindOf(err) == fault.Conflict {
			status = http.StatusConflict
		}
		msg := strings.TrimPrefix(strings.TrimPrefix(err.Error(), "retention: "), "personaldata: ")
		writeJSONError(w, status, msg, nil)
	case fault.NotFound:
		writeJSONError(w, http.StatusNotFound, "dossier introuvable", nil)
	default:
		h.writeError(w, r, err)
	}
}
