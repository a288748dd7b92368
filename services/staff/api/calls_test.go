package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ampmetropole/guichet/services/platform/bus"
	"github.com/ampmetropole/guichet/services/testkit"
)

const googleTranscript = `{"results": [
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

func callJSON(id string, transcript string) string {
	return `{"call_id": "` + id + `", "caller_number": "+33465712774", "agent_id": "agent-007", "direction": "inbound",
	  "started_at": "2026-11-27T09:00:00+01:00", "ended_at": "2026-11-27T09:03:00+01:00", "transcript": ` + transcript + `}`
}

func TestPostCalls(t *testing.T) {
	b := setup(t)
	// JSON, the Google transcript given as the object itself, format detected.
	code, body := do(t, "POST", b.srv.URL+"/api/v1/calls", callJSON("g-1", `{"format": "", "content": `+googleTranscript+`}`))
	if code != http.StatusAccepted || body["request_id"] == nil {
		t.Fatalf("JSON call: %d %v", code, body)
	}
	// Posting the same call again answers the same request.
	code, again := do(t, "POST", b.srv.URL+"/api/v1/calls", callJSON("g-1", `{"format": "google", "content": `+googleTranscript+`}`))
	if code != http.StatusAccepted || again["request_id"] != body["request_id"] || again["duplicate"] != true {
		t.Fatalf("repost: %d %v", code, again)
	}
	// Multipart, the transcript as a file.
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range map[string]string{"call_id": "srt-1", "caller_number": "04 65 71 27 74", "agent_id": "agent-007", "direction": "outbound",
		"started_at": "2026-11-27T06:00:00Z", "ended_at": "2026-11-27T06:02:00Z", "transcript_format": "srt"} {
		w.WriteField(k, v)
	}
	fw, _ := w.CreateFormFile("transcript", "appel.srt")
	io.WriteString(fw, "1\n00:00:00,000 --> 00:00:02,000\nAgent: Métropole bonjour\n\n2\n00:00:02,500 --> 00:00:05,000\nAppelant: mon bac est cassé\n")
	w.Close()
	resp, err := http.Post(b.srv.URL+"/api/v1/calls", w.FormDataContentType(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || out["request_id"] == nil {
		t.Fatalf("multipart call: %d %v", resp.StatusCode, out)
	}
	if n := testkit.StreamMsgs(t, b.conn, bus.StreamRequests); n != 2 {
		t.Fatalf("%d requests published, want 2", n)
	}
}

func TestPostCallsBadInput(t *testing.T) {
	b := setup(t)
	tests := []struct {
		name, body string
		code       int
		says       string
	}{
		{"broken JSON", `{"call_id": `, 400, "JSON"},
		{"unknown field", `{"call_id": "x", "colour": "blue"}`, 400, "colour"},
		{"bad date", strings.Replace(callJSON("d-1", `{"format": "text", "content": "Appelant: allo"}`), "2026-11-27T09:00:00+01:00", "hier", 1), 400, "started_at"},
		{"unknown format", callJSON("f-1", `{"format": "docx", "content": "x"}`), 400, "docx"},
		{"broken transcript JSON", callJSON("f-2", `{"format": "transcribe", "content": "{\"results\": "}`), 400, "JSON"},
		{"caller number not a number", strings.Replace(callJSON("n-1", `{"format": "text", "content": "Appelant: allo"}`), "+33465712774", "bonjour", 1), 400, "caller_number"},
		{"50 MB transcript", callJSON("big-1", `{"format": "text", "content": "`+strings.Repeat("a", 50<<20)+`"}`), 413, "trop volumineux"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := do(t, "POST", b.srv.URL+"/api/v1/calls", tt.body)
			msg, _ := body["error"].(string)
			if code != tt.code || !strings.Contains(msg, tt.says) {
				t.Fatalf("%d %q, want %d mentioning %q", code, msg, tt.code, tt.says)
			}
		})
	}
	if n := testkit.StreamMsgs(t, b.conn, bus.StreamRequests); n != 0 {
		t.Fatalf("%d requests published from bad calls", n)
	}
}

// TestPostCallsEveryFormat posts each sample transcript of the parsers'
// test data, as telephony would, with the format left to detection.
func TestPostCallsEveryFormat(t *testing.T) {
	b := setup(t)
	files, err := filepath.Glob("../../channels/phone/transcript/testdata/*.*")
	if err != nil {
		t.Fatal(err)
	}
	formats := map[string]bool{}
	n := 0
	for _, f := range files {
		if strings.Contains(f, ".golden.") {
			continue
		}
		content, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		n++
		quoted, _ := json.Marshal(string(content))
		code, body := do(t, "POST", b.srv.URL+"/api/v1/calls", callJSON(fmt.Sprintf("sample-%d", n), `{"content": `+string(quoted)+`}`))
		if code != http.StatusAccepted {
			t.Errorf("%s: %d %v", filepath.Base(f), code, body)
			continue
		}
		formats[strings.SplitN(filepath.Base(f), "_", 2)[0]] = true
	}
	for _, want := range []string{"vtt", "srt", "whisper", "transcribe", "google", "text"} {
		if !formats[want] {
			t.Errorf("no %s sample accepted", want)
		}
	}
	if got := testkit.StreamMsgs(t, b.conn, bus.StreamRequests); got != uint64(n) {
		t.Errorf("%d requests published for %d calls", got, n)
	}
}
