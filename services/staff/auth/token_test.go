package auth_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/staff/auth"
)

// bearer calls path on srv with an Authorization header.
func bearer(t *testing.T, srv string, method, path, token string) response {
	t.Helper()
	req, _ := http.NewRequest(method, srv+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return do(t, browser(t), req)
}

func TestBearerTokens(t *testing.T) {
	t.Parallel()
	svc, b := setup(t)
	srv := server(t, svc, func(mux *http.ServeMux) {
		mux.Handle("GET /api/v1/moi", svc.RequireAPI(auth.PermCaseRead)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, _ := auth.FromContext(r.Context())
			json.NewEncoder(w).Encode(map[string]any{"kind": p.Kind, "name": p.Name, "role": p.Role, "id": p.ID,
				"competences": p.Competences, "territories": p.Territories})
		})))
	})
	admin := auth.Principal{Kind: auth.KindAccount, ID: "1", Name: "admin.guichet", Role: auth.RoleAdmin}
	ctx := auth.WithPrincipal(context.Background(), admin)

	tok, err := svc.CreateToken(ctx, "Telephonie", auth.RoleTeam, []string{"voirie", "voirie", " eau_assainissement"}, []string{"pays-d-aix"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, "gch_") || len(tok) != 47 {
		t.Fatalf("token %q", tok)
	}
	r := bearer(t, srv.URL, "GET", "/api/v1/moi", tok)
	if r.code != 200 {
		t.Fatalf("valid token: %d %s", r.code, r.body)
	}
	var got struct {
		Kind, Name, Role, ID     string
		Competences, Territories []string
	}
	json.Unmarshal([]byte(r.body), &got)
	if got.Kind != "token" || got.Name != "telephonie" || got.Role != auth.RoleTeam || !strings.HasPrefix(got.ID, "tok-") ||
		!slices.Equal(got.Competences, []string{"eau_assainissement", "voirie"}) || !slices.Equal(got.Territories, []string{"pays-d-aix"}) {
		t.Fatalf("principal %+v", got)
	}
	// Only the token's hash is stored.
	raw, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(tok, "gch_"))
	sum := sha256.Sum256(raw)
	var createdBy string
	if err := b.pool.QueryRow(ctx, `SELECT created_by FROM api_tokens WHERE id = $1`, sum[:]).Scan(&createdBy); err != nil || createdBy != "admin.guichet" {
		t.Fatalf("token row by hash: %q %v", createdBy, err)
	}

	// One unrevoked token per name.
	_, err = svc.CreateToken(ctx, "telephonie", auth.RoleAgent, nil, nil, 0)
	wantKind(t, err, fault.Conflict)
	for _, bad := range []struct{ name, role string }{{"x", auth.RoleAgent}, {"avec espace", auth.RoleAgent}, {"robot", "root"}, {"equipe", auth.RoleTeam}} {
		_, err := svc.CreateToken(ctx, bad.name, bad.role, nil, nil, 0)
		wantKind(t, err, fault.Invalid)
	}
	_, err = svc.CreateToken(ctx, "negatif", auth.RoleAgent, nil, nil, -time.Hour)
	wantKind(t, err, fault.Invalid)

	// Wrong, malformed and missing tokens: 401 with the Bearer challenge.
	for _, tt := range []struct{ token, challenge string }{
		{"", `Bearer realm="guichet"`},
		{"gch_" + strings.Repeat("A", 43), `Bearer realm="guichet", error="invalid_token"`},
		{tok[:len(tok)-1], `Bearer realm="guichet", error="invalid_token"`},
		{"pas un jeton", `Bearer realm="guichet", error="invalid_token"`},
	} {
		r := bearer(t, srv.URL, "GET", "/api/v1/moi", tt.token)
		if r.code != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") != tt.challenge ||
			strings.TrimSpace(r.body) != `{"error":"authentification requise"}` {
			t.Errorf("token %q: %d %q %s", tt.token, r.code, r.header.Get("WWW-Authenticate"), r.body)
		}
	}

	// Expiry.
	short, err := svc.CreateToken(ctx, "script-import", auth.RoleAgent, nil, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if r := bearer(t, srv.URL, "GET", "/api/v1/moi", short); r.code != 200 {
		t.Fatalf("fresh token: %d", r.code)
	}
	b.clock.Advance(time.Hour)
	if r := bearer(t, srv.URL, "GET", "/api/v1/moi", short); r.code != http.StatusUnauthorized {
		t.Fatalf("expired token: %d", r.code)
	}

	// Revocation: at once; then the name is free again.
	if err := svc.RevokeToken(ctx, "telephonie"); err != nil {
		t.Fatal(err)
	}
	if r := bearer(t, srv.URL, "GET", "/api/v1/moi", tok); r.code != http.StatusUnauthorized {
		t.Fatalf("revoked token: %d", r.code)
	}
	wantKind(t, svc.RevokeToken(ctx, "telephonie"), fault.NotFound)
	if _, err := svc.CreateToken(ctx, "telephonie", auth.RoleAgent, nil, nil, 0); err != nil {
		t.Fatal(err)
	}

	tokens, err := svc.ListTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(tokens) != 3 {
		t.Fatalf("%d tokens listed, want 3", len(tokens))
	}
	revoked := 0
	for _, tk := range tokens {
		if tk.RevokedAt != nil {
			revoked++
			if tk.Name != "telephonie" || tk.ID != got.ID {
				t.Errorf("revoked token listed as %+v", tk)
			}
		}
		if tk.Name == "script-import" && (tk.ExpiresAt == nil || !tk.ExpiresAt.Equal(tk.CreatedAt.Add(time.Hour))) {
			t.Errorf("expiry listed as %v", tk.ExpiresAt)
		}
	}
	if revoked != 1 {
		t.Fatalf("%d revoked tokens listed", revoked)
	}
	if got := auditActions(t, svc, auth.AuditFilter{Action: "token."}); !slices.Equal(got, []string{"token.create", "token.revoke", "token.create", "token.create"}) {
		t.Fatalf("token audit %v", got)
	}
}

