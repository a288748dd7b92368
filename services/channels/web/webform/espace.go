package webform

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/platform/mailer"
	"github.com/ampmetropole/guichet/services/platform/ratelimit"
	"github.com/ampmetropole/guichet/services/platform/sms"
)

// "Mes demandes", a citizen's space: the list of a person's requests on
// every channel, for someone who proved an e-mail address or a mobile
// number by a one-time link sent there (espace_lien.go), or whom
// FranceConnect vouched for (espace_franceconnect.go). Which requests are a
// person's is the case store's rule (casestore.CitizenThreads): those that
// carry what they proved, each linked to its status page.
//
// The session is kept in the database; the cookie holds a random token
// whose SHA-256 names it. It ends after Idle without use, at Lifetime in
// any case, and on sign-out (a POST, refused cross-site like every POST of
// these pages).

// SpaceStore is what "Mes demandes" keeps and reads (casestore.Store).
type SpaceStore interface {
	IssueSignInLink(ctx context.Context, l casestore.SignInLink, lim casestore.LinkLimit) error
	SignInLinkFor(ctx context.Context, tokenHash []byte) (casestore.SignInLink, error)
	UseSignInLink(ctx context.Context, tokenHash []byte) (casestore.SignInLink, error)
	OpenCitizenSession(ctx context.Context, s casestore.CitizenSession, lifetime time.Duration, replaces []byte) error
	CitizenSession(ctx context.Context, id []byte, idle time.Duration) (casestore.CitizenSession, error)
	CloseCitizenSession(ctx context.Context, id []byte) (casestore.CitizenSession, error)
	CitizenThreads(ctx context.Context, who casestore.CitizenIdentity, limit int) ([]casestore.CitizenThread, bool, error)
}

// Mailer sends an e-mail: SMTP, or the development outbox.
type Mailer interface {
	Send(ctx context.Context, m mailer.Message) error
}

// SMSSender sends a text message: SMPP, or the development outbox.
type SMSSender interface {
	Send(ctx context.Context, m sms.Message) error
}

// SpaceConfig tunes "Mes demandes"; zero values take the defaults.
type SpaceConfig struct {
	LinksPerAddress int           // links sent to one address per LinkWindow; default 3
	LinksPerClient  int           // links asked for by one client address per LinkWindow; default 10
	LinkWindow      time.Duration // default 15 minutes
	LinkTTL         time.Duration // how long a link is good; default 15 minutes
	Idle            time.Duration // a session unused this long ends; default 30 minutes
	Lifetime        time.Duration // a session ends this long after sign-in in any case; default 4 hours
	// FranceConnect, when set, offers sign-in with FranceConnect.
	FranceConnect *FranceConnectConfig
}

func (c *SpaceConfig) setDefaults() {
	if c.LinksPerAddress <= 0 {
		c.LinksPerAddress = 3
	}
	if c.LinksPerClient <= 0 {
		c.LinksPerClient = 10
	}
	if c.LinkWindow <= 0 {
		c.LinkWindow = 15 * time.Minute
	}
	if c.LinkTTL <= 0 {
		c.LinkTTL = 15 * time.Minute
	}
	if c.Idle <= 0 {
		c.Idle = 30 * time.Minute
	}
	if c.Lifetime <= 0 {
		c.Lifetime = 4 * time.Hour
	}
}

// Paths of "Mes demandes".
const (
	spacePath        = "/mes-demandes"
	spaceSignInPath  = spacePath + "/connexion"
	spaceSentPath    = spacePath + "/connexion/envoye"
	spaceLinkPath    = spacePath + "/lien/"
	spaceSignOutPath = spacePath + "/deconnexion"
	spaceSignedOut   = spacePath + "/deconnecte"
	spaceFCPath      = spacePath + "/franceconnect"
	spaceFCReturn    = spacePath + "/franceconnect/retour"
)

// spaceCookie names the session cookie of "Mes demandes" (path
// /mes-demandes only).
const spaceCookie = "guichet_mes_demandes"

// spaceTokenBytes are the random bytes of a link's token and of a session's.
const spaceTokenBytes = 32

// maxThreads bounds the requests one page of "Mes demandes" reads.
const maxThreads = 300

