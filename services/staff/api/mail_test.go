package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/channels/mail/mailroom"
	"github.com/ampmetropole/guichet/services/channels/mail/scan"
	"github.com/ampmetropole/guichet/services/intake/attachment"
	"github.com/ampmetropole/guichet/services/language/extract"
	"github.com/ampmetropole/guichet/services/staff/api"
	"github.com/ampmetropole/guichet/services/testkit"
	"github.com/ampmetropole/guichet/services/testkit/scanimg"
	"github.com/ampmetropole/guichet/services/testkit/stack"
)

func postScan(t *testing.T, url string, data []byte, withFile bool) (int, map[string]any) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	w.WriteField("operator_id", "courrier-01")
	if withFile {
		fw, _ := w.CreateFormFile("scan", "lettre.pdf")
		fw.Write(data)
	}
	w.Close()
	resp, err := http.Post(url+"/api/v1/mail/scans", w.FormDataContentType(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestPostScan(t *testing.T) {
	b := setup(t)
	pdf := testkit.TextPDF([]string{"Marcel Giraud", "3 rue Jean Jaures", "13120 Gardanne", "", "Objet : Bac jaune casse", "", "Madame, Monsieur,", "Mon bac jaune est casse."})
	code, body := postScan(t, b.srv.URL, pdf, true)
	if code != http.StatusAccepted || body["request_id"] == nil || body["text_method"] != "text_layer" || body["subject"] != "Bac jaune casse" {
		t.Fatalf("scan: %d %v", code, body)
	}
	// The mailroom's feed lists it, with its text and, once routed, its case.
	testkit.Eventually(t, 10*time.Second, "letter routed in the feed", func() bool {
		code, feed := do(t, "GET", b.srv.URL+"/api/v1/mail/letters", "")
		letters, _ := feed["letters"].([]any)
		if code != 200 || len(letters) != 1 {
			return false
		}
		l := letters[0].(map[string]any)
		return l["request_id"] == body["request_id"] && l["status"] == "routed" && l["case_ref"] != nil &&
			strings.Contains(l["ocr_text"].(string), "bac jaune") && l["ocr_confidence"] == 1.0 && strings.HasPrefix(l["message_id"].(string), "upload:")
	})
	// The same file uploaded again the same day is the same letter.
	if code, again := postScan(t, b.srv.URL, pdf, true); code != http.StatusAccepted || again["request_id"] != body["request_id"] || again["duplicate"] != true {
		t.Errorf("second upload: %d %v", code, again)
	}
	if code, _ := do(t, "GET", b.srv.URL+"/api/v1/mail/letters?limit=0", ""); code != 400 {
		t.Errorf("limit=0: %d", code)
	}
	if code, body := postScan(t, b.srv.URL, nil, false); code != 400 || !strings.Contains(body["error"].(string), "scan") {
		t.Fatalf("no file: %d %v", code, body)
	}
	if code, body := postScan(t, b.srv.URL, []byte("pas un scan"), true); code != 400 {
		t.Fatalf("garbage: %d %v", code, body)
	}
}

func TestCorrectLetter(t *testing.T) {
	b := setup(t)
	pdf := testkit.TextPDF([]string{"Marcel Giraud", "3 rue Jean Jaures", "I312O Gardanne", "", "0bjet : Bac jaune casse", "", "Mon bac jaune est casse."})
	code, scanned := postScan(t, b.srv.URL, pdf, true)
	if code != http.StatusAccepted {
		t.Fatalf("scan: %d %v", code, scanned)
	}
	id := scanned["request_id"].(string)
	url := b.srv.URL + "/api/v1/mail/letters/" + id + "/correction"
	code, fixed := do(t, "POST", url, `{"text": "Marcel Giraud\n3 rue Jean Jaurès\n13120 Gardanne\n\nObjet : Bac jaune cassé\n\nMon bac jaune est cassé.", "operator_id": "courrier-01"}`)
	if code != http.StatusAccepted || fixed["supersedes"] != id || fixed["subject"] != "Bac jaune cassé" || fixed["request_id"] == id {
		t.Fatalf("correction: %d %v", code, fixed)
	}
	// The feed shows the first letter replaced and the corrected one routed.
	testkit.Eventually(t, 10*time.Second, "correction in the feed", func() bool {
		_, feed := do(t, "GET", b.srv.URL+"/api/v1/mail/letters", "")
		letters, _ := feed["letters"].([]any)
		var replaced, routed bool
		for _, x := range letters {
			l := x.(map[string]any)
			replaced = replaced || (l["request_id"] == id && l["corrected_by"] == fixed["request_id"])
			routed = routed || (l["request_id"] == fixed["request_id"] && l["status"] == "routed" && strings.Contains(l["ocr_text"].(string), "13120 Gardanne"))
		}
		return replaced && routed
	})
	for _, tc := range []struct {
		url, body string
		code      int
	}{
		{url, `{"text": ""}`, 400},
		{url, `{"text": "x", "extra": 1}`, 400},
		{url, `{"text": 12}`, 400},
		{b.srv.URL + "/api/v1/mail/letters/pas-un-id/correction", `{"text": "x"}`, 400},
		{b.srv.URL + "/api/v1/mail/letters/0190d3a8-0000-7000-8000-000000000000/correction", `{"text": "x"}`, 404},
	} {
		if code, body := do(t, "POST", tc.url, tc.body); code != tc.code || body["error"] == nil {
			t.Errorf("%s %s: %d %v, want %d", tc.url, tc.body, code, body, tc.code)
		}
	}
}

func TestRejectedMessagesInTheFeed(t *testing.T) {
	b := setup(t)
	at := time.Now().Add(-time.Minute)
	if err := b.store.RecordMailRejection(context.Background(), casestore.MailRejection{MessageKey: "imap:INBOX:9:4", Sender: "x@example.org",
		Subject: "Scan 0004", Reason: "scan : PDF chiffré", ReceivedAt: at}); err != nil {
		t.Fatal(err)
	}
	_, feed := do(t, "GET", b.srv.URL+"/api/v1/mail/letters", "")
	letters, _ := feed["letters"].([]any)
	if len(letters) != 1 {
		t.Fatalf("feed %v", feed)
	}
	l := letters[0].(map[string]any)
	if l["status"] != "rejected" || l["reason"] != "scan : PDF chiffré" || l["request_id"] != nil || l["message_id"] != "imap:INBOX:9:4" || l["subject"] != "Scan 0004" {
		t.Errorf("rejection %v", l)
	}
}

// TestSlowScanAnsweredPending: a scan that takes longer to read than the
// pipeline waits (here a 1 MB PDF of 400 MB of drawing operators, against a
// wait of 500 ms and a reading budget of 3 s) is answered 202 "pending"
// within the wait; its refusal then shows in the mailroom's letters. While
// it holds the only upload slot, another scan is told to come back later.
func TestSlowScanAnsweredPending(t *testing.T) {
	st := stack.New(t, stack.Options{})
	reader, err := scan.New(scan.Limits{Budget: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	files, err := attachment.NewStore(context.Background(), st.Conn.JS)
	if err != nil {
		t.Fatal(err)
	}
	mail := mailroom.New(reader, files, st.Intake, extract.New(st.Places))
	mail.SetUploads(mailroom.UploadConfig{Wait: 500 * time.Millisecond, MaxInFlight: 1, Rejections: st.Store, Log: testkit.Logger(t)})
	t.Cleanup(mail.Stop)
	h, err := api.New(api.Deps{Intake: st.Intake, Store: st.Store, Mail: mail, Letters: st.Store, Guard: st.Auth,
		Gatherer: st.Registry, Log: testkit.Logger(t)}, st.Registry)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(stack.AsBearer(st.Token(t, "admin", nil, nil), st.Auth.Middleware(h)))
	t.Cleanup(srv.Close)

	bomb := scanimg.DrawingBomb(400 << 20)
	start := time.Now()
	code, body := postScan(t, srv.URL, bomb, true)
	if elapsed := time.Since(start); code != http.StatusAccepted || body["status"] != "pending" || body["request_id"] == nil || elapsed > 3*time.Second {
		t.Fatalf("bomb: %d %v after %v, want 202 pending within the wait", code, body, elapsed)
	}
	resp, out := postScanResponse(t, srv.URL, testkit.TextPDF([]string{"Objet : Bac jaune casse"}))
	if msg, _ := out["error"].(string); resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(msg, "trop de scans") {
		t.Errorf("scan beyond the uploads at work: %d %v", resp.StatusCode, out)
	}
	sum := sha256.Sum256(bomb)
	testkit.Eventually(t, 15*time.Second, "bomb refused in the feed", func() bool {
		_, feed := do(t, "GET", srv.URL+"/api/v1/mail/letters", "")
		letters, _ := feed["letters"].([]any)
		for _, x := range letters {
			l := x.(map[string]any)
			if l["status"] == "rejected" && l["message_id"] == "upload:"+hex.EncodeToString(sum[:]) {
				reason, _ := l["reason"].(string)
				return strings.Contains(reason, "lecture interrompue, le fichier demande trop de calcul ou de mémoire")
			}
		}
		return false
	})
	// Once the bomb is refused, its slot is free again.
	testkit.Eventually(t, 10*time.Second, "slot freed", func() bool {
		code, body = postScan(t, srv.URL, testkit.TextPDF([]string{"Objet : Bac jaune casse", "", "Mon bac jaune est casse depuis mardi."}), true)
		return code == http.StatusAccepted
	})
	if body["status"] != "read" || body["text_method"] != "text_layer" {
		t.Errorf("scan read at once: %v", body)
	}
}

// postScanResponse posts a scan and returns the answer with its headers.
func postScanResponse(t *testing.T, url string, data []byte) (*http.Response, map[string]any) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	fw, _ := w.CreateFormFile("scan", "lettre.pdf")
	fw.Write(data)
	w.Close()
	resp, err := http.Post(url+"/api/v1/mail/scans", w.FormDataContentType(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp, out
}
