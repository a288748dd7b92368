package webhookdesk

import (
	"net/http"
	"strconv"

	"github.com/ampmetropole/guichet/services/outbound/webhook"
	"github.com/ampmetropole/guichet/services/platform/fault"
	"github.com/ampmetropole/guichet/services/staff/auth"
)

// recentLimit is how many deliveries the page lists, of each kind.
const recentLimit = 50

type subscriptionPage struct {
	page
	Subscription webhook.Subscription
	Recent, Dead []webhook.Delivery
	Notice       string
}

var notices = map[string]string{
	"desactive": "L'abonnement est désactivé : plus rien ne lui est envoyé.",
	"relance":   "L'envoi est remis dans la file : il part dans quelques secondes.",
}

// showSubscription shows a subscription, its recent and its dead
// deliveries.
func (h *Handler) showSubscription(w http.ResponseWriter, r *http.Request) {
	id, ok := subscriptionID(r)
	if !ok {
		h.notFound(w, r)
		return
	}
	sub, err := h.deps.Store.Subscription(r.Context(), id)
	if fault.KindOf(err) == fault.NotFound {
		h.notFound(w, r)
		return
	}
	if err != nil {
		h.unavailable(w, r, err)
		return
	}
	data := subscriptionPage{page: h.base(r, "Webhook « "+sub.Name+" »"), Subscription: sub, Notice: notices[r.URL.Query().Get("fait")]}
	if data.Recent, err = h.deps.Store.Deliveries(r.Context(), id, "", recentLimit); err == nil {
		data.Dead, err = h.deps.Store.Deliveries(r.Context(), id, webhook.StatusDead, recentLimit)
	}
	if err != nil {
		h.unavailable(w, r, err)
		return
	}
	h.render(w, "abonnement", http.StatusOK, data)
}

func (h *Handler) disable(w http.ResponseWriter, r *http.Request) {
	id, ok := subscriptionID(r)
	if !ok {
		h.notFound(w, r)
		return
	}
	p, _ := auth.FromContext(r.Context())
	before, err := h.deps.Store.Subscription(r.Context(), id)
	if err == nil && before.Active {
		_, err = h.deps.Store.Disable(r.Context(), id, p.Name)
		if err == nil {
			h.audit(r, p, ActionDisable, id, map[string]any{"subscription": before.Name, "url": before.URL})
		}
	}
	if fault.KindOf(err) == fault.NotFound {
		h.notFound(w, r)
		return
	}
	if err != nil {
		h.unavailable(w, r, err)
		return
	}
	http.Redirect(w, r, Base+"/"+strconv.FormatInt(id, 10)+"?fait=desactive", http.StatusSeeOther)
}

func (h *Handler) requeue(w http.ResponseWriter, r *http.Request) {
	id, ok := subscriptionID(r)
	delivery := r.PathValue("delivery")
	if !ok || len(delivery) > 100 {
		h.notFound(w, r)
		return
	}
	d, err := h.deps.Store.Requeue(r.Context(), id, delivery)
	if fault.KindOf(err) == fault.NotFound {
		h.shell.Error(w, h.deps.Guard.Viewer(r), http.StatusNotFound,
			"Cet envoi n'est pas (ou plus) abandonné : il a pu être déjà relancé. Revenez à la page de l'abonnement.")
		return
	}
	if err != nil {
		h.unavailable(w, r, err)
		return
	}
	p, _ := auth.FromContext(r.Context())
	h.audit(r, p, ActionRequeue, id, map[string]any{"webhook_id": d.ID, "event_type": d.EventType, "case_ref": d.CaseRef, "attempts": d.Attempts})
	if h.deps.Requeued != nil {
		h.deps.Requeued()
	}
	http.Redirect(w, r, Base+"/"+strconv.FormatInt(id, 10)+"?fait=relance", http.StatusSeeOther)
}