// space is the state of "Mes demandes" in a handler.
type space struct {
	cfg       SpaceConfig
	store     SpaceStore
	mail      Mailer    // nil: no link by e-mail
	sms       SMSSender // nil: no link by SMS
	publicURL string    // without its final slash
	secure    bool      // cookies only over HTTPS (but in development on loopback)
	clients   *ratelimit.Keyed
	fc        *franceConnect // nil without FranceConnect
}

// mountSpace serves "Mes demandes" when the handler has its store.
func (h *Handler) mountSpace(mux *http.ServeMux) error {
	if h.deps.Space == nil {
		return nil
	}
	cfg := h.cfg.Space
	cfg.setDefaults()
	public := strings.TrimRight(h.cfg.PublicURL, "/")
	if !strings.HasPrefix(public, "https://") && !strings.HasPrefix(public, "http://") {
		return errors.New("webform: « Mes demandes » needs the site's public URL (http:// or https://) to write its links")
	}
	h.space = &space{cfg: cfg, store: h.deps.Space, mail: h.deps.Mail, sms: h.deps.SMS, publicURL: public,
		secure: !loopbackHTTP(public), clients: ratelimit.New(cfg.LinksPerClient, cfg.LinkWindow)}
	if cfg.FranceConnect != nil {
		fc, err := newFranceConnect(*cfg.FranceConnect, h.cfg.Secret, public)
		if err != nil {
			return err
		}
		h.space.fc = fc
	}
	mux.HandleFunc("GET "+spacePath, h.showSpace)
	mux.HandleFunc("GET "+spaceSignInPath, h.showSpaceSignIn)
	mux.HandleFunc("POST "+spaceSignInPath, h.sendSpaceLink)
	mux.HandleFunc("GET "+spaceSentPath, h.showSpaceLinkSent)
	mux.HandleFunc("GET "+spaceLinkPath+"{token}", h.showSpaceLink)
	mux.HandleFunc("POST "+spaceLinkPath+"{token}", h.useSpaceLink)
	mux.HandleFunc("POST "+spaceSignOutPath, h.signOutOfSpace)
	mux.HandleFunc("GET "+spaceSignedOut, h.showSpaceSignedOut)
	mux.HandleFunc("GET "+spaceFCPath, h.startFranceConnect)
	mux.HandleFunc("GET "+spaceFCReturn, h.franceConnectReturn)
	return nil
}

// newSpaceToken returns 32 random bytes, base64url-encoded, and their
// SHA-256, which is all the database keeps.
func newSpaceToken() (token string, hash []byte) {
	raw := make([]byte, spaceTokenBytes)
	_, _ = rand.Read(raw) // never fails since Go 1.24
	sum := sha256.Sum256(raw)
	return base64.RawURLEncoding.EncodeToString(raw), sum[:]
}

