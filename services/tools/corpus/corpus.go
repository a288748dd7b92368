// Package corpus reads labelled request records — the team's training
// corpus and the evaluation sets (../shared/data/dev-requests.jsonl and the
// hidden set in the same format) — and turns each record into the request
// its channel adapter would publish, through the channels' own code: the
// telephony service for calls (the transcript as a text transcript), the
// mail pipeline for letters (the letter as the text a scan gave), the web
// form's fields for web requests. Training and evaluation thus read requests
// exactly as production does.
package corpus

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/citizen"
	"github.com/ampmetropole/guichet/services/channels/mail/mailroom"
	"github.com/ampmetropole/guichet/services/channels/mail/scan"
	"github.com/ampmetropole/guichet/services/channels/phone/telephony"
	"github.com/ampmetropole/guichet/services/intake"
	"github.com/ampmetropole/guichet/services/intake/attachment"
	"github.com/ampmetropole/guichet/services/language/extract"
	"github.com/ampmetropole/guichet/services/routing/classify"
)

// MaxLine bounds one record.
const MaxLine = 1 << 20

// Turn is a transcript turn of a phone record.
type Turn struct {
	Speaker string   `json:"speaker"` // agent | caller
	Start   *float64 `json:"start,omitempty"`
	End     *float64 `json:"end,omitempty"`
	Text    string   `json:"text"`
}

// Record is one labelled request.
type Record struct {
	ID           string  `json:"id"`
	Channel      string  `json:"channel"` // web | phone | mail
	Competence   string  `json:"competence"`
	Tricky       bool    `json:"tricky,omitempty"`
	Commune      *string `json:"commune,omitempty"`
	PostalCode   *string `json:"postal_code,omitempty"`
	Territory    *string `json:"territory,omitempty"`
	Name         *string `json:"name,omitempty"`
	Email        *string `json:"email,omitempty"`
	Phone        *string `json:"phone,omitempty"`
	Subject      string  `json:"subject,omitempty"`
	Body         string  `json:"body,omitempty"`
	CallerNumber *string `json:"caller_number,omitempty"`
	Transcript   []Turn  `json:"transcript,omitempty"`
	Letter       string  `json:"letter,omitempty"`
	OCRNoise     bool    `json:"ocr_noise,omitempty"`
	Cites        *string `json:"cites,omitempty"`
	FollowUpOf   *string `json:"follow_up_of,omitempty"`
	// Grouping labels (dev-incidents.jsonl): when the record arrived, the
	// incident it belongs to, and where a web form located it.
	ReportedAt *time.Time `json:"reported_at,omitempty"`
	Incident   *string    `json:"incident,omitempty"`
	Location   *Located   `json:"location,omitempty"`
}

// Located is where a web record's browser placed it.
type Located struct {
	Address string   `json:"address,omitempty"`
	Lat     *float64 `json:"lat,omitempty"`
	Lon     *float64 `json:"lon,omitempty"`
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// Read reads JSON Lines records; a bad line is an error naming it.
func Read(r io.Reader, name string) ([]Record, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), MaxLine)
	var out []Record
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var rec Record
		dec := json.NewDecoder(bytes.NewReader(line))
		if err := dec.Decode(&rec); err != nil {
			return nil, fmt.Errorf("corpus: %s:%d: %w", name, n, err)
		}
		if err := rec.check(); err != nil {
			return nil, fmt.Errorf("corpus: %s:%d: %w", name, n, err)
		}
		out = append(out, rec)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("corpus: %s: %w", name, err)
	}
	return out, nil
}

func (r Record) check() error {
	if r.ID == "" {
		return errors.New("id manquant")
	}
	switch r.Channel {
	case "web":
		if strings.TrimSpace(r.Subject+r.Body) == "" {
			return errors.New("web : subject et body vides")
		}
	case "phone":
		if len(r.Transcript) == 0 {
			return errors.New("phone : transcript vide")
		}
	case "mail":
		if strings.TrimSpace(r.Letter) == "" {
			return errors.New("mail : letter vide")
		}
	default:
		return fmt.Errorf("canal %q inconnu (web, phone, mail)", r.Channel)
	}
	return nil
}

