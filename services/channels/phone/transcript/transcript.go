// Package transcript owns the reading of call transcripts: it parses the
// speech-to-text output the call-centre telephony posts (WebVTT, SRT, Whisper,
// WhisperX and whisper.cpp JSON, Amazon Transcribe and Call Analytics JSON,
// Google Speech-to-Text JSON, labelled plain text) into speaker turns, decides
// which speaker is the agent and which the caller, and says how sure that is.
package transcript

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ampmetropole/guichet/services/platform/fault"
)

// Formats accepted, in the order Detect tries them.
const (
	FormatVTT        = "vtt"
	FormatSRT        = "srt"
	FormatWhisper    = "whisper"    // OpenAI Whisper JSON (segments); also WhisperX (segments[].speaker) and whisper.cpp (-oj: transcription[])
	FormatTranscribe = "transcribe" // Amazon Transcribe JSON (results.items / speaker_labels / channel_labels / audio_segments), and Call Analytics (Transcript[] with ParticipantRole)
	FormatGoogle     = "google"     // Google Speech-to-Text v1 JSON (results[].alternatives[].words[] with speakerTag, "1.300s" durations); v2 names (startOffset/endOffset/speakerLabel) too
	FormatText       = "text"       // plain text, one turn per labelled line
)

// MaxSize bounds a transcript (bytes).
const MaxSize = 5 << 20

// Bounds on the work one transcript may ask for.
const (
	maxTurns = 20000  // speaker turns in a transcript
	maxWords = 200000 // words of a word-level JSON transcript (Transcribe, Google)
	maxLabel = 64     // runes kept of a speaker label
	maxTime  = 1e6    // seconds (about 11 days): later times are taken as garbage
)

// Role is the part a speaker plays in the call.
type Role string

// Roles of a speaker.
const (
	RoleAgent   Role = "agent"   // the call-centre agent, speaking for the Métropole
	RoleCaller  Role = "caller"  // the citizen who called
	RoleUnknown Role = "unknown" // not known
)

// Turn is one speaker turn. Times are seconds from the start of the call;
// Timed is false when the format has none (plain text).
type Turn struct {
	Role  Role    `json:"role"`
	Label string  `json:"label,omitempty"` // the speaker as the file names it: "Agent", "spk_0", "SPEAKER_00", "2", "ch_1"…; "" if none
	Start float64 `json:"start"`
	End   float64 `json:"end"`
	Timed bool    `json:"timed"`
	Text  string  `json:"text"` // trimmed, spaces collapsed, never empty
}

// Attribution says how speakers were mapped to agent and caller, and how
// sure that is.
type Attribution struct {
	Method     string  `json:"method"`                // "labels", "participant_role", "greeting", "channel", "first_speaker", "none"
	Confidence float64 `json:"confidence"`            // 0..1
	AgentLabel string  `json:"agent_label,omitempty"` // the label judged to be the agent, if any
	Detail     string  `json:"detail"`                // one French sentence for humans
}

// Attribution methods.
const (
	MethodLabels          = "labels"           // the labels name the roles (Agent, Appelant…)
	MethodParticipantRole = "participant_role" // the file gives each turn's role (Call Analytics)
	MethodGreeting        = "greeting"         // the speaker who greets on behalf of the service is the agent
	MethodChannel         = "channel"          // stereo convention: the first channel is the agent's
	MethodFirstSpeaker    = "first_speaker"    // the first speaker of an inbound call is the agent
	MethodNone            = "none"             // nothing to go by: one speaker, or none named
)

// Transcript is a parsed call transcript.
type Transcript struct {
	Format      string      `json:"format"`
	Turns       []Turn      `json:"turns"`
	Attribution Attribution `json:"attribution"`
}

// formatNames maps the names a caller may give a format to the format.
var formatNames = map[string]string{
	"vtt": FormatVTT, "webvtt": FormatVTT,
	"srt": FormatSRT, "subrip": FormatSRT,
	"whisper": FormatWhisper, "whisperx": FormatWhisper, "whisper.cpp": FormatWhisper, "whispercpp": FormatWhisper, "whisper-cpp": FormatWhisper,
	"transcribe": FormatTranscribe, "aws": FormatTranscribe, "amazon": FormatTranscribe, "aws-transcribe": FormatTranscribe, "amazon-transcribe": FormatTranscribe,
	"google": FormatGoogle, "google-stt": FormatGoogle, "gcp": FormatGoogle,
	"text": FormatText, "txt": FormatText, "texte": FormatText, "plain": FormatText,
}

// parsed is what a format parser hands back: turns, and the attribution
// when the file itself says who is who (Call Analytics).
type parsed struct {
	turns []turn
	attr  *Attribution
}

// turn is a Turn with where it comes from, for error messages ("la cue 5").
type turn struct {
	Turn
	where string
}

