package transcript

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

// decodeText turns a transcript file into UTF-8 text: it drops a UTF-8 byte
// order mark, decodes UTF-16 (with a byte order mark, or recognisable
// without), and reads bytes that are not UTF-8 as Windows-1252, the usual
// encoding of subtitles and text files written on French Windows machines.
// Binary content is refused.
func decodeText(b []byte) (string, error) {
	var enc *unicode.Endianness
	le, be := unicode.LittleEndian, unicode.BigEndian
	switch {
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		b = b[3:]
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}):
		enc, b = &le, b[2:]
	case bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		enc, b = &be, b[2:]
	case len(b) >= 4 && b[0] != 0 && b[1] == 0 && b[2] != 0 && b[3] == 0:
		enc = &le
	case len(b) >= 4 && b[0] == 0 && b[1] != 0 && b[2] == 0 && b[3] != 0:
		enc = &be
	}
	if enc != nil {
		out, err := unicode.UTF16(*enc, unicode.IgnoreBOM).NewDecoder().Bytes(b)
		if err != nil {
			return "", fmt.Errorf("texte UTF-16 illisible : %w", err)
		}
		b = out
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return "", fmt.Errorf("contenu binaire (octet nul à la position %d) : ce n'est pas une transcription", i)
	}
	if !utf8.Valid(b) {
		out, err := charmap.Windows1252.NewDecoder().Bytes(b)
		if err != nil {
			return "", fmt.Errorf("texte ni UTF-8 ni Windows-1252 : %w", err)
		}
		b = out
	}
	return strings.TrimPrefix(string(b), "\uFEFF"), nil
}

// splitLines splits text into lines, whatever the line ends (LF, CRLF, CR).
func splitLines(s string) []string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.Split(s, "\n")
}

// decodeJSON decodes one JSON document of format name ("" when not
// known) into v. The document
// is already bounded by MaxSize; encoding/json bounds its nesting.
func decodeJSON(name, s string, v any) error {
	dec := json.NewDecoder(strings.NewReader(s))
	if err := dec.Decode(v); err != nil {
		return jsonError(name, s, err)
	}
	var extra json.RawMessage
	switch err := dec.Decode(&extra); {
	case err == io.EOF:
		return nil
	case err == nil:
		return fmt.Errorf("%sJSON invalide : données après la fin du document (octet %d)", prefix(name), dec.InputOffset())
	default:
		return jsonError(name, s, err)
	}
}

// shapeError is JSON of the wrong shape, told in French, keeping the
// decoder's error in the chain.
type shapeError struct {
	msg string
	err error
}

func (e *shapeError) Error() string { return e.msg }
func (e *shapeError) Unwrap() error { return e.err }

// jsonError says what is wrong with a JSON document and where.
func jsonError(name, s string, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		line, col := position(s, se.Offset)
		return fmt.Errorf("%sJSON invalide (ligne %d, colonne %d) : %w", prefix(name), line, col, err)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return fmt.Errorf("%sJSON invalide : document tronqué : %w", prefix(name), err)
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "(racine)"
		}
		return &shapeError{
			msg: fmt.Sprintf("%sJSON de forme inattendue pour ce format : « %s » est %s au lieu d'%s", prefix(name), field, jsonKind(te.Value), goKind(te.Type)),
			err: err,
		}
	}
	return fmt.Errorf("%sJSON invalide : %w", prefix(name), err)
}

// prefix is "name: ", or nothing without a name.
func prefix(name string) string {
	if name == "" {
		return ""
	}
	return name + ": "
}

// position turns a byte offset into a line and a column (1-based).
func position(s string, off int64) (line, col int) {
	if off > int64(len(s)) {
		off = int64(len(s))
	}
	if off < 0 {
		off = 0
	}
	// The decoder has read the offending byte: it is the one before off.
	before := s[:max(off-1, 0)]
	line = strings.Count(before, "\n") + 1
	col = len(before) - strings.LastIndexByte(before, '\n')
	return line, col
}

func jsonKind(v string) string {
	switch {
	case v == "string":
		return "une chaîne"
	case strings.HasPrefix(v, "number"):
		return "un nombre"
	case v == "bool":
		return "un booléen"
	case v == "array":
		return "un tableau"
	case v == "object":
		return "un objet"
	}
	return v
}

func goKind(t reflect.Type) string {
	if t == nil {
		return "une autre valeur"
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		return "un tableau"
	case reflect.Struct, reflect.Map:
		return "un objet"
	case reflect.String:
		return "une chaîne"
	case reflect.Bool:
		return "un booléen"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "un nombre"
	}
	return t.String()
}

// num is a number that JSON may give as a number, as a string ("4.87",
// "1.300s") or as a protobuf Duration object ({"seconds": "1", "nanos":
// 300000000}). Decoding never fails: a value that is not a number is kept
// in bad, for the parser to report with its location.
type num struct {
	v   float64
	set bool
	bad string
}

