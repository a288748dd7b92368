package transcript

import (
	"errors"
	"fmt"
	"strings"
)

// whisperDoc is the JSON of OpenAI Whisper (python transcribe(), the CLI's
// --output_format json, the API's json and verbose_json), of WhisperX and of
// whisper.cpp (-oj).
type whisperDoc struct {
	Text          *string           `json:"text"`
	Segments      *[]whisperSegment `json:"segments"`
	Transcription *[]cppSegment     `json:"transcription"`
}

// whisperSegment is a segment of Whisper or WhisperX (speaker, and words
// with a speaker each).
type whisperSegment struct {
	Start   num    `json:"start"`
	End     num    `json:"end"`
	Text    string `json:"text"`
	Speaker label  `json:"speaker"`
	Words   []struct {
		Speaker label `json:"speaker"`
	} `json:"words"`
}

// cppSegment is a segment of whisper.cpp: offsets in milliseconds, and
// "hh:mm:ss,mmm" timestamps. With --diarize (stereo) it has a speaker "0",
// "1" or "?".
type cppSegment struct {
	Timestamps struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"timestamps"`
	Offsets struct {
		From num `json:"from"`
		To   num `json:"to"`
	} `json:"offsets"`
	Text    string `json:"text"`
	Speaker label  `json:"speaker"`
}

// parseWhisper reads Whisper JSON: segments become turns, without speaker
// (Whisper) or with one (WhisperX: the segment's speaker, else the one most
// of its words have). whisper.cpp's transcription[] is read the same way.
// A bare array of segments and a document with only "text" are accepted.
func parseWhisper(s string) (parsed, error) {
	var doc whisperDoc
	if strings.HasPrefix(strings.TrimSpace(s), "[") {
		var segs []whisperSegment
		if err := decodeJSON("whisper", s, &segs); err != nil {
			return parsed{}, err
		}
		doc.Segments = &segs
	} else if err := decodeJSON("whisper", s, &doc); err != nil {
		return parsed{}, err
	}
	var b builder
	switch {
	case doc.Segments != nil && len(*doc.Segments) > 0:
		for i, seg := range *doc.Segments {
			where := fmt.Sprintf("le segment %d", i+1)
			t, err := segmentTimes("whisper", where, seg.Start, seg.End, 1)
			if err != nil {
				return parsed{}, err
			}
			t.Label, t.Text = string(seg.Speaker), seg.Text
			if t.Label == "" {
				t.Label = wordsSpeaker(seg)
			}
			if err := b.add(t); err != nil {
				return parsed{}, err
			}
		}
	case doc.Transcription != nil && len(*doc.Transcription) > 0:
		for i, seg := range *doc.Transcription {
			where := fmt.Sprintf("le segment %d", i+1)
			var t turn
			var err error
			if seg.Offsets.From.set || seg.Offsets.From.bad != "" {
				t, err = segmentTimes("whisper", where, seg.Offsets.From, seg.Offsets.To, 1000)
			} else {
				t, err = clockTimes("whisper", where, seg.Timestamps.From, seg.Timestamps.To)
			}
			if err != nil {
				return parsed{}, err
			}
			t.Text = seg.Text
			if l := strings.TrimSpace(string(seg.Speaker)); l != "?" {
				t.Label = l
			}
			if err := b.add(t); err != nil {
				return parsed{}, err
			}
		}
	case doc.Text != nil:
		if err := b.add(turn{Turn: Turn{Text: *doc.Text}, where: "le texte"}); err != nil {
			return parsed{}, err
		}
	case doc.Segments == nil && doc.Transcription == nil:
		return parsed{}, errors.New("whisper: ni « segments », ni « transcription », ni « text » : ce JSON n'est pas une sortie Whisper")
	}
	return parsed{turns: b.turns}, nil
}

// segmentTimes reads the times of a segment, perSecond of their units in a
// second.
func segmentTimes(format, where string, start, end num, perSecond float64) (turn, error) {
	t := turn{where: where}
	from, ok, err := start.time(perSecond)
	if err != nil {
		return t, fmt.Errorf("%s: %s: %w", format, where, err)
	}
	to, okEnd, err := end.time(perSecond)
	if err != nil {
		return t, fmt.Errorf("%s: %s: %w", format, where, err)
	}
	if !ok {
		return t, nil // untimed
	}
	if !okEnd {
		to = from
	}
	if to < from {
		a, b := secondsPair(to, from)
		return t, fmt.Errorf("%s: %s se termine (%s) avant de commencer (%s)", format, where, a, b)
	}
	t.Start, t.End, t.Timed = from, to, true
	return t, nil
}

// clockTimes reads times written "hh:mm:ss,mmm".
func clockTimes(format, where, start, end string) (turn, error) {
	t := turn{where: where}
	if strings.TrimSpace(start) == "" {
		return t, nil
	}
	from, ok := parseClock(start)
	if !ok {
		return t, fmt.Errorf("%s: %s: horodatage invalide « %s »", format, where, clip(clean(start), 40))
	}
	to := from
	if strings.TrimSpace(end) != "" {
		if to, ok = parseClock(end); !ok {
			return t, fmt.Errorf("%s: %s: horodatage invalide « %s »", format, where, clip(clean(end), 40))
		}
	}
	if to < from {
		a, b := secondsPair(to, from)
		return t, fmt.Errorf("%s: %s se termine (%s) avant de commencer (%s)", format, where, a, b)
	}
	t.Start, t.End, t.Timed = from, to, true
	return t, nil
}

// wordsSpeaker is the speaker most words of a WhisperX segment have.
func wordsSpeaker(seg whisperSegment) string {
	count := map[label]int{}
	best := label("")
	for _, w := range seg.Words {
		if w.Speaker == "" {
			continue
		}
		count[w.Speaker]++
		if count[w.Speaker] > count[best] {
			best = w.Speaker
		}
	}
	return string(best)
}
