package webform

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/citizen"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/platform/mailer"
	"github.com/ampmetropole/guichet/services/platform/sms"
	"github.com/ampmetropole/guichet/services/platform/textcheck"
)

// Sign-in to "Mes demandes" by a one-time link. The citizen types an e-mail
// address or a mobile number; a link is sent there, whether any request
// carries it or not, so that the answer (and its timing) is the same for
// an address Guichet knows and one it does not: a person with no request
// signs in to an empty list. The link's token is 32 random bytes; only
// their SHA-256 is kept. It is good for a quarter of an hour, once. Opening
// it shows a page with a button: the POST of that button uses it, so that
// the mail scanners that fetch every link of a message do not.
//
// Sending is bounded per address (3 links a quarter of an hour, counted in
// the database, so across instances) and per client address (10, in this
// process's memory, as the web form is).

// maxAddressInput bounds what the sign-in field may hold (an e-mail
// address is 254 characters at most).
const maxAddressInput = 254

// maxSpaceForm bounds the body of the sign-in forms.
const maxSpaceForm = 8 << 10

// signInPage is the sign-in page of "Mes demandes".
type signInPage struct {
	Title         string
	Address       string // as typed
	Error         string
	SMS           bool // links may be sent by SMS
	FranceConnect bool
	FCWhat        string // the page explaining FranceConnect
}

func (h *Handler) signInPage() signInPage {
	return signInPage{Title: "Mes demandes : connexion", SMS: h.space.sms != nil, FranceConnect: h.space.fc != nil,
		FCWhat: "https://franceconnect.gouv.fr/"}
}

func (h *Handler) showSpaceSignIn(w http.ResponseWriter, r *http.Request) {
	if _, ok, err := h.session(w, r); err == nil && ok {
		http.Redirect(w, r, spacePath, http.StatusSeeOther)
		return
	}
	h.render(w, r, http.StatusOK, "espace_connexion", h.signInPage())
}

// readSpaceForm reads a small urlencoded form, answering itself (413, 400)
// when it cannot.
func (h *Handler) readSpaceForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxSpaceForm)
	err := r.ParseForm()
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		h.spaceRefusal(w, r, http.StatusRequestEntityTooLarge, "Envoi trop volumineux", "Votre envoi est trop long pour être lu. Revenez à la page de connexion et réessayez.")
		return false
	case err != nil:
		h.spaceRefusal(w, r, http.StatusBadRequest, "Formulaire illisible", "Votre envoi n'a pas pu être lu. Revenez à la page de connexion et réessayez.")
		return false
	case textcheck.Values(r.PostForm) != "":
		h.spaceRefusal(w, r, http.StatusBadRequest, "Caractère non permis", "Votre envoi contient un caractère qui ne peut pas être lu (caractère nul ou encodage invalide). Retapez votre adresse e-mail ou votre numéro.")
		return false
	}
	return true
}

// readAddress checks what was typed: an e-mail address (it has an @), else
// a mobile number. It returns the link's kind and its normalized address,
// or the error to show next to the field.
func (h *Handler) readAddress(typed string) (kind, address, problem string) {
	switch {
	case typed == "":
		return "", "", "Indiquez votre adresse e-mail ou votre numéro de mobile."
	case utf8.RuneCountInString(typed) > maxAddressInput:
		return "", "", fmt.Sprintf("Ce que vous avez saisi est trop long (%d caractères, %d au plus) : indiquez une adresse e-mail ou un numéro de mobile.", utf8.RuneCountInString(typed), maxAddressInput)
	case strings.Contains(typed, "@"):
		e, err := citizen.NormalizeEmail(typed)
		if err != nil || e == "" || mailer.CheckRecipient(e) != nil {
			return "", "", "L'adresse e-mail n'est pas valide : vérifiez-la, par exemple prenom.nom@exemple.fr."
		}
		if h.space.mail == nil {
			return "", "", "L'envoi du lien par e-mail n'est pas disponible pour le moment : indiquez votre numéro de mobile, ou réessayez plus tard."
		}
		return casestore.LinkByEmail, e, ""
	default:
		p, err := citizen.NormalizePhone(typed)
		if err != nil || p == "" {
			return "", "", "Ce n'est ni une adresse e-mail ni un numéro de téléphone valable : vérifiez-le, par exemple 06 12 34 56 78 ou prenom.nom@exemple.fr."
		}
		if sms.CheckRecipient(p) != nil {
			return "", "", "Ce numéro n'est pas celui d'un mobile : le lien ne peut être envoyé que par SMS, à un mobile. Indiquez votre numéro de mobile ou votre adresse e-mail."
		}
		if h.space.sms == nil {
			return "", "", "L'envoi du lien par SMS n'est pas disponible : indiquez votre adresse e-mail."
		}
		return casestore.LinkByPhone, p, ""
	}
}

