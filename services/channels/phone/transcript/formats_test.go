package transcript_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ampmetropole/guichet/services/channels/phone/transcript"
)

func mustParse(t *testing.T, format, content string) transcript.Transcript {
	t.Helper()
	tr, err := transcript.Parse(format, []byte(content))
	if err != nil {
		t.Fatalf("Parse(%q): %v", format, err)
	}
	check(t, tr)
	return tr
}

// show writes turns compactly: "caller|Appelant|3.5-12|texte" ("-" for
// untimed turns).
func show(tr transcript.Transcript) string {
	var lines []string
	for _, tu := range tr.Turns {
		times := "-"
		if tu.Timed {
			times = fmt.Sprintf("%g-%g", tu.Start, tu.End)
		}
		lines = append(lines, fmt.Sprintf("%s|%s|%s|%s", tu.Role, tu.Label, times, tu.Text))
	}
	return strings.Join(lines, "\n")
}

func expect(t *testing.T, tr transcript.Transcript, want ...string) {
	t.Helper()
	if got := show(tr); got != strings.Join(want, "\n") {
		t.Errorf("turns:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}

func TestSRTTolerance(t *testing.T) {
	// Stray dot, a missing blank line between cues, ASS and font tags, two
	// speakers in one cue, no newline at the end.
	tr := mustParse(t, "srt", "1\n00:00:00.000 --> 00:00:02,500\n{\\an8}Agent: <font color=\"#ffffff\">Métropole, bonjour.</font>\n"+
		"2\n00:00:03,000 --> 00:00:06,000\n- Appelant : Bonjour, mon bac\nest cassé.\n- Agent : Lequel ?\n\n\n"+
		"3\n00:00:06:500 --> 00:00:08,000\nAppelant : Le jaune.")
	expect(t, tr,
		"agent|Agent|0-2.5|Métropole, bonjour.",
		"caller|Appelant|3-6|Bonjour, mon bac est cassé.",
		"agent|Agent|3-6|Lequel ?",
		"caller|Appelant|6.5-8|Le jaune.")
}

func TestVTTVariants(t *testing.T) {
	tr := mustParse(t, "vtt", "WEBVTT\n00:01.000 --> 00:02.500 line:0 position:20%\n<v.agent Conseiller Marc>Bonjour.<v Appelante>Bonjour &lt;madame&gt; &amp; monsieur\n\n"+
		"intro\n00:03.000 --> 00:04.000\n<v Appelante><i>Il</i> y a un <b>trou</b>.</v> <c.x>Rue</c> <00:03.500>Paradis.\n\n"+
		"REGION\nid:fred width:40%\n\n"+
		"01:00:05.000 --> 01:00:06.000\nAgent : Très bien.\n")
	expect(t, tr,
		"agent|Conseiller Marc|1-2.5|Bonjour.",
		"caller|Appelante|1-2.5|Bonjour <madame> & monsieur",
		"caller|Appelante|3-4|Il y a un trou.",
		"unknown||3-4|Rue Paradis.",
		"agent|Agent|3605-3606|Très bien.")
	if a := tr.Attribution; a.Method != "labels" || a.Confidence != 1 || a.AgentLabel != "Conseiller Marc" {
		t.Errorf("attribution %+v", a)
	}
}

func TestEncodings(t *testing.T) {
	// UTF-16 little-endian with a byte order mark, as Windows' Notepad
	// saves "Unicode".
	src := "1\r\n00:00:00,000 --> 00:00:01,000\r\nAppelant : éclairage\r\n"
	u16 := []byte{0xFF, 0xFE}
	for _, r := range src {
		u16 = append(u16, byte(r), byte(r>>8))
	}
	tr, err := transcript.Parse("", u16)
	if err != nil || tr.Format != "srt" || tr.Turns[0].Text != "éclairage" {
		t.Fatalf("UTF-16: %+v, %v", tr, err)
	}
	// Windows-1252: "é" is one byte 0xE9.
	tr, err = transcript.Parse("text", []byte("Appelant : le lampadaire est \xe9teint \x96 depuis lundi"))
	if err != nil || tr.Turns[0].Text != "le lampadaire est éteint – depuis lundi" {
		t.Fatalf("Windows-1252: %+v, %v", tr, err)
	}
}

func TestTextLabels(t *testing.T) {
	tr := mustParse(t, "text", "Conseiller : Allô, bonjour.\n"+
		"Opératrice: Un instant.\n"+
		"Téléconseiller Marc : Je vous écoute.\n"+
		"Appelante (Mme Durand)\u00a0: Bonjour.\n"+
		"- Usagère : Ma rue n'est pas éclairée.\n"+
		"Citoyenne : Adresse : 3 rue Longue.\n"+
		"Client: oui\n"+
		"Interlocuteur : d'accord\n")
	for i, tu := range tr.Turns {
		want := transcript.RoleCaller
		if i < 3 {
			want = transcript.RoleAgent
		}
		if tu.Role != want {
			t.Errorf("turn %d %+v: want %s", i, tu, want)
		}
	}
	if tr.Turns[5].Text != "Adresse : 3 rue Longue." || tr.Turns[3].Label != "Appelante (Mme Durand)" || tr.Turns[4].Label != "Usagère" {
		t.Errorf("turns %s", show(tr))
	}

	tr = mustParse(t, "text", "Transcription de l'appel\n"+
		"[00:00:01] SPEAKER_00: Métropole, bonjour, je vous écoute.\n"+
		"(00:04) [SPEAKER_01]: Bonjour.\n"+
		"00:00:06 - spk_1 : C'est pour un trou.\n"+
		"00:00:09 suite de la phrase.\n"+
		"[00:00:12.000 --> 00:00:14.500] SPEAKER_00 : Très bien.\n")
	expect(t, tr,
		"unknown||-|Transcription de l'appel",
		"agent|SPEAKER_00|1-4|Métropole, bonjour, je vous écoute.",
		"caller|SPEAKER_01|4-6|Bonjour.",
		"caller|spk_1|6-9|C'est pour un trou.",
		"caller|spk_1|9-12|suite de la phrase.",
		"agent|SPEAKER_00|12-14.5|Très bien.")
	if a := tr.Attribution; a.Method != "greeting" || a.AgentLabel != "SPEAKER_00" {
		t.Errorf("attribution %+v", a)
	}

	// Not labels: a colon in the middle of speech, a bracketed noise.
	tr = mustParse(t, "text", "Bonjour : je voudrais signaler un trou.\n[rires] : oui\nAdresse : 12 rue Paradis")
	expect(t, tr, "unknown||-|Bonjour : je voudrais signaler un trou. [rires] : oui Adresse : 12 rue Paradis")
}

func TestTranscribeVariants(t *testing.T) {
	// Items carrying their own speaker_label, no speaker_labels block.
	tr := mustParse(t, "transcribe", `{"results": {"items": [
		{"type": "pronunciation", "start_time": "0.0", "end_time": "0.4", "speaker_label": "spk_0", "alternatives": [{"confidence": "0.99", "content": "Bonjour"}]},
		{"type": "punctuation", "alternatives": [{"confidence": "0.0", "content": ","}]},
		{"type": "pronunciation", "start_time": "0.5", "end_time": "0.9", "speaker_label": "spk_0", "alternatives": [{"content": "Métropole"}]},
		{"type": "punctuation", "alternatives": [{"content": "."}]},
		{"type": "pronunciation", "start_time": "1.2", "end_time": "1.5", "speaker_label": "spk_1", "alternatives": [{"content": "Oui"}]},
		{"type": "pronunciation", "start_time": "1.6", "end_time": "2.0", "speaker_label": "spk_1", "alternatives": [{"content": "bonjour"}]},
		{"type": "punctuation", "alternatives": [{"content": "?"}]}]}}`)
	expect(t, tr, "agent|spk_0|0-0.9|Bonjour, Métropole.", "caller|spk_1|1.2-2|Oui bonjour?")

	// audio_segments only.
	tr = mustParse(t, "transcribe", `{"results": {"transcripts": [{"transcript": "x"}], "audio_segments": [
		{"id": 0, "transcript": "Allô, bonjour.", "start_time": "0.1", "end_time": "1.0", "speaker_label": "spk_0", "items": [0, 1]},
		{"id": 1, "transcript": "Bonjour, c'est pour un trou.", "start_time": "1.2", "end_time": "3.0", "speaker_label": "spk_1", "items": [2]}]}}`)
	expect(t, tr, "agent|spk_0|0.1-1|Allô, bonjour.", "caller|spk_1|1.2-3|Bonjour, c'est pour un trou.")
	if tr.Attribution.Method != "first_speaker" || tr.Attribution.Confidence != 0.55 {
		t.Errorf("attribution %+v", tr.Attribution)
	}

	// No speakers at all: one turn per sentence.
	tr = mustParse(t, "transcribe", `{"results": {"items": [
		{"type": "pronunciation", "start_time": "0.0", "end_time": "0.4", "alternatives": [{"content": "Bonjour"}]},
		{"type": "punctuation", "alternatives": [{"content": "."}]},
		{"type": "pronunciation", "start_time": "0.6", "end_time": "1.0", "alternatives": [{"content": "Un"}]},
		{"type": "pronunciation", "start_time": "1.0", "end_time": "1.3", "alternatives": [{"content": "trou"}]},
		{"type": "punctuation", "alternatives": [{"content": "."}]}]}}`)
	expect(t, tr, "unknown||0-0.4|Bonjour.", "unknown||0.6-1.3|Un trou.")

	// Only the full transcript.
	tr = mustParse(t, "transcribe", `{"results": {"transcripts": [{"transcript": "Bonjour, un trou rue Paradis."}]}}`)
	expect(t, tr, "unknown||-|Bonjour, un trou rue Paradis.")

	// Call Analytics without an agent turn: the customer's role still holds.
	tr = mustParse(t, "transcribe", `{"Transcript": [{"ParticipantRole": "CUSTOMER", "Content": "Allô ?", "BeginOffsetMillis": 0, "EndOffsetMillis": 900}]}`)
	if a := tr.Attribution; a.Method != "participant_role" || a.AgentLabel != "" || tr.CallerText() != "Allô ?" {
		t.Errorf("%+v %q", a, tr.CallerText())
	}
}

func TestGoogleVariants(t *testing.T) {
	// No diarization: a turn per result, times from the words or from the
	// result end times.
	tr := mustParse(t, "google", `{"results": [
		{"alternatives": [{"transcript": "métropole bonjour", "confidence": 0.9}], "resultEndTime": "2.500s"},
		{"alternatives": [{"transcript": " il y a un trou ", "words": [{"word": "il", "startTime": "3s", "endTime": "3.200s"}, {"word": "trou", "startTime": {"seconds": "4", "nanos": 100000000}, "endTime": "4.500s"}]}], "resultEndTime": "4.600s"},
		{"alternatives": []},
		{"alternatives": [{"transcript": "rue Paradis"}], "result_end_time": "7s"}]}`)
	expect(t, tr, "unknown||0-2.5|métropole bonjour", "unknown||3-4.6|il y a un trou", "unknown||4.6-7|rue Paradis")

	// Two channels: results labelled ch_1/ch_2 and put back in time order.
	tr = mustParse(t, "google", `{"results": [
		{"alternatives": [{"transcript": "oui bonjour"}], "channelTag": 1, "resultEndTime": "2s"},
		{"alternatives": [{"transcript": "c'est bien noté"}], "channelTag": 1, "resultEndTime": "9s"},
		{"alternatives": [{"transcript": "bonjour mon bac est cassé"}], "channelTag": 2, "resultEndTime": "6s"}]}`)
	expect(t, tr, "agent|ch_1|0-2|oui bonjour", "caller|ch_2|0-6|bonjour mon bac est cassé", "agent|ch_1|2-9|c'est bien noté")
	if a := tr.Attribution; a.Method != "channel" || a.AgentLabel != "ch_1" || a.Confidence != 0.6 {
		t.Errorf("attribution %+v", a)
	}
}

func TestWhisperVariants(t *testing.T) {
	// whisper.cpp with stereo diarization ("?" is no speaker) and a
	// segment with only its "timestamps".
	tr := mustParse(t, "whisper", `{"transcription": [
		{"timestamps": {"from": "00:00:00,000", "to": "00:00:02,000"}, "offsets": {"from": 0, "to": 2000}, "text": " Métropole, bonjour.", "speaker": "0"},
		{"timestamps": {"from": "00:00:02,000", "to": "00:00:05,500"}, "offsets": {"from": 2000, "to": 5500}, "text": " Bonjour, un trou.", "speaker": "1"},
		{"timestamps": {"from": "00:00:05,500", "to": "00:00:06,000"}, "text": " Hmm.", "speaker": "?"}]}`)
	expect(t, tr, "agent|0|0-2|Métropole, bonjour.", "caller|1|2-5.5|Bonjour, un trou.", "unknown||5.5-6|Hmm.")

	// A bare array of segments, times as strings; OpenAI's plain json.
	expect(t, mustParse(t, "whisper", `[{"start": "0.5", "end": "1.5", "text": " Bonjour."}]`), "unknown||0.5-1.5|Bonjour.")
	expect(t, mustParse(t, "whisper", `{"text": " Bonjour, il y a un trou."}`), "unknown||-|Bonjour, il y a un trou.")
}

func TestAttribution(t *testing.T) {
	tests := []struct {
		name, content, method, agent string
		conf                         float64
	}{
		{"nobody greets: first speaker", "spk_0: Oui ?\nspk_1: Il y a un trou.\nspk_0: D'accord.", "first_speaker", "spk_0", 0.55},
		{"one speaker", "spk_0: Bonjour.\nspk_0: Il y a un trou.", "none", "", 0},
		{"no label", "Bonjour.\nIl y a un trou.", "none", "", 0},
		{"only the caller named", "Appelant : Il y a un trou.\nAppelant : Rue Paradis.", "labels", "", 1},
		{"caller named, the other one is the agent", "Appelant : Allô ?\nspk_0 : Oui ?\nAppelant : Un trou.", "labels", "spk_0", 0.8},
		{"agent named, the other one is the caller", "Agent : Oui ?\n[Marie]: Un trou.", "labels", "Agent", 0.8},
		{"caller checks she called the Métropole", "SPEAKER_00: Allô, c'est bien la Métropole ? Je vous appelle pour un trou.\n" +
			"SPEAKER_01: Oui madame, Métropole Aix-Marseille-Provence, je vous écoute.", "greeting", "SPEAKER_01", 0.9},
		{"both greet, one much more", "spk_0: Allô, service voirie ?\nspk_1: Oui, Métropole, bonjour, je vous écoute, que puis-je pour vous ?", "greeting", "spk_1", 0.75},
		{"both greet alike: fall back", "spk_0: Métropole, bonjour.\nspk_1: Métropole, bonjour.", "first_speaker", "spk_0", 0.55},
		{"channels, nobody greets", "ch_1: Bonjour, un trou.\nch_0: Oui.", "channel", "ch_0", 0.6},
		{"three speakers", "spk_2: Allô ?\nspk_0: Métropole bonjour, je vous écoute.\nspk_1: C'est mon voisin qui appelle.", "greeting", "spk_0", 0.9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := mustParse(t, "text", tt.content)
			a := tr.Attribution
			if a.Method != tt.method || a.AgentLabel != tt.agent || a.Confidence != tt.conf {
				t.Fatalf("attribution %+v; want %s %q %.2f\n%s", a, tt.method, tt.agent, tt.conf, show(tr))
			}
			agents := 0
			for _, tu := range tr.Turns {
				if tu.Role == transcript.RoleAgent {
					agents++
					if tu.Label != tt.agent {
						t.Errorf("turn %+v taken for the agent", tu)
					}
				}
				if tt.method != "none" && tu.Label != "" && tu.Label != tt.agent && tu.Role != transcript.RoleCaller {
					t.Errorf("turn %+v not taken for the caller", tu)
				}
			}
			if (tt.agent != "") != (agents > 0) {
				t.Errorf("%d agent turns for agent %q", agents, tt.agent)
			}
		})
	}
}