// spaceTokenHash reads a token (of a link or a cookie): 43 characters of
// base64url for 32 bytes. It returns its SHA-256.
func spaceTokenHash(v string) ([]byte, bool) {
	if len(v) != base64.RawURLEncoding.EncodedLen(spaceTokenBytes) {
		return nil, false
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(v)
	if err != nil || len(raw) != spaceTokenBytes {
		return nil, false
	}
	sum := sha256.Sum256(raw)
	return sum[:], true
}

// session returns the open session of the request's cookie, if any. A
// cookie that names no open session (tampered, expired, signed out) is
// cleared. ok is false with a nil error when there is none; err is set
// when the store could not say.
func (h *Handler) session(w http.ResponseWriter, r *http.Request) (casestore.CitizenSession, bool, error) {
	c, err := r.Cookie(spaceCookie)
	if err != nil {
		return casestore.CitizenSession{}, false, nil
	}
	id, ok := spaceTokenHash(c.Value)
	if !ok {
		h.clearSpaceCookie(w)
		return casestore.CitizenSession{}, false, nil
	}
	sess, err := h.space.store.CitizenSession(r.Context(), id, h.space.cfg.Idle)
	if fault.KindOf(err) == fault.NotFound {
		h.clearSpaceCookie(w)
		return sess, false, nil
	}
	if err != nil {
		return sess, false, err
	}
	return sess, true, nil
}

// openSession signs the browser in with what it just proved. A session
// already open in the browser is replaced by one holding both, when the
// new proof is of the other kind (an e-mail address, then a mobile number)
// or the same; otherwise the new session holds the new proof only.
func (h *Handler) openSession(w http.ResponseWriter, r *http.Request, proved casestore.CitizenIdentity, idToken string) error {
	next := casestore.CitizenSession{CitizenIdentity: proved, IDToken: idToken}
	var replaces []byte
	if cur, ok, err := h.session(w, r); err != nil {
		return err
	} else if ok {
		replaces = cur.ID
		compatible := (proved.Email == "" || cur.Email == "" || proved.Email == cur.Email) &&
			(proved.Phone == "" || cur.Phone == "" || proved.Phone == cur.Phone)
		if compatible {
			if next.Email == "" {
				next.Email = cur.Email
			}
			if next.Phone == "" {
				next.Phone = cur.Phone
			}
			if next.IDToken == "" {
				next.IDToken = cur.IDToken
			}
		}
	}
	token, id := newSpaceToken()
	next.ID = id
	if err := h.space.store.OpenCitizenSession(r.Context(), next, h.space.cfg.Lifetime, replaces); err != nil {
		return err
	}
	// A session cookie: it goes with the browser, and the server ends the
	// session sooner (idle, lifetime) whatever the browser keeps.
	http.SetCookie(w, &http.Cookie{Name: spaceCookie, Value: token, Path: spacePath, HttpOnly: true,
		Secure: h.space.secure, SameSite: http.SameSiteLaxMode})
	return nil
}

func (h *Handler) clearSpaceCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: spaceCookie, Value: "", Path: spacePath, MaxAge: -1, HttpOnly: true,
		Secure: h.space.secure, SameSite: http.SameSiteLaxMode})
}

// spacePage is the list of a person's requests.
type spacePage struct {
	Title     string
	Email     string // what the person proved, as written to them
	Phone     string
	Items     []spaceItem
	More      bool // more requests than the page shows
	AddPhone  bool // a mobile number may still be proved (SMS available)
	AddEmail  bool // an e-mail address may still be proved
	Welcome   bool // just signed in
	FCSession bool // signed in with FranceConnect
}

func (h *Handler) showSpace(w http.ResponseWriter, r *http.Request) {
	sess, ok, err := h.session(w, r)
	if err != nil {
		h.unavailable(w, r, err)
		return
	}
	if !ok {
		http.Redirect(w, r, spaceSignInPath, http.StatusSeeOther)
		return
	}
	threads, more, err := h.space.store.CitizenThreads(r.Context(), sess.CitizenIdentity, maxThreads)
	if err != nil {
		h.unavailable(w, r, err)
		return
	}
	page := spacePage{Title: "Mes demandes", Email: sess.Email, Phone: displayPhone(sess.Phone), More: more,
		AddPhone: sess.Phone == "" && h.space.sms != nil, AddEmail: sess.Email == "" && h.space.mail != nil,
		Welcome: r.URL.Query().Get("bienvenue") != "", FCSession: sess.IDToken != ""}
	for _, t := range threads {
		page.Items = append(page.Items, spaceItem{CitizenThread: t, Title: threadTitle(t)})
	}
	if sess.IDToken != "" && h.space.fc != nil {
		// Signing out goes on to FranceConnect's logout: the sign-out form
		// may lead there (a form's redirects are held to form-action).
		if origin := h.space.fc.endSessionOrigin(r.Context()); origin != "" {
			hd := w.Header()
			hd.Set("Content-Security-Policy", strings.Replace(hd.Get("Content-Security-Policy"), "form-action 'self'", "form-action 'self' "+origin, 1))
		}
	}
	h.render(w, r, http.StatusOK, "espace", page)
}

// spaceItem is one thread in the list, with what it is called.
type spaceItem struct {
	casestore.CitizenThread
	Title string
}

// threadTitle is a thread's subject, else the start of its text (a call
// has no subject), else what it is.
func threadTitle(t casestore.CitizenThread) string {
	if s := strings.TrimSpace(t.Subject); s != "" {
		return s
	}
	text := strings.Join(strings.Fields(t.Excerpt), " ")
	if text == "" {
		return "Demande " + t.Code
	}
	const most = 80
	if r := []rune(text); len(r) > most {
		cut := string(r[:most])
		if i := strings.LastIndexByte(cut, ' '); i > most/2 {
			cut = cut[:i]
		}
		text = cut + "…"
	}
	return text
}