// sendSpaceLink sends a one-time link to the address typed.
func (h *Handler) sendSpaceLink(w http.ResponseWriter, r *http.Request) {
	if !h.space.clients.Allow(h.clientAddr(r), h.now()) {
		w.Header().Set("Retry-After", fmt.Sprint(int(h.space.cfg.LinkWindow.Seconds())))
		h.spaceRefusal(w, r, http.StatusTooManyRequests, "Trop de demandes de lien",
			fmt.Sprintf("Beaucoup de liens de connexion ont été demandés depuis votre connexion à internet. Patientez %d minutes avant de réessayer ; les liens déjà reçus restent valables.", int(h.space.cfg.LinkWindow.Minutes())))
		return
	}
	if !h.readSpaceForm(w, r) {
		return
	}
	page := h.signInPage()
	page.Address = strings.TrimSpace(r.PostFormValue("adresse"))
	kind, address, problem := h.readAddress(page.Address)
	if problem != "" {
		if utf8.RuneCountInString(page.Address) > maxAddressInput {
			page.Address = string([]rune(page.Address)[:maxAddressInput])
		}
		page.Error, page.Title = problem, errorTitle(page.Title, 1)
		h.render(w, r, http.StatusUnprocessableEntity, "espace_connexion", page)
		return
	}
	token, hash := newSpaceToken()
	link := casestore.SignInLink{TokenHash: hash, Kind: kind, Address: address, IP: h.clientAddr(r)}
	err := h.space.store.IssueSignInLink(r.Context(), link, casestore.LinkLimit{Count: h.space.cfg.LinksPerAddress,
		Within: h.space.cfg.LinkWindow, TTL: h.space.cfg.LinkTTL})
	if fault.KindOf(err) == fault.TooMany {
		w.Header().Set("Retry-After", fmt.Sprint(int(h.space.cfg.LinkWindow.Seconds())))
		h.spaceRefusal(w, r, http.StatusTooManyRequests, "Trop de demandes de lien",
			fmt.Sprintf("%d liens de connexion ont déjà été envoyés à cette adresse en moins de %d minutes. Utilisez le dernier reçu, ou patientez avant d'en demander un autre.",
				h.space.cfg.LinksPerAddress, int(h.space.cfg.LinkWindow.Minutes())))
		return
	}
	if err != nil {
		h.unavailable(w, r, err)
		return
	}
	url := h.space.publicURL + spaceLinkPath + token
	minutes := int(h.space.cfg.LinkTTL.Minutes())
	org := h.deps.Catalogue.Organisation
	par := "courriel"
	if kind == casestore.LinkByPhone {
		par = "sms"
		err = h.space.sms.Send(r.Context(), sms.Message{To: address,
			Text: fmt.Sprintf("Mes demandes : votre lien de connexion, valable %d min et une seule fois : %s", minutes, url)})
	} else {
		err = h.space.mail.Send(r.Context(), mailer.Message{To: address, Subject: "Votre lien de connexion à « Mes demandes »",
			Headers: map[string]string{"X-Guichet-Message": "mes-demandes-lien"},
			Body: fmt.Sprintf("Bonjour,\n\nPour voir vos demandes à la %s, ouvrez ce lien :\n\n%s\n\n"+
				"Il est valable %d minutes et ne sert qu'une fois. La page qui s'ouvre vous demande de confirmer la connexion.\n\n"+
				"Si vous n'avez pas demandé ce lien, ignorez ce message : personne ne peut se connecter sans lui.\n\n"+
				"%s : %s, %s.\n\n-- \n%s\n", org.Name, url, minutes, org.ServiceDesk, org.Phone, org.Hours, org.Name)})
	}
	if err != nil {
		h.deps.Log.Error("mes demandes: link not sent", "kind", kind, "err", err)
		w.Header().Set("Retry-After", "60")
		h.spaceRefusal(w, r, http.StatusServiceUnavailable, "Lien non envoyé",
			"Le lien de connexion n'a pas pu être envoyé pour le moment (incident technique). Réessayez dans quelques minutes.")
		return
	}
	h.deps.Log.Info("mes demandes: link sent", "kind", kind, "to", maskedAddress(link))
	http.Redirect(w, r, spaceSentPath+"?par="+par, http.StatusSeeOther)
}

