package mailroomdesk

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/platform/fault"
)

// pageWithin bounds the rendering of one page of a scan, its reading from
// the object store included.
const pageWithin = 20 * time.Second

var (
	shaPattern  = regexp.MustCompile(`^[0-9a-f]{64}$`)
	pagePattern = regexp.MustCompile(`^([1-9][0-9]{0,2})\.png$`)
)

// mailFile finds the scan or e-mail file of that SHA-256 and audits its
// showing; false when the answer was already written: a file no letter or
// e-mail carries is not the mailroom's (404, as for a file that does not
// exist).
func (h *Handler) mailFile(w http.ResponseWriter, r *http.Request, sha string, details map[string]any) ([]byte, bool) {
	if !shaPattern.MatchString(sha) || h.deps.Holders == nil {
		h.notFound(w, r, "")
		return nil, false
	}
	holders, err := h.deps.Holders.FileHolders(r.Context(), sha)
	if err != nil {
		h.deps.Log.Error("scan holders", "err", err)
		h.unavailable(w, r, "Scan momentanément indisponible.")
		return nil, false
	}
	i := slices.IndexFunc(holders, func(c casestore.Holder) bool {
		return c.Channel == schemas.ChannelMail || c.Channel == schemas.ChannelEmail
	})
	if i < 0 {
		h.notFound(w, r, "")
		return nil, false
	}
	if details == nil {
		details = map[string]any{}
	}
	details["sha256"], details["case"] = sha, holders[i].CaseRef
	h.audit(r.Context(), "mail.scan.view", holders[i].RequestID, details)
	data, err := h.deps.Scans.Get(r.Context(), "sha256/"+sha)
	if fault.KindOf(err) == fault.NotFound {
		h.notFound(w, r, "")
		return nil, false
	}
	if err != nil {
		h.deps.Log.Error("scan", "err", err)
		h.unavailable(w, r, "Scan momentanément indisponible.")
		return nil, false
	}
	return data, true
}

// scan shows the original scan of a letter or a file of an e-mail in the
// browser.
func (h *Handler) scan(w http.ResponseWriter, r *http.Request) {
	data, ok := h.mailFile(w, r, r.PathValue("sha"), nil)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", http.DetectContentType(data))
	w.Header().Set("Content-Disposition", "inline")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; sandbox")
	_, _ = w.Write(data)
}

// scanPage shows one page of a scan as an image (GET
// /courrier/scans/{sha}/pages/{n}.png), rendered for this answer and kept
// nowhere: what the correction page puts beside the text. The same files
// as scan, with the same checks, audited the same way.
func (h *Handler) scanPage(w http.ResponseWriter, r *http.Request) {
	if h.deps.Pages == nil || !shaPattern.MatchString(r.PathValue("sha")) {
		h.notFound(w, r, "")
		return
	}
	m := pagePattern.FindStringSubmatch(r.PathValue("page"))
	if m == nil {
		h.shell.Error(w, h.viewer(r), http.StatusBadRequest, "Numéro de page illisible : l'adresse d'une page de scan finit par son numéro, par exemple 1.png.")
		return
	}
	n, _ := strconv.Atoi(m[1])
	data, ok := h.mailFile(w, r, r.PathValue("sha"), map[string]any{"page": n})
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), pageWithin)
	defer cancel()
	p, err := h.deps.Pages.PageImage(ctx, data, n)
	if err != nil {
		switch fault.KindOf(err) {
		case fault.NotFound:
			h.notFound(w, r, "Ce scan n'a pas de page "+m[1]+".")
		case fault.Invalid, fault.TooLarge:
			h.deps.Log.Warn("scan page not shown", "sha256", r.PathValue("sha"), "page", n, "err", err)
			h.shell.Error(w, h.viewer(r), http.StatusUnprocessableEntity, "Cette page du scan ne peut pas être affichée ; le fichier d'origine reste consultable.")
		case fault.TooMany:
			w.Header().Set("Retry-After", "10")
			h.unavailable(w, r, "Trop de pages de scan en cours d'affichage : rechargez la page dans quelques instants.")
		default:
			h.deps.Log.Error("scan page", "err", err)
			h.unavailable(w, r, "Page du scan momentanément indisponible.")
		}
		return
	}
	w.Header().Set("Content-Type", p.ContentType)
	w.Header().Set("Content-Disposition", "inline")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; sandbox")
	w.Header().Set("Content-Length", strconv.Itoa(len(p.Data)))
	_, _ = w.Write(p.Data)
}
