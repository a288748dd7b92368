package console

import "net/http"

// knowledgePanel is what the console shows of the knowledge base: the
// entries that answer the caller's question without a case.
type knowledgePanel struct{}

// knowledge fills the knowledge-base panel of the page.
func (h *Handler) knowledge(r *http.Request, p *page) {}

// knowledgeRoutes mounts the console's knowledge-base routes.
func (h *Handler) knowledgeRoutes() {}
