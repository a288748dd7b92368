package api_test

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/services/testkit"
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
