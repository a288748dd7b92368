package transcript

import (
	"fmt"
	"strings"
)

// parseVTT reads a WebVTT file: the "WEBVTT" header, then cues with an
// optional identifier, "hh:mm:ss.mmm" or "mm:ss.mmm" times and settings
// after them. The speaker comes from a <v Name> voice span (also
// <v.class Name>, closing tag optional), else from a label leading the text
// ("Agent : …", "[SPEAKER_00]: …" as WhisperX writes). NOTE, STYLE and
// REGION blocks are skipped, other tags dropped, entities decoded.
func parseVTT(s string) (parsed, error) {
	lines := splitLines(s)
	i := 0
	for i < len(lines) && strings.TrimSpace(lines[i]) == "" {
		i++
	}
	if i == len(lines) || !isVTTHeader(lines[i]) {
		found := ""
		if i < len(lines) {
			found = fmt.Sprintf(" (trouvé « %s »)", clip(clean(lines[i]), 40))
		}
		return parsed{}, fmt.Errorf("vtt: ligne %d: en-tête « WEBVTT » absent%s", min(i, len(lines)-1)+1, found)
	}
	// The header block runs to the first blank line (or the first cue).
	for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "" && !strings.Contains(lines[i], "-->"); i++ {
	}
	cues, err := parseCues("vtt", lines, i, true)
	if err != nil {
		return parsed{}, err
	}
	return cueTurns(cues, nil)
}

// isVTTHeader says whether line is a WebVTT signature: "WEBVTT", alone or
// followed by a space or a tab and a title.
func isVTTHeader(line string) bool {
	line = strings.TrimRight(line, " \t")
	if len(line) < 6 || !strings.EqualFold(line[:6], "WEBVTT") {
		return false
	}
	return len(line) == 6 || line[6] == ' ' || line[6] == '\t'
}