// Parse reads content in format (one of the constants, or "" to detect it).
// Errors are of kind fault.Invalid, or fault.TooLarge past MaxSize or the
// bounds on turns and words.
func Parse(format string, content []byte) (Transcript, error) {
	if len(content) > MaxSize {
		return Transcript{}, tooLarge(len(content))
	}
	f, err := canonicalFormat(format)
	if err != nil {
		return Transcript{}, err
	}
	text, err := decodeText(content)
	if err != nil {
		return Transcript{}, wrap(err)
	}
	if strings.TrimSpace(text) == "" {
		return Transcript{}, wrap(errors.New("aucune parole dans la transcription (contenu vide)"))
	}
	if f == "" {
		if f, err = detect(text); err != nil {
			return Transcript{}, wrap(err)
		}
	}
	var p parsed
	switch f {
	case FormatVTT:
		p, err = parseVTT(text)
	case FormatSRT:
		p, err = parseSRT(text)
	case FormatWhisper:
		p, err = parseWhisper(text)
	case FormatTranscribe:
		p, err = parseTranscribe(text)
	case FormatGoogle:
		p, err = parseGoogle(text)
	case FormatText:
		p, err = parseText(text)
	}
	if err != nil {
		return Transcript{}, wrap(err)
	}
	if len(p.turns) == 0 {
		return Transcript{}, wrap(errors.New("aucune parole dans la transcription"))
	}
	if err := checkOrder(p.turns); err != nil {
		return Transcript{}, wrap(err)
	}
	t := Transcript{Format: f, Turns: make([]Turn, len(p.turns))}
	for i, pt := range p.turns {
		t.Turns[i] = pt.Turn
		if t.Turns[i].Role == "" {
			t.Turns[i].Role = RoleUnknown
		}
	}
	if p.attr != nil {
		t.Attribution = *p.attr
	} else {
		t.Attribution = attribute(t.Turns)
	}
	return t, nil
}

// CallerText joins the caller's turns (and the unknown ones when no turn is
// known to be the agent's) with "\n": what the router classifies.
func (t Transcript) CallerText() string {
	hasAgent := false
	for _, tu := range t.Turns {
		if tu.Role == RoleAgent {
			hasAgent = true
			break
		}
	}
	var parts []string
	for _, tu := range t.Turns {
		if tu.Role == RoleCaller || (!hasAgent && tu.Role != RoleAgent) {
			parts = append(parts, tu.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// canonicalFormat maps a format name to its constant; "" (or "auto") asks
// for detection.
func canonicalFormat(format string) (string, error) {
	name := strings.ToLower(strings.TrimSpace(format))
	if name == "" || name == "auto" {
		return "", nil
	}
	if f, ok := formatNames[name]; ok {
		return f, nil
	}
	return "", fault.E(fault.Invalid, fmt.Errorf("transcript: format inconnu « %s » (attendus : %s, %s, %s, %s, %s, %s)",
		clip(clean(format), 40), FormatVTT, FormatSRT, FormatWhisper, FormatTranscribe, FormatGoogle, FormatText))
}

// wrap gives a parser's error the package prefix and a kind: Invalid unless
// the error already has one.
func wrap(err error) error {
	kind := fault.KindOf(err)
	if kind == fault.Other {
		kind = fault.Invalid
	}
	return fault.E(kind, fmt.Errorf("transcript: %w", err))
}

func tooLarge(n int) error {
	return fault.E(fault.TooLarge, fmt.Errorf("transcript: transcription trop volumineuse (%d octets, %d au plus)", n, MaxSize))
}

// tooManyTurns and tooManyWords are the errors past the bounds.
func tooManyTurns() error {
	return fault.E(fault.TooLarge, fmt.Errorf("plus de %d tours de parole : transcription trop longue", maxTurns))
}

func tooManyWords() error {
	return fault.E(fault.TooLarge, fmt.Errorf("plus de %d mots : transcription trop longue", maxWords))
}

// builder collects turns, dropping those without text and bounding their
// number.
type builder struct {
	turns []turn
}

// add cleans the text and label of t and keeps it if it has text.
func (b *builder) add(t turn) error {
	t.Text = clean(t.Text)
	if t.Text == "" {
		return nil
	}
	t.Label = cleanLabel(t.Label)
	switch {
	case !t.Timed:
		t.Start, t.End = 0, 0
	case t.End < t.Start:
		t.End = t.Start
	}
	if len(b.turns) >= maxTurns {
		return tooManyTurns()
	}
	b.turns = append(b.turns, t)
	return nil
}

// checkOrder refuses a timed turn that starts before the previous timed one
// (equal starts and overlapping ends are allowed).
func checkOrder(turns []turn) error {
	prev := -1
	for i, t := range turns {
		if !t.Timed {
			continue
		}
		if prev >= 0 && t.Start < turns[prev].Start {
			a, b := secondsPair(t.Start, turns[prev].Start)
			return fmt.Errorf("horodatages dans le désordre : %s commence (%s) avant %s (%s)", t.where, a, turns[prev].where, b)
		}
		prev = i
	}
	return nil
}

// seconds writes a time the French way: "12,4 s".
func seconds(x float64) string {
	return strings.Replace(strconv.FormatFloat(x, 'f', 1, 64), ".", ",", 1) + " s"
}

// secondsPair writes two times precisely enough to tell them apart.
func secondsPair(a, b float64) (string, string) {
	sa, sb := seconds(a), seconds(b)
	if sa == sb {
		f := func(x float64) string {
			return strings.Replace(strconv.FormatFloat(x, 'f', 3, 64), ".", ",", 1) + " s"
		}
		return f(a), f(b)
	}
	return sa, sb
}

// validTime says whether x can be a time in a call.
func validTime(x float64) bool {
	return !math.IsNaN(x) && x >= 0 && x <= maxTime
}

// clean makes text fit for a turn: valid UTF-8, no control or format
// characters, every run of white space one space, trimmed.
func clean(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case unicode.IsSpace(r) || unicode.IsControl(r):
			space = true
			continue
		case unicode.Is(unicode.Cf, r):
			continue // zero-width spaces, BOMs, direction marks, soft hyphens
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// cleanLabel cleans a speaker label and bounds its length.
func cleanLabel(s string) string {
	return clip(clean(s), maxLabel)
}

// clip keeps the first n runes of s, marking a cut with "…".
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}
