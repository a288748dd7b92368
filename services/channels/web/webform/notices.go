package webform

import (
	"net/http"
	"net/url"

	"github.com/ampmetropole/guichet/services/platform/fault"
)

// setNotices turns a thread's status notices off, or on again, from its
// status page: the code is the credential, as for adding a message. The
// acknowledgement of receipt and the team's replies are not notices: they
// are always sent.
func (h *Handler) setNotices(w http.ResponseWriter, r *http.Request) {
	t, ok := h.loadTracking(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "Formulaire trop volumineux ou illisible.", http.StatusRequestEntityTooLarge)
		return
	}
	var off bool
	switch r.PostForm.Get("avis") {
	case "non":
		off = true
	case "oui":
	default:
		page := h.trackingPage(t)
		page.Failure = "Choisissez de recevoir ou non les avis de suivi."
		h.failed(w, r, http.StatusUnprocessableEntity, page)
		return
	}
	err := h.deps.Store.SetNoticesOff(r.Context(), t.Code, off)
	if fault.KindOf(err) == fault.NotFound {
		h.trackingNotFound(w, r, t.Code)
		return
	}
	if err != nil {
		h.unavailable(w, r, err)
		return
	}
	v := url.Values{"avis": {map[bool]string{true: "non", false: "oui"}[off]}}
	http.Redirect(w, r, "/suivi/"+t.ThreadCode+"?"+v.Encode()+"#avis-suivi", http.StatusSeeOther)
}
