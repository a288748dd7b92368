package transcript_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ampmetropole/guichet/services/channels/phone/transcript"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata from the parser's output")

// samples lists the sample files of testdata: "vtt_voices.vtt"… Their
// format is the name up to the first "_".
func samples(t testing.TB) []string {
	t.Helper()
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() || strings.HasSuffix(e.Name(), ".golden.json") {
			continue
		}
		names = append(names, e.Name())
	}
	if len(names) < 12 {
		t.Fatalf("only %d samples in testdata", len(names))
	}
	return names
}

func sampleFormat(name string) string {
	return name[:strings.IndexByte(name, '_')]
}

func read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// check verifies what every parsed transcript promises.
func check(t testing.TB, tr transcript.Transcript) {
	t.Helper()
	if len(tr.Turns) == 0 {
		t.Fatal("no turns and no error")
	}
	agent := false
	for i, tu := range tr.Turns {
		if tu.Text == "" || tu.Text != strings.TrimSpace(tu.Text) || strings.Contains(tu.Text, "  ") || !utf8.ValidString(tu.Text) {
			t.Fatalf("turn %d: text not clean: %q", i, tu.Text)
		}
		if tu.Timed && (tu.Start > tu.End || tu.Start < 0 || math.IsNaN(tu.Start) || math.IsNaN(tu.End) || math.IsInf(tu.End, 0)) {
			t.Fatalf("turn %d: times %v..%v", i, tu.Start, tu.End)
		}
		if !tu.Timed && (tu.Start != 0 || tu.End != 0) {
			t.Fatalf("turn %d: untimed with times %v..%v", i, tu.Start, tu.End)
		}
		switch tu.Role {
		case transcript.RoleAgent:
			agent = true
		case transcript.RoleCaller, transcript.RoleUnknown:
		default:
			t.Fatalf("turn %d: role %q", i, tu.Role)
		}
	}
	a := tr.Attribution
	if a.Confidence < 0 || a.Confidence > 1 || a.Method == "" || a.Detail == "" {
		t.Fatalf("attribution %+v", a)
	}
	if agent && a.Method == transcript.MethodNone {
		t.Fatalf("an agent turn with method none")
	}
	_ = tr.CallerText()
}

func TestGolden(t *testing.T) {
	for _, name := range samples(t) {
		stem := strings.TrimSuffix(name, filepath.Ext(name))
		t.Run(stem, func(t *testing.T) {
			content := read(t, name)
			format := sampleFormat(name)
			if got, err := transcript.Detect(content); err != nil || got != format {
				t.Errorf("Detect = %q, %v; want %q", got, err, format)
			}
			tr, err := transcript.Parse(format, content)
			if err != nil {
				t.Fatal(err)
			}
			check(t, tr)
			if auto, err := transcript.Parse("", content); err != nil || !reflect.DeepEqual(auto, tr) {
				t.Errorf("Parse with detection differs: %v", err)
			}
			got, err := json.MarshalIndent(tr, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := filepath.Join("testdata", stem+".golden.json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to write it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the parser's output (go test -update rewrites it):\n%s", golden, got)
			}
		})
	}
}

