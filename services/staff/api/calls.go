package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/ampmetropole/guichet/services/channels/phone/telephony"
	"github.com/ampmetropole/guichet/services/channels/phone/transcript"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/staff/auth"
)

// MaxCallBody bounds a call report: the largest transcript and the fields.
const MaxCallBody = transcript.MaxSize + 1<<20

// Calls accepts call reports.
type Calls interface {
	Accept(ctx context.Context, c telephony.Call, from telephony.From) (telephony.Accepted, error)
}

// callJSON is the body of POST /api/v1/calls; times stay strings so that a
// bad one is named.
type callJSON struct {
	CallID       string                    `json:"call_id"`
	CallerNumber string                    `json:"caller_number"`
	AgentID      string                    `json:"agent_id"`
	Direction    string                    `json:"direction"`
	StartedAt    string                    `json:"started_at"`
	EndedAt      string                    `json:"ended_at"`
	CaseRef      string                    `json:"case_ref"`
	Summary      string                    `json:"summary"`
	Competence   string                    `json:"competence"`
	Transcript   *telephony.TranscriptBody `json:"transcript"`
}

func (c callJSON) call() (telephony.Call, error) {
	out := telephony.Call{CallID: c.CallID, CallerNumber: c.CallerNumber, AgentID: c.AgentID, Direction: c.Direction,
		CaseRef: c.CaseRef, Summary: c.Summary, Competence: c.Competence, Transcript: c.Transcript}
	var problems []string
	for _, f := range []struct {
		name string
		in   string
		out  *time.Time
	}{{"started_at", c.StartedAt, &out.StartedAt}, {"ended_at", c.EndedAt, &out.EndedAt}} {
		if f.in == "" {
			continue // reported as missing by the channel
		}
		t, err := time.Parse(time.RFC3339, f.in)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s : date RFC 3339 attendue, reçu « %s »", f.name, truncate(f.in, 40)))
		}
		*f.out = t
	}
	if len(problems) > 0 {
		return out, fault.E(fault.Invalid, fmt.Errorf("appel invalide : %s", strings.Join(problems, " ; ")))
	}
	return out, nil
}

// submitCall takes a call report, as JSON or as a multipart form whose
// "transcript" part is the transcript file.
func (h *Handler) submitCall(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxCallBody)
	var c callJSON
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			h.writeError(w, r, badBody(err))
			return
		}
		defer r.MultipartForm.RemoveAll()
		f := r.PostFormValue
		c = callJSON{CallID: f("call_id"), CallerNumber: f("caller_number"), AgentID: f("agent_id"), Direction: f("direction"),
			StartedAt: f("started_at"), EndedAt: f("ended_at"), CaseRef: f("case_ref"), Summary: f("summary"), Competence: f("competence")}
		if file, _, err := r.FormFile("transcript"); err == nil {
			content, err := io.ReadAll(io.LimitReader(file, transcript.MaxSize+1))
			file.Close()
			if err != nil {
				h.writeError(w, r, badBody(err))
				return
			}
			c.Transcript = telephony.FileTranscript(f("transcript_format"), content)
		} else if !errors.Is(err, http.ErrMissingFile) {
			h.writeError(w, r, badBody(err))
			return
		}
	} else {
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			h.writeError(w, r, badBody(err))
			return
		}
	}
	call, err := c.call()
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	p, _ := auth.FromContext(r.Context())
	accepted, err := h.deps.Calls.Accept(r.Context(), call, telephony.From{Adapter: "telephony", System: p.Submitter()})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/requests/"+accepted.RequestID)
	writeJSON(w, http.StatusAccepted, accepted)
}

// badBody turns a body that cannot be read into a kinded error.
func badBody(err error) error {
	var mbe *http.MaxBytesError
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &mbe):
		return err
	case errors.As(err, &se):
		return fault.E(fault.Invalid, fmt.Errorf("JSON mal formé (octet %d) : %v", se.Offset, err))
	case errors.As(err, &te):
		return fault.E(fault.Invalid, fmt.Errorf("%s : type %s attendu", te.Field, te.Type))
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return fault.E(fault.Invalid, fmt.Errorf("champ inconnu %s", strings.TrimPrefix(err.Error(), "json: unknown field ")))
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fault.E(fault.Invalid, errors.New("corps vide ou JSON incomplet"))
	}
	return fault.E(fault.Invalid, fmt.Errorf("corps illisible : %v", err))
}