// ReadPath reads a JSON Lines file, or every *.jsonl file of a folder in
// name order.
func ReadPath(path string) ([]Record, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	if st.IsDir() {
		recs, err := ReadFS(os.DirFS(path))
		if err != nil {
			return nil, fmt.Errorf("%w (%s)", err, path)
		}
		return recs, nil
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	defer fh.Close()
	return Read(fh, filepath.Base(path))
}

// ReadFS reads every *.jsonl file at the root of fsys, in name order.
func ReadFS(fsys fs.FS) ([]Record, error) {
	files, err := fs.Glob(fsys, "*.jsonl")
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	if len(files) == 0 {
		return nil, errors.New("corpus: aucun fichier .jsonl")
	}
	sort.Strings(files)
	var all []Record
	for _, f := range files {
		fh, err := fsys.Open(f)
		if err != nil {
			return nil, fmt.Errorf("corpus: %w", err)
		}
		recs, err := Read(fh, f)
		fh.Close()
		if err != nil {
			return nil, err
		}
		all = append(all, recs...)
	}
	return all, nil
}

// Default is the labelled corpus shipped in the binary
// (classify.CorpusFS).
func Default() ([]Record, error) { return ReadFS(classify.CorpusFS()) }

// capture is an intake that keeps the request instead of publishing it.
type capture struct{ req schemas.Request }

func (c *capture) Submit(_ context.Context, req schemas.Request) (intake.Receipt, error) {
	c.req = req
	return intake.Receipt{ID: req.ID}, nil
}

// evalKey keys the ids of evaluation requests, which no server holds.
var evalKey = []byte("guichet corpus evaluation")

func (c *capture) DerivedID(namespace, key string, at time.Time) string {
	return intake.KeyedID(evalKey, namespace, key, at)
}

// asScanned gives a letter's text as a scan's text layer would.
type asScanned struct{}

func (asScanned) Read(_ context.Context, data []byte) (scan.Text, error) {
	return scan.Text{Text: string(data), Method: scan.MethodTextLayer, Confidence: 1, Pages: 1, ContentType: "application/pdf"}, nil
}

// noFiles keeps no scans: there are none.
type noFiles struct{}

func (noFiles) Put(_ context.Context, f attachment.File) (schemas.Attachment, error) {
	return schemas.Attachment{Name: f.Name, ContentType: f.ContentType, Size: int64(len(f.Data)), SHA256: f.SHA256, ObjectKey: "sha256/" + f.SHA256}, nil
}

// noCompetence judges the competence an agent chose for an evaluation
// call: its record names none, what the router makes of it is what is
// evaluated.
func noCompetence(string) bool { return false }

// Builder turns records into requests through the channels' code.
type Builder struct {
	facts *extract.Extractor
}

// NewBuilder returns a Builder reading places with ex.
func NewBuilder(ex *extract.Extractor) *Builder { return &Builder{facts: ex} }

// Request builds the request record r's channel would publish; at dates it.
func (b *Builder) Request(ctx context.Context, r Record, at time.Time) (schemas.Request, error) {
	in := &capture{}
	switch r.Channel {
	case "web":
		req := schemas.Request{
			ID: intake.KeyedID(evalKey, "eval-web", r.ID, at), Channel: schemas.ChannelWeb, ReceivedAt: at,
			Source:  schemas.Source{Adapter: "web"},
			Subject: strings.TrimSpace(r.Subject), Body: strings.TrimSpace(r.Body), Language: "fr",
		}
		who := &schemas.Citizen{Name: strings.TrimSpace(str(r.Name))}
		if e, err := citizen.NormalizeEmail(str(r.Email)); err == nil {
			who.Email = e
		}
		if p, err := citizen.NormalizePhone(str(r.Phone)); err == nil {
			who.Phone = p
		}
		req.Citizen = who
		if l := r.Location; l != nil {
			req.Location = &schemas.Location{Address: l.Address, Lat: l.Lat, Lon: l.Lon}
		}
		return req, nil
	case "phone":
		var tr strings.Builder
		for _, t := range r.Transcript {
			label := "Appelant"
			if t.Speaker == "agent" {
				label = "Agent"
			}
			fmt.Fprintf(&tr, "%s : %s\n", label, strings.Join(strings.Fields(t.Text), " "))
		}
		call := telephony.Call{CallID: "eval-" + r.ID, CallerNumber: str(r.CallerNumber), AgentID: "eval", Direction: "inbound",
			StartedAt: at, EndedAt: at.Add(3 * time.Minute), Transcript: telephony.FileTranscript("text", []byte(tr.String()))}
		if _, err := telephony.New(in, b.facts, telephony.WithCompetences(noCompetence)).Accept(ctx, call, telephony.From{Adapter: "eval"}); err != nil {
			return schemas.Request{}, fmt.Errorf("corpus: %s: %w", r.ID, err)
		}
	case "mail":
		p := mailroom.New(asScanned{}, noFiles{}, in, b.facts)
		if _, err := p.Letter(ctx, []byte(r.Letter), r.ID+".pdf", mailroom.Origin{Adapter: "eval", Key: "eval:" + r.ID, ReceivedAt: at}); err != nil {
			return schemas.Request{}, fmt.Errorf("corpus: %s: %w", r.ID, err)
		}
	}
	return in.req, nil
}

// FromRequest writes a request back as a labelled record of the corpus, for
// training on people's decisions: the web or e-mail text, the call's turns,
// the letter's full text as read from the scan. Identity is left out.
func FromRequest(req schemas.Request, competence string) Record {
	r := Record{ID: "H-" + req.ID, Competence: competence}
	switch req.Channel {
	case schemas.ChannelPhone:
		r.Channel = "phone"
		for _, t := range req.Transcript {
			sp := "caller"
			if t.Speaker == "agent" {
				sp = "agent"
			}
			r.Transcript = append(r.Transcript, Turn{Speaker: sp, Text: t.Text})
		}
		if len(r.Transcript) == 0 {
			r.Transcript = []Turn{{Speaker: "caller", Text: req.Body}}
		}
	case schemas.ChannelMail:
		r.Channel = "mail"
		if len(req.Attachments) > 0 && req.Attachments[0].ExtractedText != "" {
			r.Letter = req.Attachments[0].ExtractedText
		} else {
			r.Letter = "Objet : " + req.Subject + "\n\n" + req.Body
		}
	default:
		r.Channel, r.Subject, r.Body = "web", req.Subject, req.Body
	}
	return r
}
