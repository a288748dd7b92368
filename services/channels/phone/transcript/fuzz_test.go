package transcript_test

import (
	"strings"
	"testing"

	"github.com/ampmetropole/guichet/services/channels/phone/transcript"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// maxSeed bounds the samples used as fuzz seeds: the fuzzer spends its
// time minimising the mutants of large inputs instead of fuzzing.
const maxSeed = 4 << 10

// fuzzParse checks that parsing any input in format never panics, fails
// only with an Invalid or TooLarge error, and otherwise keeps the promises
// of a Transcript. It is seeded with the small samples of that format and
// with seeds, one per shape of the format.
func fuzzParse(f *testing.F, format string, seeds ...string) {
	for _, name := range samples(f) {
		if b := read(f, name); sampleFormat(name) == format && len(b) <= maxSeed {
			f.Add(b)
		}
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := transcript.Parse(format, data)
		if err != nil {
			if k := fault.KindOf(err); k != fault.Invalid && k != fault.TooLarge {
				t.Fatalf("error of kind %v: %v", k, err)
			}
			if !strings.HasPrefix(err.Error(), "transcript: ") {
				t.Fatalf("error without prefix: %v", err)
			}
			return
		}
		if tr.Format != format {
			t.Fatalf("format %q", tr.Format)
		}
		check(t, tr)
	})
}

func FuzzVTT(f *testing.F) {
	fuzzParse(f, transcript.FormatVTT,
		"WEBVTT\n\n00:00.000 --> 00:01.000\n<v Agent>Bonjour</v>\n",
		"WEBVTT\n\n00:00:01.000 --> 00:00:00.500\nx\n",
		"WEBVTT\n\nNOTE x\n\n1\n00:00.000 --> 00:01.000 align:start\n<v.a B>a<v C>b</v>&amp;<c>d\n")
}

func FuzzSRT(f *testing.F) {
	fuzzParse(f, transcript.FormatSRT,
		"1\n00:00:00,000 --> 00:00:01,000\nAgent: bonjour\n\n2\n00:00:01,000 --> 00:00:02,000\n[SPEAKER_00]: oui",
		"1\r\n00:00:00.000 --> 00:00:01:000\r\n{\\an8}<i>- Appelant : x</i>\r\n")
}

func FuzzWhisper(f *testing.F) {
	fuzzParse(f, transcript.FormatWhisper,
		`{"segments": [{"start": 0, "end": 1, "text": "a", "speaker": "SPEAKER_00"}]}`,
		`{"transcription": [{"offsets": {"from": 0, "to": 10}, "text": "a", "speaker": "?"}]}`,
		`[{"start": "1", "end": "0.5", "text": "a"}]`,
		`{"text": "bonjour"}`)
}

func FuzzTranscribe(f *testing.F) {
	fuzzParse(f, transcript.FormatTranscribe,
		`{"results": {"items": [{"type": "pronunciation", "start_time": "0", "end_time": "1", "speaker_label": "spk_0", "alternatives": [{"content": "a"}]}, {"type": "punctuation", "alternatives": [{"content": "."}]}]}}`,
		`{"results": {"channel_labels": {"channels": [{"channel_label": "ch_1", "items": [{"type": "pronunciation", "start_time": "2", "alternatives": [{"content": "b"}]}]}]}}}`,
		`{"results": {"audio_segments": [{"transcript": "a", "start_time": "0", "end_time": "1"}]}}`,
		`{"Transcript": [{"ParticipantRole": "AGENT", "Content": "a", "BeginOffsetMillis": 0, "EndOffsetMillis": 5}]}`)
}

func FuzzGoogle(f *testing.F) {
	fuzzParse(f, transcript.FormatGoogle,
		`{"results": [{"alternatives": [{"transcript": "a", "words": [{"word": "a", "startTime": "0s", "endTime": "1.5s", "speakerTag": 1}]}]}]}`,
		`{"results": [{"alternatives": [{"transcript": "a"}], "channelTag": 2, "resultEndTime": {"seconds": 3, "nanos": 5}}]}`,
		`{"response": {"results": [{"alternatives": [{"words": [{"word": "b", "startOffset": "1s", "speakerLabel": "2"}]}]}]}}`)
}

func FuzzText(f *testing.F) {
	fuzzParse(f, transcript.FormatText,
		"Agent : bonjour\nAppelant : oui\nsuite",
		"[00:00:01] spk_0: a\n00:00:02 - spk_1 : b\n[00:00.000 --> 00:01.000] c",
		"[x]: y\n- Usagère\u00a0: z")
}

// FuzzDetect checks that detection never panics, answers a known format or
// an Invalid/TooLarge error, and that Parse agrees with it.
func FuzzDetect(f *testing.F) {
	for _, name := range samples(f) {
		if b := read(f, name); len(b) <= maxSeed {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"results": [{"alternatives": [{"transcript": "a"}]}]}`))
	f.Add([]byte(`{"results": {"items": []}}`))
	f.Add([]byte(`{"segments": [{"start": 0, "end": 1, "text": "a"}]}`))
	f.Add([]byte(`{"results": {"channels": []}}`))
	f.Add([]byte("[SPEAKER_00]: x"))
	f.Add([]byte{0xFF, 0xFE, 'W', 0, 'E', 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		format, err := transcript.Detect(data)
		if err != nil {
			if k := fault.KindOf(err); k != fault.Invalid && k != fault.TooLarge {
				t.Fatalf("error of kind %v: %v", k, err)
			}
			return
		}
		switch format {
		case transcript.FormatVTT, transcript.FormatSRT, transcript.FormatWhisper, transcript.FormatTranscribe, transcript.FormatGoogle, transcript.FormatText:
		default:
			t.Fatalf("format %q", format)
		}
		tr, err := transcript.Parse("", data)
		if err == nil {
			if tr.Format != format {
				t.Fatalf("Parse read %q, Detect said %q", tr.Format, format)
			}
			check(t, tr)
		}
	})
}