// signOutOfSpace ends the session; one opened with FranceConnect goes on
// to FranceConnect's logout, which comes back to the signed-out page.
func (h *Handler) signOutOfSpace(w http.ResponseWriter, r *http.Request) {
	var ended casestore.CitizenSession
	if c, err := r.Cookie(spaceCookie); err == nil {
		if id, ok := spaceTokenHash(c.Value); ok {
			ended, err = h.space.store.CloseCitizenSession(r.Context(), id)
			if err != nil && fault.KindOf(err) != fault.NotFound {
				h.unavailable(w, r, err)
				return
			}
		}
	}
	h.clearSpaceCookie(w)
	if ended.IDToken != "" && h.space.fc != nil {
		if u, err := h.space.fc.logoutURL(r.Context(), ended.IDToken); err == nil && u != "" {
			http.Redirect(w, r, u, http.StatusSeeOther)
			return
		} else if err != nil {
			h.deps.Log.Warn("franceconnect: logout not offered", "err", err)
		}
	}
	http.Redirect(w, r, spaceSignedOut, http.StatusSeeOther)
}

func (h *Handler) showSpaceSignedOut(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "espace_message", spaceMessage{Title: "Vous êtes déconnecté(e)",
		Text:   "Vous êtes déconnecté(e) de « Mes demandes ». Sur un ordinateur partagé, fermez aussi le navigateur.",
		Status: true, Link: spaceSignInPath, LinkText: "Se connecter à nouveau"})
}

// spaceMessage is a page of "Mes demandes" that only says something.
type spaceMessage struct {
	Title    string
	Text     string
	Status   bool // good news (a status), not an error (an alert)
	Link     string
	LinkText string
}

// spaceRefusal answers with a page of "Mes demandes" that says what went
// wrong.
func (h *Handler) spaceRefusal(w http.ResponseWriter, r *http.Request, status int, title, text string) {
	h.render(w, r, status, "espace_message", spaceMessage{Title: title, Text: text, Link: spaceSignInPath, LinkText: "Revenir à la connexion"})
}

// clientAddr is the client's address, behind trusted proxies.
func (h *Handler) clientAddr(r *http.Request) string {
	if h.cfg.ClientIP != nil {
		return h.cfg.ClientIP(r)
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// loopbackHTTP says whether the site is served over plain HTTP on this
// machine (development), the one case where its cookies cannot be Secure;
// as the staff's sign-in decides.
func loopbackHTTP(publicURL string) bool {
	u, err := url.Parse(publicURL)
	if err != nil || u.Scheme != "http" {
		return false
	}
	if u.Hostname() == "localhost" {
		return true
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback()
}

// displayPhone writes an E.164 number as people read it: "06 39 98 14 27"
// in France, the international form elsewhere.
func displayPhone(e164 string) string {
	if e164 == "" {
		return ""
	}
	n, err := phonenumbers.Parse(e164, "FR")
	if err != nil {
		return e164
	}
	if n.GetCountryCode() == 33 {
		return phonenumbers.Format(n, phonenumbers.NATIONAL)
	}
	return phonenumbers.Format(n, phonenumbers.INTERNATIONAL)
}

// maskedAddress writes where a link went without writing it whole, for a
// page anyone holding the link may open: "l•••@example.net",
// "06 •• •• •• 27".
func maskedAddress(l casestore.SignInLink) string {
	if l.Kind == casestore.LinkByPhone {
		d := displayPhone(l.Address)
		if len(d) < 4 {
			return d
		}
		var b strings.Builder
		for i, r := range d {
			if i < 2 || i >= len(d)-2 || r == ' ' || r == '+' {
				b.WriteRune(r)
			} else {
				b.WriteString("•")
			}
		}
		return b.String()
	}
	local, domain, ok := strings.Cut(l.Address, "@")
	if !ok || local == "" {
		return "•••"
	}
	first := []rune(local)[0]
	return fmt.Sprintf("%c•••@%s", first, domain)
}
