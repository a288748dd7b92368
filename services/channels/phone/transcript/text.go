package transcript

import (
	"fmt"
	"regexp"
	"strings"
)

// textTime matches a timestamp leading a line of a text transcript:
// "[00:01:02]", "(01:02)", "[00:00.000 --> 00:04.200]" (Whisper's console
// output), "00:01:02 -", "00:01:02 :", "00:01:02 ".
var textTime = regexp.MustCompile(`^(?:[\[(]\s*(\d{1,2}(?::\d{2}){1,2}(?:[.,]\d{1,3})?)\s*(?:(?:-->|-|–|à)\s*(\d{1,2}(?::\d{2}){1,2}(?:[.,]\d{1,3})?)\s*)?[\])]\s*[-–—|:]?|(\d{1,2}(?::\d{2}){1,2}(?:[.,]\d{1,3})?)(?:\s*(?:-->|–|-)\s*(\d{1,2}(?::\d{2}){1,2}(?:[.,]\d{1,3})?))?(?:\s*[-–—|:](?:\s|$)|\s|$))\s*`)

// parseText reads a plain-text transcript: one turn per line led by a
// speaker label ("Agent : …", "Appelant: …", "[SPEAKER_00]: …", "spk_0:
// …"), optionally after a timestamp ("[00:01:02]", "00:01:02 -"). A line
// without a label continues the turn before; a line with a timestamp but no
// label starts a new turn of the same speaker. Blank lines are ignored.
// A turn with a timestamp is timed, and ends where the next timed turn
// starts (or at its own end time, "[00:00.000 --> 00:04.200]").
func parseText(s string) (parsed, error) {
	type textTurn struct {
		turn
		lines  []string // its text, line by line
		timed  bool
		end    float64
		hasEnd bool
	}
	var turns []textTurn
	for i, line := range splitLines(s) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		var start, end float64
		timed, hasEnd := false, false
		if m := textTime.FindStringSubmatchIndex(line); m != nil {
			startText, endText := group(line, m, 1), group(line, m, 2)
			if startText == "" {
				startText, endText = group(line, m, 3), group(line, m, 4)
			}
			var ok bool
			if start, ok = parseClock(startText); !ok {
				return parsed{}, fmt.Errorf("text: ligne %d: horodatage invalide « %s »", i+1, startText)
			}
			if endText != "" {
				if end, ok = parseClock(endText); !ok {
					return parsed{}, fmt.Errorf("text: ligne %d: horodatage invalide « %s »", i+1, endText)
				}
				if end < start {
					a, b := secondsPair(end, start)
					return parsed{}, fmt.Errorf("text: ligne %d: le tour se termine (%s) avant de commencer (%s)", i+1, a, b)
				}
				hasEnd = true
			}
			timed = true
			line = line[m[1]:]
		}
		lab, rest, labelled := splitLabel(line)
		if !labelled {
			rest = line
		}
		switch {
		case labelled || timed || len(turns) == 0:
			if len(turns) >= maxTurns {
				return parsed{}, tooManyTurns()
			}
			if !labelled && len(turns) > 0 {
				lab = turns[len(turns)-1].Label
			}
			t := textTurn{turn: turn{Turn: Turn{Label: lab, Start: start}, where: fmt.Sprintf("la ligne %d", i+1)},
				lines: []string{rest}, timed: timed, end: end, hasEnd: hasEnd}
			turns = append(turns, t)
		default:
			last := &turns[len(turns)-1]
			last.lines = append(last.lines, rest)
		}
	}
	var b builder
	for i, t := range turns {
		t.Text = strings.Join(t.lines, "\n")
		if t.timed {
			t.Timed, t.End = true, t.Start
			if t.hasEnd {
				t.End = t.end
			} else {
				for _, n := range turns[i+1:] {
					if n.timed {
						t.End = max(t.Start, n.Start)
						break
					}
				}
			}
		}
		if err := b.add(t.turn); err != nil {
			return parsed{}, err
		}
	}
	return parsed{turns: b.turns}, nil
}

// group is the text of submatch n, "" when it did not match.
func group(s string, m []int, n int) string {
	if 2*n+1 >= len(m) || m[2*n] < 0 {
		return ""
	}
	return s[m[2*n]:m[2*n+1]]
}
