package auth_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/services/staff/auth"
)

// whoami answers the login of the principal, or 401.
func whoami(mux *http.ServeMux) {
	mux.HandleFunc("GET /moi", func(w http.ResponseWriter, r *http.Request) {
		p, ok := auth.FromContext(r.Context())
		if !ok {
			http.Error(w, "personne", http.StatusUnauthorized)
			return
		}
		w.Write([]byte(p.Name))
	})
}

func TestSessionIdleAndAbsoluteExpiry(t *testing.T) {
	t.Parallel()
	svc, b := setup(t, dev)
	mustAccount(t, svc, "camille.roux", auth.RoleAgent, nil, nil)
	srv := server(t, svc, whoami)
	c := browser(t)
	signIn(t, c, srv.URL, "camille.roux")
	signedIn := func() bool {
		r := get(t, c, srv.URL+"/moi")
		return r.code == 200 && r.body == "camille.roux"
	}
	if !signedIn() {
		t.Fatal("not signed in")
	}
	// Used every 29 minutes, the session lives on: the idle timeout slides.
	for range 3 {
		b.clock.Advance(29 * time.Minute)
		if !signedIn() {
			t.Fatal("session ended while in use")
		}
	}
	// 30 minutes without use end it, and the stale cookie is cleared.
	b.clock.Advance(30 * time.Minute)
	r := get(t, c, srv.URL+"/moi")
	if r.code != http.StatusUnauthorized {
		t.Fatalf("after 30 idle minutes: %d %q", r.code, r.body)
	}
	if ck := (&http.Response{Header: r.header}).Cookies(); len(ck) != 1 || ck[0].Name != auth.SessionCookie || ck[0].MaxAge >= 0 {
		t.Fatalf("the ended session's cookie is not cleared: %v", r.header)
	}

	// However busy, a session ends 12 hours after sign-in.
	c = browser(t)
	signIn(t, c, srv.URL, "camille.roux")
	for elapsed := time.Duration(0); elapsed < 12*time.Hour-20*time.Minute; elapsed += 20 * time.Minute {
		b.clock.Advance(20 * time.Minute)
		if !signedIn() {
			t.Fatalf("session ended %v after sign-in", elapsed+20*time.Minute)
		}
	}
	b.clock.Advance(20 * time.Minute)
	if signedIn() {
		t.Fatal("session alive after 12 hours")
	}
}

func TestLogout(t *testing.T) {
	t.Parallel()
	svc, b := setup(t, dev)
	mustAccount(t, svc, "camille.roux", auth.RoleAgent, nil, nil)
	srv := server(t, svc, whoami)
	c := browser(t)
	cookie := signIn(t, c, srv.URL, "camille.roux")
	other := browser(t)
	signIn(t, other, srv.URL, "camille.roux") // another browser: another session

	req, _ := http.NewRequest(http.MethodPost, srv.URL+auth.LogoutPath, nil)
	r := do(t, c, req)
	if r.code != http.StatusSeeOther || r.header.Get("Location") != auth.LoginPath+"?deconnecte=1" {
		t.Fatalf("logout: %d %v", r.code, r.header)
	}
	if r := get(t, c, srv.URL+"/moi"); r.code != http.StatusUnauthorized {
		t.Fatalf("after logout: %d", r.code)
	}
	// The old cookie, kept by someone, no longer works: the session is gone.
	req, _ = http.NewRequest(http.MethodGet, srv.URL+"/moi", nil)
	req.AddCookie(&http.Cookie{Name: auth.SessionCookie, Value: cookie})
	if r := do(t, browser(t), req); r.code != http.StatusUnauthorized {
		t.Fatalf("old cookie after logout: %d", r.code)
	}
	if r := get(t, other, srv.URL+"/moi"); r.code != 200 {
		t.Fatalf("logout ended the other browser's session: %d", r.code)
	}
	var n int
	if err := b.pool.QueryRow(context.Background(), `SELECT count(*) FROM sessions`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d sessions left, want 1 (%v)", n, err)
	}
	if r := get(t, c, srv.URL+auth.LoginPath+"?deconnecte=1"); r.code != 200 || !strings.Contains(r.body, "Vous êtes déconnecté.") {
		t.Fatalf("page after logout: %d", r.code)
	}
	entries, err := svc.AuditLog(context.Background(), auth.AuditFilter{Action: auth.ActionLogout}, 0)
	if err != nil || len(entries) != 1 || entries[0].Actor != "camille.roux" || entries[0].IP != "127.0.0.1" {
		t.Fatalf("logout audit %+v %v", entries, err)
	}
	// Logging out without a session is no error.
	req, _ = http.NewRequest(http.MethodPost, srv.URL+auth.LogoutPath, nil)
	if r := do(t, browser(t), req); r.code != http.StatusSeeOther {
		t.Fatalf("logout without session: %d", r.code)
	}
}

// Disabling an account or changing its password ends its sessions at once.
func TestAccountChangesEndSessions(t *testing.T) {
	t.Parallel()
	svc, _ := setup(t, dev)
	mustAccount(t, svc, "camille.roux", auth.RoleAgent, nil, nil)
	srv := server(t, svc, whoami)
	ctx := context.Background()

	c := browser(t)
	signIn(t, c, srv.URL, "camille.roux")
	if err := svc.SetPassword(ctx, "camille.roux", "un tout nouveau mot de passe"); err != nil {
		t.Fatal(err)
	}
	if r := get(t, c, srv.URL+"/moi"); r.code != http.StatusUnauthorized {
		t.Fatalf("session alive after a password change: %d", r.code)
	}
	if _, err := svc.Login(ctx, "camille.roux", goodPassword); err == nil {
		t.Fatal("the old password still works")
	}
	if _, err := svc.Login(ctx, "camille.roux", "un tout nouveau mot de passe"); err != nil {
		t.Fatal(err)
	}
	if err := svc.SetPassword(ctx, "camille.roux", goodPassword); err != nil {
		t.Fatal(err)
	}

	signIn(t, c, srv.URL, "camille.roux")
	if err := svc.Disable(ctx, "camille.roux"); err != nil {
		t.Fatal(err)
	}
	if r := get(t, c, srv.URL+"/moi"); r.code != http.StatusUnauthorized {
		t.Fatalf("session alive after the account was disabled: %d", r.code)
	}
	if err := svc.Enable(ctx, "camille.roux"); err != nil {
		t.Fatal(err)
	}
	signIn(t, c, srv.URL, "camille.roux")
}
