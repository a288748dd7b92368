package rgpddesk

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/ampmetropole/guichet/services/cases/personaldata"
)

type registerPage struct {
	page
	R personaldata.Register
}

// showRegister answers GET /bo/rgpd/registre: the register of processing.
func (h *Handler) showRegister(w http.ResponseWriter, r *http.Request) {
	h.render(w, "registre", http.StatusOK, registerPage{page: h.base(r, "Registre des activités de traitement"), R: h.deps.Officer.Register()})
}

// downloadRegister answers GET /bo/rgpd/registre.md and .json.
func (h *Handler) downloadRegister(w http.ResponseWriter, r *http.Request) {
	reg := h.deps.Officer.Register()
	if strings.HasSuffix(r.URL.Path, ".json") {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="registre-des-traitements.json"`)
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		_ = enc.Encode(reg)
		return
	}
	w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="registre-des-traitements.md"`)
	_, _ = w.Write([]byte(reg.Markdown()))
}