// linkSentPage says where to look for the link.
type linkSentPage struct {
	Title   string
	BySMS   bool
	Minutes int
}

func (h *Handler) showSpaceLinkSent(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "espace_envoye", linkSentPage{Title: "Lien de connexion envoyé",
		BySMS: r.URL.Query().Get("par") == "sms", Minutes: int(h.space.cfg.LinkTTL.Minutes())})
}

// linkPage asks to confirm the sign-in of a link.
type linkPage struct {
	Title  string
	Token  string
	To     string // where the link went, masked
	BySMS  bool
	Signed bool // a session is open in this browser: the link adds to it
}

// showSpaceLink is what opening the link shows: a button, which uses it.
// Fetching this page (as mail scanners do) does not use the link.
func (h *Handler) showSpaceLink(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	hash, ok := spaceTokenHash(token)
	if !ok {
		h.linkNotValid(w, r)
		return
	}
	l, err := h.space.store.SignInLinkFor(r.Context(), hash)
	if fault.KindOf(err) == fault.NotFound {
		h.linkNotValid(w, r)
		return
	}
	if err != nil {
		h.unavailable(w, r, err)
		return
	}
	_, signed, _ := h.session(w, r)
	h.render(w, r, http.StatusOK, "espace_lien", linkPage{Title: "Confirmer la connexion", Token: token, To: maskedAddress(l),
		BySMS: l.Kind == casestore.LinkByPhone, Signed: signed})
}

// useSpaceLink uses the link, once, and opens the session.
func (h *Handler) useSpaceLink(w http.ResponseWriter, r *http.Request) {
	hash, ok := spaceTokenHash(r.PathValue("token"))
	if !ok {
		h.linkNotValid(w, r)
		return
	}
	l, err := h.space.store.UseSignInLink(r.Context(), hash)
	if fault.KindOf(err) == fault.NotFound {
		if _, ok, _ := h.session(w, r); ok {
			// The button pressed twice: the first press signed this
			// browser in.
			http.Redirect(w, r, spacePath, http.StatusSeeOther)
			return
		}
		h.linkNotValid(w, r)
		return
	}
	if err != nil {
		h.unavailable(w, r, err)
		return
	}
	if err := h.openSession(w, r, l.Identity(), ""); err != nil {
		h.unavailable(w, r, err)
		return
	}
	h.deps.Log.Info("mes demandes: signed in", "method", "link", "kind", l.Kind)
	http.Redirect(w, r, spacePath+"?bienvenue=1", http.StatusSeeOther)
}

// linkNotValid answers a link that is malformed, unknown, used or expired:
// all alike, 404.
func (h *Handler) linkNotValid(w http.ResponseWriter, r *http.Request) {
	h.spaceRefusal(w, r, http.StatusNotFound, "Lien de connexion non valable",
		fmt.Sprintf("Ce lien de connexion n'est plus valable : il a déjà servi, il a expiré (il vaut %d minutes) ou il est incomplet. Demandez-en un nouveau.", int(h.space.cfg.LinkTTL.Minutes())))
}
