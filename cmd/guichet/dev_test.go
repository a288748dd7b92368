package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ampmetropole/guichet/services/testkit"
)

func TestMain(m *testing.M) {
	// guichet bench runs Guichet in a process of its own, this executable:
	// under go test, this binary, which then runs the command.
	if os.Getenv("GUICHET_RUN_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	testkit.Main(m)
}

// syncBuffer is a bytes.Buffer safe to read while the command writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDevRunsEverything runs `guichet dev` as a user would, posts a request,
// reads its case, stops with the equivalent of Ctrl-C and checks PostgreSQL
// stopped with it.
func TestDevRunsEverything(t *testing.T) {
	dir, err := os.MkdirTemp("", "guichet-dev-test-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o711) // the unprivileged PostgreSQL user must enter it when we are root
	t.Cleanup(func() { os.RemoveAll(dir) })
	t.Setenv("DATABASE_URL", "")
	t.Setenv("NATS_URL", "")
	t.Setenv("GUICHET_SECRET", "")
	const devToken = "jeton-de-developpement-du-test"
	t.Setenv("GUICHET_DEV_TOKEN", devToken)
	t.Setenv("GUICHET_DRAIN", "0s")
	t.Setenv("GUICHET_GEOCODER_URL", banServer(t)+"/reverse/")

	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- runDev(ctx, []string{"--data", dir, "--addr", "127.0.0.1:0", "--nats-port", "0"}, &stdout, &stderr)
	}()
	urlRe := regexp.MustCompile(`API\s+(http://\S+)/api/v1/requests`)
	var base string
	testkit.Eventually(t, 60*time.Second, "guichet dev to print its URLs", func() bool {
		select {
		case err := <-done:
			t.Fatalf("guichet dev ended early: %v\n%s", err, stderr.String())
		default:
		}
		if m := urlRe.FindStringSubmatch(stdout.String()); m != nil {
			base = m[1]
			return true
		}
		return false
	})
	pgURL := regexp.MustCompile(`PostgreSQL\s+(\S+)`).FindStringSubmatch(stdout.String())
	if pgURL == nil || strings.Contains(stdout.String(), readSecret(t, dir+"/postgres/password")) {
		t.Fatalf("PostgreSQL URL missing or password shown:\n%s", stdout.String())
	}

	body := `{"channel": "web", "body": "Lampadaire éteint avenue Victor Hugo", "location": {"postal_code": "13100"},
	          "hints": {"competence": "eclairage"}, "citizen": {"email": "karim@example.org"}}`
	// Another system's intake needs a credential: without one, 401.
	if resp, err := http.Post(base+"/api/v1/requests", "application/json", strings.NewReader(body)); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("POST without a token: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	post, _ := http.NewRequest("POST", base+"/api/v1/requests", strings.NewReader(body))
	post.Header.Set("Authorization", "Bearer "+devToken)
	resp, err := http.DefaultClient.Do(post)
	if err != nil {
		t.Fatal(err)
	}
	var receipt struct {
		ID           string `json:"id"`
		TrackingCode string `json:"tracking_code"`
	}
	json.NewDecoder(resp.Body).Decode(&receipt)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || receipt.TrackingCode == "" {
		t.Fatalf("POST: %d %+v", resp.StatusCode, receipt)
	}
	var ref string
	testkit.Eventually(t, 10*time.Second, "case created", func() bool {
		get, _ := http.NewRequest("GET", base+"/api/v1/requests/"+receipt.ID, nil)
		get.Header.Set("Authorization", "Bearer "+devToken)
		resp, err := http.DefaultClient.Do(get)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var st struct {
			Status  string
			CaseRef *string `json:"case_ref"`
		}
		json.NewDecoder(resp.Body).Decode(&st)
		if st.Status == "routed" && st.CaseRef != nil {
			ref = *st.CaseRef
			return true
		}
		return false
	})
	// People's work needs authentication: the development token is an admin.
	if resp, err := http.Get(base + "/api/v1/cases/" + ref); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("case without a token: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	get, _ := http.NewRequest("GET", base+"/api/v1/cases/"+ref, nil)
	get.Header.Set("Authorization", "Bearer "+devToken)
	resp, err = http.DefaultClient.Do(get)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(raw, []byte(`"competence":"eclairage"`)) || !bytes.Contains(raw, []byte(`"territory":"pays-d-aix"`)) {
		t.Fatalf("case: %d %s", resp.StatusCode, raw)
	}

	// The citizen pages (the form with its map) and the development outbox
	// are served too, and the acknowledgement of the request above was
	// "sent" there.
	checkFormMap(t, base)
	testkit.Eventually(t, 10*time.Second, "acknowledgement in the outbox page", func() bool {
		resp, err := http.Get(base + "/courriels")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		page, _ := io.ReadAll(resp.Body)
		return bytes.Contains(page, []byte("karim@example.org")) && bytes.Contains(page, []byte(receipt.TrackingCode))
	})
	checkSpace(t, base, "karim@example.org", receipt.TrackingCode)
	// A citizen who gave only a mobile gets the receipt by SMS, written to
	// the outbox of SMS and shown on the same page.
	post, _ = http.NewRequest("POST", base+"/api/v1/requests", strings.NewReader(`{"channel": "web", "body": "Bac cassé rue Paradis",
		"hints": {"competence": "dechets"}, "citizen": {"phone": "+33687654321", "preferred_reply_channel": "phone"}}`))
	post.Header.Set("Authorization", "Bearer "+devToken)
	resp, err = http.DefaultClient.Do(post)
	if err != nil {
		t.Fatal(err)
	}
	var smsReceipt struct {
		TrackingCode string `json:"tracking_code"`
	}
	raw, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err := json.Unmarshal(raw, &smsReceipt); err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST with a mobile: %d %s", resp.StatusCode, raw)
	}
	testkit.Eventually(t, 10*time.Second, "SMS receipt in the outbox page", func() bool {
		resp, err := http.Get(base + "/courriels")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		page, _ := io.ReadAll(resp.Body)
		return smsReceipt.TrackingCode != "" && bytes.Contains(page, []byte("&#43;33687654321")) && bytes.Contains(page, []byte(smsReceipt.TrackingCode))
	})

	// The demo accounts are printed; the mailroom's signs in and opens its page.
	m := regexp.MustCompile(`courrier-01\s+(\S+)`).FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("demo accounts not printed:\n%s", stdout.String())
	}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err = client.PostForm(base+"/bo/connexion", url.Values{"identifiant": {"courrier-01"}, "mot_de_passe": {m[1]}, "retour": {"/courrier"}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/courrier" || !bytes.Contains(page, []byte("Courrier entrant")) {
		t.Fatalf("sign-in then /courrier: %d %s\n%s", resp.StatusCode, resp.Request.URL, page)
	}
	if resp, err := client.Get(base + "/courrier/accuses"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the mailroom's letters to post: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	if resp, err := client.Get(base + "/agent"); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("the mailroom on the agent console: %v %v", resp, err)
	}

	cancel() // Ctrl-C
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("guichet dev: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("guichet dev did not stop")
	}
	// PostgreSQL went with it.
	pctx, pcancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer pcancel()
	password := readSecret(t, dir+"/postgres/password")
	url := strings.Replace(pgURL[1], "***", password, 1)
	if conn, err := pgx.Connect(pctx, url); err == nil {
		conn.Close(pctx)
		t.Fatal("PostgreSQL still answers after guichet dev stopped")
	}
}

func readSecret(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestServeRefusesMissingConfiguration(t *testing.T) {
	t.Setenv("NATS_URL", "")
	t.Setenv("DATABASE_URL", "")
	var stderr bytes.Buffer
	code := run([]string{"serve", "api"}, io.Discard, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), "NATS_URL") || !strings.Contains(stderr.String(), "DATABASE_URL") {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	stderr.Reset()
	if code := run([]string{"serve", "frobnicate"}, io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), "service inconnu") {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	stderr.Reset()
	t.Setenv("GUICHET_ROUTER_WORKERS", "beaucoup")
	if code := run([]string{"dev"}, io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), "GUICHET_ROUTER_WORKERS") {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
}

func TestRedact(t *testing.T) {
	if got := redact("postgres://guichet:s3cret@127.0.0.1:5432/guichet?sslmode=disable"); strings.Contains(got, "s3cret") {
		t.Fatalf("password shown: %s", got)
	}
}
