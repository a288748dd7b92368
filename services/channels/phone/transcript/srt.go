package transcript

import (
	"regexp"
)

// assOverride matches the {\an8}-style override codes some SRT writers
// leave in the text.
var assOverride = regexp.MustCompile(`\{\\[^}]*\}`)

// parseSRT reads a SubRip file: numbered cues, "hh:mm:ss,mmm" times (a
// stray "." or ":" before the milliseconds tolerated), the speaker from a
// label leading the text ("Agent: …", "Appelant : …", "[SPEAKER_00]: …",
// "SPEAKER_00: …"). CRLF line ends, a byte order mark and a missing blank
// line at the end or between cues are tolerated; tags are dropped.
func parseSRT(s string) (parsed, error) {
	cues, err := parseCues("srt", splitLines(s), 0, false)
	if err != nil {
		return parsed{}, err
	}
	return cueTurns(cues, func(line string) string { return assOverride.ReplaceAllString(line, "") })
}
