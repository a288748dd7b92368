package transcript

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Detect guesses the format of content: WebVTT by its header, JSON formats
// by their keys, SRT by its timing lines; other text is plain text. Content
// it cannot read (binary, XML, unknown JSON) is an error of kind
// fault.Invalid, content over MaxSize one of kind fault.TooLarge.
func Detect(content []byte) (string, error) {
	if len(content) > MaxSize {
		return "", tooLarge(len(content))
	}
	text, err := decodeText(content)
	if err != nil {
		return "", wrap(err)
	}
	f, err := detect(text)
	if err != nil {
		return "", wrap(err)
	}
	return f, nil
}

// detect guesses the format of decoded text. Text starting with "[" is
// JSON only if it parses: "[SPEAKER_00]: …" and "[00:00.000 --> 00:04.200]"
// start text transcripts.
func detect(s string) (string, error) {
	t := strings.TrimSpace(s)
	switch {
	case t == "":
		return "", errors.New("format indéterminé : transcription vide")
	case isVTTHeader(firstLine(t)):
		return FormatVTT, nil
	case t[0] == '{':
		return detectJSON(t)
	case t[0] == '[' && json.Valid([]byte(t)):
		return detectJSON(t)
	case t[0] == '<':
		return "", errors.New("format indéterminé : contenu XML ou HTML (TTML et DFXP ne sont pas pris en charge ; attendus : vtt, srt, whisper, transcribe, google, text)")
	case t[0] == '%' || strings.HasPrefix(t, "{\\rtf"):
		return "", errors.New("format indéterminé : document bureautique (PDF, RTF), pas une transcription")
	}
	// SRT: a timing line among the first lines, starting with a digit.
	lines := splitLines(t)
	for i, seen := 0, 0; i < len(lines) && seen < 20; i++ {
		line := strings.TrimSpace(lines[i])
		if line == "" {
			continue
		}
		seen++
		if line[0] >= '0' && line[0] <= '9' && strings.Contains(line, "-->") {
			return FormatSRT, nil // even with a broken time: the SRT parser says where
		}
	}
	return FormatText, nil
}

func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}

// detectJSON tells the JSON formats apart by their keys.
func detectJSON(s string) (string, error) {
	var top map[string]json.RawMessage
	if s[0] == '[' {
		var arr []json.RawMessage
		if err := decodeJSON("", s, &arr); err != nil {
			return "", err
		}
		if len(arr) == 0 {
			return "", errors.New("format indéterminé : tableau JSON vide")
		}
		if err := json.Unmarshal(arr[0], &top); err != nil || top == nil {
			return "", errors.New("format indéterminé : tableau JSON dont les éléments ne sont pas des objets")
		}
		if has(top, "text") && (has(top, "start") || has(top, "end")) {
			return FormatWhisper, nil // a bare array of Whisper segments
		}
		return "", fmt.Errorf("format indéterminé : tableau JSON d'objets (clés : %s) non reconnu", keys(top))
	}
	if err := decodeJSON("", s, &top); err != nil {
		return "", err
	}
	switch {
	case has(top, "Transcript") || has(top, "ConversationCharacteristics"):
		return FormatTranscribe, nil
	case has(top, "results"):
		r := bytes.TrimSpace(top["results"])
		switch {
		case len(r) > 0 && r[0] == '[':
			return FormatGoogle, nil
		case len(r) > 0 && r[0] == '{':
			var res map[string]json.RawMessage
			_ = json.Unmarshal(r, &res)
			switch {
			case has(res, "items") || has(res, "transcripts") || has(res, "speaker_labels") || has(res, "channel_labels") || has(res, "audio_segments"):
				return FormatTranscribe, nil
			case has(res, "channels") || has(res, "utterances"):
				return "", errors.New("format indéterminé : JSON Deepgram, non pris en charge (attendus : vtt, srt, whisper, transcribe, google, text)")
			}
		}
		return "", fmt.Errorf("format indéterminé : JSON avec « results » de forme inconnue (clés : %s)", keys(top))
	case has(top, "response"):
		var resp map[string]json.RawMessage
		_ = json.Unmarshal(top["response"], &resp)
		if has(resp, "results") {
			return FormatGoogle, nil
		}
	case has(top, "segments") || has(top, "transcription") || has(top, "word_segments"):
		return FormatWhisper, nil
	case has(top, "recognizedPhrases") || has(top, "combinedRecognizedPhrases"):
		return "", errors.New("format indéterminé : JSON Azure Speech, non pris en charge (attendus : vtt, srt, whisper, transcribe, google, text)")
	case has(top, "text"):
		return FormatWhisper, nil // OpenAI's response_format=json
	}
	return "", fmt.Errorf("format indéterminé : JSON non reconnu (clés : %s) ; attendus Whisper (« segments »), Amazon Transcribe (« results.items », « Transcript ») ou Google (« results[].alternatives »)", keys(top))
}

func has(m map[string]json.RawMessage, k string) bool {
	_, ok := m[k]
	return ok
}

// keys lists some keys of a JSON object, for an error message.
func keys(m map[string]json.RawMessage) string {
	if len(m) == 0 {
		return "aucune"
	}
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, clip(clean(k), 30))
	}
	sort.Strings(ks)
	if len(ks) > 8 {
		ks = append(ks[:8], "…")
	}
	return strings.Join(ks, ", ")
}