// TestSamplesAttribution says, sample by sample, who must be found to be
// the agent and how: the goldens alone would only freeze what the code does.
func TestSamplesAttribution(t *testing.T) {
	tests := []struct {
		name, method, agent string
		conf                float64
		turns               int
		firstRole           transcript.Role
	}{
		{"vtt_voices.vtt", "labels", "Agent", 1, 7, transcript.RoleAgent},
		{"vtt_whisper.vtt", "none", "", 0, 6, transcript.RoleUnknown},
		{"vtt_whisperx.vtt", "greeting", "SPEAKER_01", 0.9, 5, transcript.RoleAgent},
		{"srt_agent.srt", "labels", "Agent", 1, 6, transcript.RoleAgent},
		{"srt_whisperx.srt", "greeting", "SPEAKER_00", 0.9, 6, transcript.RoleAgent},
		{"whisper_openai.json", "none", "", 0, 6, transcript.RoleUnknown},
		{"whisper_whisperx.json", "greeting", "SPEAKER_01", 0.9, 5, transcript.RoleAgent},
		{"whisper_cpp.json", "none", "", 0, 4, transcript.RoleUnknown},
		// spk_1 speaks first ("Allô ? Allô ?"): the first-speaker rule would
		// be wrong, the greeting decides.
		{"transcribe_speakers.json", "greeting", "spk_0", 0.9, 8, transcript.RoleCaller},
		{"transcribe_channels.json", "channel", "ch_0", 0.6, 0, transcript.RoleAgent},
		{"transcribe_analytics.json", "participant_role", "AGENT", 1, 6, transcript.RoleAgent},
		{"google_diarized.json", "greeting", "1", 0.9, 5, transcript.RoleAgent},
		{"google_v2.json", "greeting", "1", 0.9, 4, transcript.RoleAgent},
		{"text_labels.txt", "labels", "Agent", 1, 9, transcript.RoleAgent},
		{"text_timestamps.txt", "labels", "Conseillère", 1, 7, transcript.RoleUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := transcript.Parse("", read(t, tt.name))
			if err != nil {
				t.Fatal(err)
			}
			a := tr.Attribution
			if a.Method != tt.method || a.AgentLabel != tt.agent || math.Abs(a.Confidence-tt.conf) > 1e-9 {
				t.Errorf("attribution %+v, want %s %q %.2f", a, tt.method, tt.agent, tt.conf)
			}
			if tt.turns > 0 && len(tr.Turns) != tt.turns {
				t.Errorf("%d turns, want %d", len(tr.Turns), tt.turns)
			}
			if tr.Turns[0].Role != tt.firstRole {
				t.Errorf("first turn %+v, want role %s", tr.Turns[0], tt.firstRole)
			}
			for _, tu := range tr.Turns {
				if tu.Label == tt.agent && tt.agent != "" && tu.Role != transcript.RoleAgent {
					t.Errorf("turn %+v of the agent not marked agent", tu)
				}
			}
		})
	}
}

