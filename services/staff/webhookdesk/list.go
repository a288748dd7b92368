package webhookdesk

import (
	"net/http"

	"github.com/ampmetropole/guichet/services/outbound/webhook"
)

type listPage struct {
	page
	Subscriptions []webhook.Subscription
	Error         string
}

// showList lists the subscriptions, the active ones first, with their
// last delivery status and counts.
func (h *Handler) showList(w http.ResponseWriter, r *http.Request) {
	data := listPage{page: h.base(r, "Webhooks des partenaires")}
	subs, err := h.deps.Store.Subscriptions(r.Context())
	if err != nil {
		h.deps.Log.Error("webhook list", "err", err)
		data.Error = "La liste est momentanément indisponible : réessayez dans quelques instants."
		h.render(w, "liste", http.StatusServiceUnavailable, data)
		return
	}
	data.Subscriptions = subs
	h.render(w, "liste", http.StatusOK, data)
}
