package transcript

import (
	"fmt"
	"html"
	"strings"
)

// cue is one subtitle cue of a WebVTT or SRT file.
type cue struct {
	n          int // 1-based, in file order
	line       int // line of its timing line
	start, end float64
	text       []string
}

// parseCues reads the cues of a subtitle file from lines[first:]. A cue is
// an optional identifier line, a timing line "start --> end [settings]" and
// text lines up to a blank line. It tolerates a missing blank line before a
// cue and a blank line inside a cue's text. With vtt, NOTE, STYLE and
// REGION blocks are skipped.
func parseCues(name string, lines []string, first int, vtt bool) ([]cue, error) {
	var cues []cue
	inText := false
	next := func(i int) string {
		if i+1 < len(lines) {
			return lines[i+1]
		}
		return ""
	}
	for i := first; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		switch {
		case line == "":
			inText = false
		case strings.Contains(line, "-->"):
			if len(cues) >= maxTurns {
				return nil, tooManyTurns()
			}
			c := cue{n: len(cues) + 1, line: i + 1}
			var err error
			if c.start, c.end, err = parseTiming(line); err != nil {
				return nil, fmt.Errorf("%s: cue %d (ligne %d): %w", name, c.n, c.line, err)
			}
			cues = append(cues, c)
			inText = true
		case (!inText || isNumber(line)) && strings.Contains(next(i), "-->"):
			// The cue's identifier (in SRT its number).
		case vtt && !inText && isVTTBlock(line):
			for i+1 < len(lines) && strings.TrimSpace(lines[i+1]) != "" {
				i++
			}
		case len(cues) > 0:
			c := &cues[len(cues)-1]
			c.text = append(c.text, lines[i])
			inText = true
		default:
			return nil, fmt.Errorf("%s: ligne %d: ligne de temps « début --> fin » attendue, trouvé « %s »", name, i+1, clip(clean(line), 40))
		}
	}
	return cues, nil
}

// parseTiming reads "start --> end [settings]".
func parseTiming(line string) (start, end float64, err error) {
	i := strings.Index(line, "-->")
	left := strings.TrimSpace(line[:i])
	right := strings.Fields(line[i+3:])
	if left == "" {
		return 0, 0, fmt.Errorf("horodatage de début absent dans « %s »", clip(clean(line), 60))
	}
	if len(right) == 0 {
		return 0, 0, fmt.Errorf("horodatage de fin absent dans « %s »", clip(clean(line), 60))
	}
	var ok bool
	if start, ok = parseClock(left); !ok {
		return 0, 0, fmt.Errorf("horodatage invalide « %s »", clip(clean(left), 40))
	}
	if end, ok = parseClock(right[0]); !ok {
		return 0, 0, fmt.Errorf("horodatage invalide « %s »", clip(clean(right[0]), 40))
	}
	if end < start {
		a, b := secondsPair(end, start)
		return 0, 0, fmt.Errorf("la cue se termine (%s) avant de commencer (%s)", a, b)
	}
	return start, end, nil
}

// isVTTBlock says whether a line opens a WebVTT block that is not a cue.
func isVTTBlock(line string) bool {
	for _, kw := range []string{"NOTE", "STYLE", "REGION"} {
		if line == kw || strings.HasPrefix(line, kw+" ") || strings.HasPrefix(line, kw+"\t") {
			return true
		}
	}
	return false
}

func isNumber(s string) bool {
	_, ok := digits(s, 1, 9)
	return ok
}

// segment is a stretch of a cue's text said by one speaker.
type segment struct {
	label string
	text  string
}

// cueSegments splits a cue's text into speakers: WebVTT voice spans
// ("<v Agent>", "<v.loud Appelant>", closing tag optional), else labels
// leading a line ("Agent : …", "[SPEAKER_00]: …"). Other tags are dropped
// and HTML entities decoded.
func cueSegments(lines []string) []segment {
	var segs []segment
	cur := segment{}
	voiced := false
	var b strings.Builder
	flush := func() {
		text := html.UnescapeString(b.String())
		b.Reset()
		if strings.TrimSpace(text) == "" {
			return
		}
		if voiced {
			segs = append(segs, segment{label: cur.label, text: text})
			return
		}
		segs = append(segs, labelledLines(text)...)
	}
	payload := strings.Join(lines, "\n")
	for i := 0; i < len(payload); {
		c := payload[i]
		if c != '<' {
			b.WriteByte(c)
			i++
			continue
		}
		j := strings.IndexByte(payload[i:], '>')
		if j < 0 {
			b.WriteString(payload[i:]) // a lone "<" is text
			break
		}
		tag := payload[i+1 : i+j]
		i += j + 1
		switch {
		case tag == "v" || strings.HasPrefix(tag, "v.") || strings.HasPrefix(tag, "v ") || strings.HasPrefix(tag, "v\t"):
			flush()
			cur, voiced = segment{label: voiceName(tag)}, true
		case tag == "/v":
			flush()
			cur, voiced = segment{}, false
		}
	}
	flush()
	return segs
}

// voiceName is the annotation of a voice tag: "v.loud Jean Dupont" → "Jean
// Dupont".
func voiceName(tag string) string {
	i := strings.IndexAny(tag, " \t")
	if i < 0 {
		return ""
	}
	return html.UnescapeString(strings.TrimSpace(tag[i+1:]))
}

// labelledLines splits text whose lines may start with a speaker label
// into segments; lines without a label go with the one before.
func labelledLines(text string) []segment {
	var segs []segment
	var lines []string
	for _, line := range strings.Split(text, "\n") {
		lab, rest, ok := splitLabel(line)
		if ok || len(segs) == 0 {
			if len(segs) > 0 {
				segs[len(segs)-1].text = strings.Join(lines, "\n")
			}
			segs, lines = append(segs, segment{label: lab}), lines[:0]
		}
		if ok {
			line = rest
		}
		lines = append(lines, line)
	}
	if len(segs) > 0 {
		segs[len(segs)-1].text = strings.Join(lines, "\n")
	}
	return segs
}

// cueTurns makes the turns of parsed cues.
func cueTurns(cues []cue, strip func(string) string) (parsed, error) {
	var b builder
	for _, c := range cues {
		lines := c.text
		if strip != nil {
			lines = make([]string, len(c.text))
			for i, l := range c.text {
				lines[i] = strip(l)
			}
		}
		for _, s := range cueSegments(lines) {
			t := turn{Turn: Turn{Label: s.label, Start: c.start, End: c.end, Timed: true, Text: s.text}, where: fmt.Sprintf("la cue %d", c.n)}
			if err := b.add(t); err != nil {
				return parsed{}, err
			}
		}
	}
	return parsed{turns: b.turns}, nil
}
