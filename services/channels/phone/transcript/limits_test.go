package transcript_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/services/channels/phone/transcript"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// fill repeats unit after head up to nearly MaxSize, then adds tail.
func fill(head, unit, tail string) string {
	n := (transcript.MaxSize - len(head) - len(tail) - 16) / len(unit)
	return head + strings.Repeat(unit, n) + tail
}

// TestWorstCaseInputs parses inputs of nearly MaxSize built to be slow
// (one endless turn, a word drowned in punctuation, thousands of speakers,
// too many turns): the work must stay linear.
func TestWorstCaseInputs(t *testing.T) {
	var many strings.Builder
	for i := range 19000 {
		fmt.Fprintf(&many, "[Personne %d]: oui\n", i)
	}
	var segments strings.Builder
	segments.WriteString(`{"segments": [`)
	for i := range 60000 {
		fmt.Fprintf(&segments, `{"start": %d, "end": %d, "text": "a"},`, i, i+1)
	}
	segments.WriteString(`{"start": 60000, "end": 60001, "text": "b"}]}`)
	var words strings.Builder
	words.WriteString(`{"results": [{"alternatives": [{"words": [`)
	for i := range 120000 {
		fmt.Fprintf(&words, `{"word": "a", "speakerTag": %d},`, i%2+1)
	}
	words.WriteString(`{"word": "b"}]}]}]}`)
	tests := []struct {
		name, format, content string
	}{
		{"text: one endless turn", "text", fill("Appelant : a\n", "b\n", "")},
		{"text: long lines", "text", fill("Appelant : ", "bla ", "")},
		{"text: thousands of speakers", "text", many.String()},
		{"text: too many turns", "text", fill("", "Agent: a\n", "")},
		{"vtt: one endless cue", "vtt", fill("WEBVTT\n\n00:00.000 --> 00:01.000\n<v Agent>", "b\n", "")},
		{"vtt: endless tags", "vtt", fill("WEBVTT\n\n00:00.000 --> 00:01.000\n", "<v a><c>", "")},
		{"vtt: many notes", "vtt", fill("WEBVTT\n\n", "NOTE x\n\n", "00:00.000 --> 00:01.000\na")},
		{"srt: one endless cue", "srt", fill("1\n00:00:00,000 --> 00:00:01,000\n", "Agent: b\n", "")},
		{"srt: too many cues", "srt", fill("", "00:00:00,000 --> 00:00:01,000\na\n\n", "")},
		{"whisper: too many segments", "whisper", segments.String()},
		{"transcribe: punctuation", "transcribe", fill(`{"results": {"items": [{"type": "pronunciation", "start_time": "0", "end_time": "1", "alternatives": [{"content": "a"}]}`,
			`,{"type":"punctuation","alternatives":[{"content":"."}]}`, `]}}`)},
		{"google: speakers alternating", "google", words.String()},
		{"detect: deep JSON", "", fill("", "[", "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.content) > transcript.MaxSize {
				t.Fatalf("input of %d bytes", len(tt.content))
			}
			start := time.Now()
			tr, err := transcript.Parse(tt.format, []byte(tt.content))
			d := time.Since(start)
			t.Logf("%v, %d turns, err %v", d, len(tr.Turns), err)
			if d > 10*time.Second {
				t.Errorf("took %v", d)
			}
			if err != nil {
				if k := fault.KindOf(err); k != fault.Invalid && k != fault.TooLarge {
					t.Errorf("error of kind %v", k)
				}
				return
			}
			check(t, tr)
		})
	}
}