func TestDevToken(t *testing.T) {
	t.Parallel()
	const devToken = "jeton-de-developpement-local"
	svc, _ := setup(t, func(c *auth.Config) { c.DevToken = devToken })
	srv := server(t, svc, func(mux *http.ServeMux) {
		mux.Handle("GET /api/v1/admin", svc.RequireAPI(auth.PermAdminAccounts)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, _ := auth.FromContext(r.Context())
			w.Write([]byte(p.Name + " " + p.Role))
		})))
	})
	if r := bearer(t, srv.URL, "GET", "/api/v1/admin", devToken); r.code != 200 || r.body != "dev admin" {
		t.Fatalf("dev token: %d %q", r.code, r.body)
	}
	if r := bearer(t, srv.URL, "GET", "/api/v1/admin", devToken+"x"); r.code != http.StatusUnauthorized {
		t.Fatalf("almost the dev token: %d", r.code)
	}
	// Without DevToken configured, nothing is a dev token.
	svc2, _ := setup(t)
	srv2 := server(t, svc2, func(mux *http.ServeMux) {
		mux.Handle("GET /api/v1/admin", svc2.RequireAPI(auth.PermAdminAccounts)(http.NotFoundHandler()))
	})
	if r := bearer(t, srv2.URL, "GET", "/api/v1/admin", devToken); r.code != http.StatusUnauthorized {
		t.Fatalf("dev token not configured: %d", r.code)
	}
	if _, err := auth.New(auth.Config{Secret: testSecret, DevToken: "court"}, nil, nil); err == nil {
		t.Fatal("a short dev token is accepted")
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	for _, cfg := range []auth.Config{
		{Secret: "court"},
		{Secret: testSecret, PublicURL: "ftp://guichet"},
		{Secret: testSecret, Home: "https://evil.example/"},
		{Secret: testSecret, IdleTimeout: -time.Minute},
		{Secret: testSecret, OIDC: &auth.OIDCConfig{IssuerURL: "https://sso.example"}},
	} {
		if err := cfg.Validate(); err == nil {
			t.Errorf("config %+v accepted", cfg)
		}
	}
}
