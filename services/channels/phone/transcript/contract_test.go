package transcript_test

import (
	"strings"
	"testing"

	"github.com/ampmetropole/guichet/services/channels/phone/transcript"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// TestCallersInputs replays what the phone channel, the API and docs/api.md
// send, with what they expect back.
func TestCallersInputs(t *testing.T) {
	// services/channels/phone/telephony: a VTT with voice spans, format detected.
	vtt := "WEBVTT\n\n00:00:00.000 --> 00:00:03.000\n<v Agent>Métropole Aix-Marseille-Provence bonjour, je vous écoute.</v>\n\n" +
		"00:00:03.500 --> 00:00:12.000\n<v Appelant>il y a un trou</v>\n\n" +
		"00:00:12.500 --> 00:00:14.000\n<v Agent>Très bien, je note.</v>\n"
	tr := mustParse(t, "", vtt)
	if len(tr.Turns) != 3 || tr.Turns[0].Role != "agent" || tr.Turns[1].Role != "caller" || !tr.Turns[1].Timed || tr.Attribution.Confidence <= 0 {
		t.Errorf("telephony VTT: %s %+v", show(tr), tr.Attribution)
	}
	if tr.CallerText() != "il y a un trou" {
		t.Errorf("CallerText %q", tr.CallerText())
	}

	// docs/api.md: mm:ss times, no newline at the end.
	tr = mustParse(t, "vtt", "WEBVTT\n\n00:00.000 --> 00:03.000\n<v Agent>Métropole Aix-Marseille-Provence bonjour\n\n00:03.500 --> 00:12.000\n<v Appelant>je vous appelle pour le dossier a m p deux mille vingt-six zéro zéro zéro zéro zéro un le lampadaire est toujours éteint")
	if !strings.HasPrefix(tr.CallerText(), "je vous appelle pour le dossier a m p") {
		t.Errorf("docs/api.md VTT: %s", show(tr))
	}

	// services/staff/api: Google, diarized in the last result, given as the JSON
	// object itself, format detected.
	google := `{"results": [
 {"alternatives": [{"transcript": "métropole bonjour", "confidence": 0.9}], "resultEndTime": "2.000s", "languageCode": "fr-fr"},
 {"alternatives": [{"transcript": "métropole bonjour il y a un nid de poule", "confidence": 0.9, "words": [
   {"startTime": "0s", "endTime": "0.500s", "word": "métropole", "speakerTag": 1},
   {"startTime": "0.500s", "endTime": "1s", "word": "bonjour", "speakerTag": 1},
   {"startTime": "2s", "endTime": "2.400s", "word": "il", "speakerTag": 2},
   {"startTime": "2.400s", "endTime": "2.600s", "word": "y", "speakerTag": 2},
   {"startTime": "2.600s", "endTime": "2.800s", "word": "a", "speakerTag": 2},
   {"startTime": "2.800s", "endTime": "3s", "word": "un", "speakerTag": 2},
   {"startTime": "3s", "endTime": "3.300s", "word": "nid", "speakerTag": 2},
   {"startTime": "3.300s", "endTime": "3.400s", "word": "de", "speakerTag": 2},
   {"startTime": "3.400s", "endTime": "3.800s", "word": "poule", "speakerTag": 2}]}]}]}`
	tr = mustParse(t, "", google)
	expect(t, tr, "agent|1|0-1|métropole bonjour", "caller|2|2-3.8|il y a un nid de poule")

	// services/staff/api: SRT as a multipart file; text one-liners.
	tr = mustParse(t, "srt", "1\n00:00:00,000 --> 00:00:02,000\nAgent: Métropole bonjour\n\n2\n00:00:02,500 --> 00:00:05,000\nAppelant: mon bac est cassé\n")
	if tr.CallerText() != "mon bac est cassé" {
		t.Errorf("API SRT: %s", show(tr))
	}
	if tr = mustParse(t, "text", "Appelant: allo"); tr.CallerText() != "allo" {
		t.Errorf("API text: %s", show(tr))
	}
	// services/channels/phone/console: pasted text.
	tr = mustParse(t, "", "Agent : Métropole bonjour\nAppelant : le lampadaire est toujours éteint")
	if tr.CallerText() != "le lampadaire est toujours éteint" {
		t.Errorf("console text: %s", show(tr))
	}

	// services/channels/phone/telephony's oversize transcript.
	_, err := transcript.Parse("text", []byte("Appelant: "+strings.Repeat("bla ", 2<<20)))
	if fault.KindOf(err) != fault.TooLarge {
		t.Errorf("oversize: %v", err)
	}
}