func TestCallerText(t *testing.T) {
	tr, err := transcript.Parse(transcript.FormatText, read(t, "text_labels.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"Bonjour madame. Voilà, il y a une voiture ventouse garée devant mon portail depuis plus d'un mois, elle a les pneus à plat.",
		"Oui, c'est 5 impasse des Cigales, à La Ciotat, 13600. La plaque, c'est F G 4 1 8 K L.",
		"Oui, on m'a donné la référence amp deux mille vingt-six zéro zéro quatre deux un trois.",
		"Le zéro six douze trente-quatre cinquante-six soixante-dix-huit.",
	}, "\n")
	if got := tr.CallerText(); got != want {
		t.Errorf("CallerText:\n%s\nwant:\n%s", got, want)
	}

	// Voice spans: the agent's greeting is left out, the caller's words kept.
	tr, err = transcript.Parse(transcript.FormatVTT, read(t, "vtt_voices.vtt"))
	if err != nil {
		t.Fatal(err)
	}
	said := tr.CallerText()
	if strings.Contains(said, "je vous écoute") || !strings.Contains(said, "amp deux mille vingt-six zéro zéro quatre deux un trois") ||
		!strings.Contains(said, "27 boulevard de la Blancarde, dans le 4e, à Marseille, 13004.") {
		t.Errorf("CallerText: %q", said)
	}

	// No speaker known: everything is what the caller may have said.
	tr, err = transcript.Parse(transcript.FormatVTT, read(t, "vtt_whisper.vtt"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(tr.CallerText(), "\n") + 1; got != len(tr.Turns) {
		t.Errorf("CallerText has %d lines for %d unknown turns", got, len(tr.Turns))
	}

	// A transcript with only the agent's turns has no caller text.
	tr, err = transcript.Parse(transcript.FormatText, []byte("Agent : Métropole bonjour.\nAgent : Allô ?"))
	if err != nil {
		t.Fatal(err)
	}
	if got := tr.CallerText(); got != "" {
		t.Errorf("CallerText of the agent alone: %q", got)
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"vtt", "WEBVTT\n\n00:00.000 --> 00:01.000\nbonjour", "vtt"},
		{"vtt with title and BOM", "\ufeffWEBVTT Appel 42\n\n00:00.000 --> 00:01.000\nbonjour", "vtt"},
		{"srt", "1\n00:00:00,000 --> 00:00:01,000\nAgent: bonjour\n", "srt"},
		{"srt without numbers", "00:00:00,000 --> 00:00:01,000\nbonjour\n", "srt"},
		{"whisper", `{"text": " bonjour", "segments": [{"start": 0, "end": 1, "text": " bonjour"}]}`, "whisper"},
		{"whisper bare array", `[{"start": 0, "end": 1, "text": " bonjour"}]`, "whisper"},
		{"openai json", `{"text": "bonjour"}`, "whisper"},
		{"whisper.cpp", `{"result": {"language": "fr"}, "transcription": []}`, "whisper"},
		{"transcribe", `{"jobName": "j", "results": {"transcripts": [{"transcript": "bonjour"}], "items": []}}`, "transcribe"},
		{"call analytics", `{"JobStatus": "COMPLETED", "Transcript": []}`, "transcribe"},
		{"google", `{"results": [{"alternatives": [{"transcript": "bonjour"}]}]}`, "google"},
		{"google operation", `{"name": "1", "done": true, "response": {"results": []}}`, "google"},
		{"text", "Agent : bonjour\nAppelant : bonjour", "text"},
		{"text with a bracketed label", "[SPEAKER_00]: bonjour\n[SPEAKER_01]: oui", "text"},
		{"whisper console output", "[00:00.000 --> 00:03.000]  Bonjour.\n[00:03.000 --> 00:05.000]  Oui.", "text"},
		{"prose", "Bonjour, il y a un trou dans la route.", "text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := transcript.Detect([]byte(tt.content))
			if err != nil || got != tt.want {
				t.Errorf("Detect = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	bad := []struct {
		name, content string
		kind          fault.Kind
		says          string
	}{
		{"empty", "  \n", fault.Invalid, "vide"},
		{"binary", "\x00\x01\x02\x03garbage", fault.Invalid, "binaire"},
		{"unknown JSON", `{"foo": 1, "bar": [1]}`, fault.Invalid, "JSON non reconnu (clés : bar, foo)"},
		{"broken JSON", `{"segments": [`, fault.Invalid, "JSON invalide"},
		{"deepgram", `{"metadata": {}, "results": {"channels": []}}`, fault.Invalid, "Deepgram"},
		{"azure", `{"recognizedPhrases": []}`, fault.Invalid, "Azure"},
		{"xml", `<?xml version="1.0"?><tt xmlns="http://www.w3.org/ns/ttml"></tt>`, fault.Invalid, "XML"},
		{"JSON array of numbers", `[1, 2, 3]`, fault.Invalid, "pas des objets"},
		{"too large", strings.Repeat("a", transcript.MaxSize+1), fault.TooLarge, "trop volumineuse"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			got, err := transcript.Detect([]byte(tt.content))
			if err == nil || fault.KindOf(err) != tt.kind || !strings.Contains(err.Error(), tt.says) || !strings.HasPrefix(err.Error(), "transcript: ") {
				t.Fatalf("Detect = %q, %v (kind %v); want kind %v saying %q", got, err, fault.KindOf(err), tt.kind, tt.says)
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	tests := []struct {
		name, format, content string
		kind                  fault.Kind
		says                  string
	}{
		{"unknown format", "docx", "Agent: bonjour", fault.Invalid,
			"transcript: format inconnu « docx » (attendus : vtt, srt, whisper, transcribe, google, text)"},
		{"broken JSON", "whisper", `{"segments": [`, fault.Invalid, "transcript: whisper: JSON invalide"},
		{"broken JSON, detected", "", `{"results": `, fault.Invalid, "transcript: JSON invalide"},
		{"broken transcribe JSON", "transcribe", `{"results": {"items": [}}`, fault.Invalid, "transcript: transcribe: JSON invalide (ligne 1, colonne 24)"},
		{"trailing garbage after JSON", "google", `{"results": []} {}`, fault.Invalid, "données après la fin du document"},
		{"vtt bad timestamp", "vtt", "WEBVTT\n\n1\n00:00:00.000 --> 00:00:02.000\nbonjour\n\n00:00:0x.000 --> 00:00:03.000\noui\n", fault.Invalid,
			"transcript: vtt: cue 2 (ligne 7): horodatage invalide « 00:00:0x.000 »"},
		{"vtt bad end timestamp", "vtt", "WEBVTT\n\n00:00.000 --> 00:61.000\nbonjour\n", fault.Invalid, "horodatage invalide « 00:61.000 »"},
		{"vtt missing header", "vtt", "00:00.000 --> 00:01.000\nbonjour\n", fault.Invalid,
			"transcript: vtt: ligne 1: en-tête « WEBVTT » absent (trouvé « 00:00.000 --> 00:01.000 »)"},
		{"vtt cue ending before it starts", "vtt", "WEBVTT\n\n00:05.000 --> 00:03.000\nbonjour\n", fault.Invalid,
			"transcript: vtt: cue 1 (ligne 3): la cue se termine (3,0 s) avant de commencer (5,0 s)"},
		{"vtt empty", "vtt", "WEBVTT\n\n", fault.Invalid, "transcript: aucune parole dans la transcription"},
		{"vtt only notes", "vtt", "WEBVTT\n\nNOTE rien\n\n00:00.000 --> 00:01.000\n<v Agent></v>\n", fault.Invalid, "aucune parole"},
		{"srt out of order", "srt", "1\n00:00:10,000 --> 00:00:12,000\nAgent: bonjour\n\n2\n00:00:02,000 --> 00:00:04,000\nAppelant: oui\n", fault.Invalid,
			"transcript: horodatages dans le désordre : la cue 2 commence (2,0 s) avant la cue 1 (10,0 s)"},
		{"srt out of order at the millisecond", "srt", "1\n00:00:10,004 --> 00:00:12,000\nbonjour\n\n2\n00:00:10,001 --> 00:00:12,000\noui\n", fault.Invalid,
			"la cue 2 commence (10,001 s) avant la cue 1 (10,004 s)"},
		{"srt not subtitles", "srt", "Bonjour,\nje voudrais signaler un trou.\n", fault.Invalid,
			"transcript: srt: ligne 1: ligne de temps « début --> fin » attendue, trouvé « Bonjour, »"},
		{"srt bad timestamp", "srt", "1\n00:00:01,000 --> 00:00:0,5\nbonjour\n", fault.Invalid, "transcript: srt: cue 1 (ligne 2): horodatage invalide « 00:00:0,5 »"},
		{"empty content", "", "", fault.Invalid, "transcript: aucune parole dans la transcription"},
		{"blank text", "text", " \n\t\n", fault.Invalid, "aucune parole"},
		{"labels without words", "text", "Agent :\nAppelant :\n", fault.Invalid, "aucune parole"},
		{"oversize", "text", "Appelant: " + strings.Repeat("a", transcript.MaxSize), fault.TooLarge, "transcript: transcription trop volumineuse"},
		{"too many turns", "text", strings.Repeat("Agent: oui\n", 20001), fault.TooLarge, "plus de 20000 tours de parole"},
		{"google JSON declared whisper", "whisper", `{"results": [{"alternatives": [{"transcript": "bonjour"}]}]}`, fault.Invalid,
			"transcript: whisper: ni « segments », ni « transcription », ni « text » : ce JSON n'est pas une sortie Whisper"},
		{"whisper JSON declared transcribe", "transcribe", `{"segments": [{"start": 0, "end": 1, "text": "bonjour"}]}`, fault.Invalid,
			"ce JSON n'est pas une sortie Amazon Transcribe"},
		{"whisper JSON declared google", "google", `{"segments": []}`, fault.Invalid, "ce JSON n'est pas une sortie Google Speech-to-Text"},
		{"google JSON declared transcribe", "transcribe", `{"results": [{"alternatives": []}]}`, fault.Invalid,
			"transcript: transcribe: JSON de forme inattendue pour ce format : « results » est un tableau au lieu d'un objet"},
		{"transcribe JSON declared google", "google", `{"results": {"items": []}}`, fault.Invalid,
			"« results » est un objet au lieu d'un tableau"},
		{"whisper segments of the wrong type", "whisper", `{"segments": "bonjour"}`, fault.Invalid, "« segments » est une chaîne au lieu d'un tableau"},
		{"whisper text of the wrong type", "whisper", `{"segments": [{"start": 0, "end": 1, "text": 12}]}`, fault.Invalid, "« segments.text » est un nombre au lieu d'une chaîne"},
		{"JSON declared vtt", "vtt", `{"segments": []}`, fault.Invalid, "en-tête « WEBVTT » absent"},
		{"whisper segment ending before it starts", "whisper", `{"segments": [{"start": 5, "end": 2, "text": "x"}]}`, fault.Invalid,
			"transcript: whisper: le segment 1 se termine (2,0 s) avant de commencer (5,0 s)"},
		{"whisper out of order", "whisper", `{"segments": [{"start": 5, "end": 6, "text": "a"}, {"start": 1, "end": 2, "text": "b"}]}`, fault.Invalid,
			"horodatages dans le désordre : le segment 2 commence (1,0 s) avant le segment 1 (5,0 s)"},
		{"whisper negative time", "whisper", `{"segments": [{"start": -3, "end": 2, "text": "x"}]}`, fault.Invalid, "le segment 1: horodatage hors limites (-3)"},
		{"transcribe bad time", "transcribe", `{"results": {"items": [{"type": "pronunciation", "start_time": "abc", "end_time": "1.0", "alternatives": [{"content": "oui"}]}]}}`,
			fault.Invalid, "transcript: transcribe: results.items[0]: horodatage invalide « abc »"},
		{"google bad duration", "google", `{"results": [{"alternatives": [{"transcript": "oui", "words": [{"word": "oui", "startTime": "1,3s"}]}]}]}`,
			fault.Invalid, "transcript: google: results[0].alternatives[0].words[0]: horodatage invalide « 1,3s »"},
		{"call analytics out of order", "transcribe", `{"Transcript": [{"ParticipantRole": "AGENT", "Content": "a", "BeginOffsetMillis": 5000, "EndOffsetMillis": 6000},
			{"ParticipantRole": "CUSTOMER", "Content": "b", "BeginOffsetMillis": 1000, "EndOffsetMillis": 2000}]}`, fault.Invalid,
			"le tour 2 commence (1,0 s) avant le tour 1 (5,0 s)"},
		{"text bad timestamp", "text", "[00:00:01] Agent : bonjour\n[00:99:02] Appelant : oui", fault.Invalid, "transcript: text: ligne 2: horodatage invalide « 00:99:02 »"},
		{"text out of order", "text", "[00:00:10] Agent : bonjour\n[00:00:02] Appelant : oui", fault.Invalid,
			"horodatages dans le désordre : la ligne 2 commence (2,0 s) avant la ligne 1 (10,0 s)"},
		{"binary", "text", "\x00\x01\x02", fault.Invalid, "contenu binaire"},
		{"undecidable", "", `{"foo": 1}`, fault.Invalid, "transcript: format indéterminé : JSON non reconnu"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := transcript.Parse(tt.format, []byte(tt.content))
			if err == nil {
				t.Fatalf("no error, got %+v", tr)
			}
			if fault.KindOf(err) != tt.kind || !strings.Contains(err.Error(), tt.says) || !strings.HasPrefix(err.Error(), "transcript: ") {
				t.Fatalf("got %q (kind %v); want kind %v saying %q", err, fault.KindOf(err), tt.kind, tt.says)
			}
		})
	}
}

// TestBrokenJSONKeepsCause checks the decoder's error stays in the chain.
func TestBrokenJSONKeepsCause(t *testing.T) {
	_, err := transcript.Parse("whisper", []byte(`{"segments": "x"}`))
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		t.Fatalf("%v does not wrap a *json.UnmarshalTypeError", err)
	}
}
