package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/channels/mail/mailroom"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/staff/auth"
)

// MaxScanBody bounds an uploaded scan and its fields.
const MaxScanBody = 21 << 20

// Mail turns uploaded scans into requests, waiting for the reading only as
// long as ctx allows (mailroom.Pipeline.Upload).
type Mail interface {
	Upload(ctx context.Context, data []byte, name string, o mailroom.Origin) (mailroom.Upload, error)
}

// scanAnswerWithin bounds the time from submitScan's start to its answer,
// the body's upload included: NewServer's WriteTimeout (30 s) counts from
// the end of the request's headers.
const scanAnswerWithin = 25 * time.Second

// scanAccepted is the answer to an uploaded scan read at once.
type scanAccepted struct {
	RequestID     string  `json:"request_id"`
	Status        string  `json:"status"` // "read"
	TrackingCode  string  `json:"tracking_code"`
	Duplicate     bool    `json:"duplicate"`
	Method        string  `json:"text_method"`
	OCRConfidence float64 `json:"ocr_confidence"`
	Subject       string  `json:"subject"`
	Text          string  `json:"text"`
}

// scanPending is the answer to an uploaded scan still being read.
type scanPending struct {
	RequestID string `json:"request_id"` // the request it will make
	Status    string `json:"status"`     // "pending"
	Message   string `json:"message"`
}

// submitScan takes a scanned letter uploaded by the mailroom (multipart,
// file "scan", optional "operator_id") through the same pipeline as scans
// arriving by e-mail. A scan read within the pipeline's wait is answered
// with its request; a longer one with 202 "pending" and the id its request
// will have, while the reading goes on: a refusal then shows in the
// mailroom's letters (GET /api/v1/mail/letters).
func (h *Handler) submitScan(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	r.Body = http.MaxBytesReader(w, r.Body, MaxScanBody)
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		h.writeError(w, r, badBody(err))
		return
	}
	defer r.MultipartForm.RemoveAll()
	file, header, err := r.FormFile("scan")
	if errors.Is(err, http.ErrMissingFile) {
		writeJSONError(w, http.StatusBadRequest, "scan : fichier manquant (champ multipart « scan »)", nil)
		return
	}
	if err != nil {
		h.writeError(w, r, badBody(err))
		return
	}
	data, err := io.ReadAll(file)
	file.Close()
	if err != nil {
		h.writeError(w, r, badBody(err))
		return
	}
	wait, cancel := context.WithDeadline(r.Context(), start.Add(scanAnswerWithin))
	defer cancel()
	up, err := h.deps.Mail.Upload(wait, data, header.Filename, mailroom.Origin{
		Adapter: "mail-upload", OperatorID: strings.TrimSpace(r.PostFormValue("operator_id")), ReceivedAt: time.Now(),
	})
	if err != nil {
		switch k := fault.KindOf(err); k {
		case fault.Invalid, fault.TooLarge:
			err = fault.E(k, errors.New("scan : "+err.Error()))
		case fault.TooMany:
			err = fault.E(k, errors.New("scan : trop de scans en cours de lecture ; réessayez dans une minute"))
		}
		h.writeError(w, r, err)
		return
	}
	p, _ := auth.FromContext(r.Context())
	h.audit(r, p, "mail.upload", up.ID, map[string]any{"name": header.Filename, "pending": up.Pending, "bytes": len(data)})
	w.Header().Set("Location", "/api/v1/requests/"+up.ID)
	if up.Pending {
		writeJSON(w, http.StatusAccepted, scanPending{RequestID: up.ID, Status: "pending",
			Message: "scan en cours de lecture : la demande sera publiée une fois le scan lu, ou son refus montré dans la liste du courrier"})
		return
	}
	res := up.Result
	writeJSON(w, http.StatusAccepted, scanAccepted{RequestID: res.Receipt.ID, Status: "read", TrackingCode: res.Receipt.TrackingCode,
		Duplicate: res.Receipt.Duplicate, Method: res.Text.Method, OCRConfidence: res.Text.Confidence,
		Subject: res.Layout.Subject, Text: res.Text.Text})
}

// Letters lists what came by post or e-mail.
type Letters interface {
	Letters(ctx context.Context, limit int) ([]casestore.Letter, error)
}

// listLetters serves the mailroom's follow-up as JSON, newest first.
func (h *Handler) listLetters(w http.ResponseWriter, r *http.Request) {
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeJSONError(w, http.StatusBadRequest, "limit : nombre entre 1 et 1000", nil)
			return
		}
		limit = n
	}
	letters, err := h.deps.Letters.Letters(r.Context(), limit)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if letters == nil {
		letters = []casestore.Letter{}
	}
	p, _ := auth.FromContext(r.Context())
	h.audit(r, p, "mail.list", "courrier", map[string]any{"letters": len(letters)})
	writeJSON(w, http.StatusOK, map[string]any{"letters": letters})
}

// Corrector resubmits a letter with its text corrected.
type Corrector interface {
	Correct(ctx context.Context, requestID, text, operator string) (mailroom.Result, error)
}

// correction is the body of POST /api/v1/mail/letters/{id}/correction.
type correction struct {
	Text       string `json:"text"`
	OperatorID string `json:"operator_id"`
}

// correctLetter sends a letter again with its OCR text corrected by the
// mailroom; the answer names the new request, which supersedes the first.
func (h *Handler) correctLetter(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !uuidPattern.MatchString(id) {
		writeJSONError(w, http.StatusBadRequest, "identifiant de demande invalide (UUID attendu) : "+truncate(id, 64), nil)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4*mailroom.MaxCorrectedText+4096)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	var c correction
	if err := dec.Decode(&c); err != nil {
		h.writeError(w, r, badBody(err))
		return
	}
	res, err := h.deps.Correct.Correct(r.Context(), id, c.Text, c.OperatorID)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	p, _ := auth.FromContext(r.Context())
	h.audit(r, p, "mail.correct", id, map[string]any{"by": res.Receipt.ID})
	w.Header().Set("Location", "/api/v1/requests/"+res.Receipt.ID)
	writeJSON(w, http.StatusAccepted, map[string]any{"request_id": res.Receipt.ID, "tracking_code": res.Receipt.TrackingCode,
		"duplicate": res.Receipt.Duplicate, "supersedes": id, "subject": res.Layout.Subject})
}