// UnmarshalJSON implements json.Unmarshaler.
func (n *num) UnmarshalJSON(b []byte) error {
	*n = num{}
	raw := strings.TrimSpace(string(b))
	switch {
	case raw == "null" || raw == "":
		return nil
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal([]byte(raw), &s); err != nil {
			n.bad = clip(raw, 40)
			return nil
		}
		s = strings.TrimSpace(s)
		if s == "" {
			return nil
		}
		n.parse(strings.TrimSuffix(s, "s"), s)
	case raw[0] == '{':
		var d struct {
			Seconds json.RawMessage `json:"seconds"`
			Nanos   json.RawMessage `json:"nanos"`
		}
		if err := json.Unmarshal([]byte(raw), &d); err != nil {
			n.bad = clip(raw, 40)
			return nil
		}
		sec, ok1 := rawNumber(d.Seconds)
		ns, ok2 := rawNumber(d.Nanos)
		if !ok1 || !ok2 {
			n.bad = clip(raw, 40)
			return nil
		}
		if sec == math.Trunc(sec) && ns == math.Trunc(ns) && math.Abs(sec) < 1e9 && math.Abs(ns) < 1e9 {
			n.v = float64(int64(sec)*1e9+int64(ns)) / 1e9 // exact: 1 s 300000000 ns is 1.3
		} else {
			n.v = sec + ns/1e9
		}
		n.set = true
		if math.IsNaN(n.v) || math.IsInf(n.v, 0) {
			*n = num{bad: clip(raw, 40)}
		}
	default:
		n.parse(raw, raw)
	}
	return nil
}

func (n *num) parse(s, raw string) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		n.bad = clip(raw, 40)
		return
	}
	n.v, n.set = v, true
}

// rawNumber reads a JSON number or a string holding one; absent is 0.
func rawNumber(b json.RawMessage) (float64, bool) {
	s := strings.TrimSpace(string(b))
	if s == "" || s == "null" {
		return 0, true
	}
	if s[0] == '"' {
		if err := json.Unmarshal([]byte(s), &s); err != nil {
			return 0, false
		}
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return v, err == nil
}

// time reads n as a time: perSecond is the number of its units in a second
// (1, or 1000 for milliseconds). ok is false when the value is absent.
func (n num) time(perSecond float64) (t float64, ok bool, err error) {
	if n.bad != "" {
		return 0, false, fmt.Errorf("horodatage invalide « %s »", n.bad)
	}
	if !n.set {
		return 0, false, nil
	}
	t = n.v / perSecond // dividing keeps 4600 ms at exactly 4.6 s
	if !validTime(t) {
		return 0, false, fmt.Errorf("horodatage hors limites (%s)", strconv.FormatFloat(n.v, 'g', 6, 64))
	}
	return t, true, nil
}

// label is a speaker label that JSON may give as a string or as a number
// (Google's speakerTag). Anything else is no label.
type label string

// UnmarshalJSON implements json.Unmarshaler.
func (l *label) UnmarshalJSON(b []byte) error {
	*l = ""
	raw := bytes.TrimSpace(b)
	if len(raw) == 0 {
		return nil
	}
	switch c := raw[0]; {
	case c == '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			*l = label(s)
		}
	case c == '-' || (c >= '0' && c <= '9'):
		*l = label(clip(string(raw), maxLabel))
	}
	return nil
}

// parseClock reads a subtitle time: "hh:mm:ss.mmm" (1 to 6 digits of
// hours) or "mm:ss.mmm" (1 to 4 digits of minutes), with "." or "," before
// the fraction (or a stray ":" in "hh:mm:ss:mmm"), 1 to 9 decimals or none.
func parseClock(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	frac := ""
	if i := strings.LastIndexAny(s, ".,"); i >= 0 {
		frac, s = s[i+1:], s[:i]
	}
	parts := strings.Split(s, ":")
	if frac == "" && len(parts) == 4 {
		frac, parts = parts[3], parts[:3]
		if len(frac) > 3 {
			return 0, false
		}
	}
	if len(parts) < 2 || len(parts) > 3 || len(frac) > 9 || (frac == "" && strings.ContainsAny(s, ".,")) {
		return 0, false
	}
	var h, m, sec int64
	var ok bool
	if len(parts) == 3 {
		if h, ok = digits(parts[0], 1, 6); !ok {
			return 0, false
		}
		if m, ok = digits(parts[1], 2, 2); !ok || m > 59 {
			return 0, false
		}
	} else if m, ok = digits(parts[0], 1, 4); !ok {
		return 0, false
	}
	if sec, ok = digits(parts[len(parts)-1], 2, 2); !ok || sec > 59 {
		return 0, false
	}
	var ns int64
	if frac != "" {
		f, ok := digits(frac, 1, 9)
		if !ok {
			return 0, false
		}
		for i := len(frac); i < 9; i++ {
			f *= 10
		}
		ns = f
	}
	total := ((h*60+m)*60+sec)*1e9 + ns
	t := float64(total) / 1e9
	return t, validTime(t)
}

// digits reads a run of min to max ASCII digits.
func digits(s string, min, max int) (int64, bool) {
	if len(s) < min || len(s) > max {
		return 0, false
	}
	var v int64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		v = v*10 + int64(s[i]-'0')
	}
	return v, true
}
