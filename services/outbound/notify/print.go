package notify

import (
	"fmt"
	"strings"

	"github.com/ampmetropole/guichet/services/cases/casestore"
	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/outbound/letterpdf"
)

// PrintNotices returns what lays the letters owed to citizens (the
// acknowledgements and notices queued for those who wrote by post) out as
// one PDF for the mailroom: each letter from a new page, its address in
// the window of a DL envelope, signed by the service desk.
func PrintNotices(cat *catalogue.Catalogue) func(title string, ns []casestore.PostalNotice) ([]byte, error) {
	return func(title string, ns []casestore.PostalNotice) ([]byte, error) {
		org := cat.Organisation
		from := append([]string{org.Name, org.ServiceDesk}, strings.Split(org.Address, ", ")...)
		letters := make([]letterpdf.Letter, len(ns))
		for i, n := range ns {
			letters[i] = letterpdf.Letter{From: from, To: n.Recipient, Place: "Marseille", Date: n.CreatedAt,
				Ref: n.CaseRef, Code: n.TrackingCode, Subject: n.Subject, Body: n.Body, Signoff: org.ServiceDesk,
				Contact: fmt.Sprintf("%s — %s, %s — code de suivi %s", org.ServiceDesk, org.Phone, org.Hours, n.TrackingCode)}
		}
		pdf, err := letterpdf.RenderBatch(title, letters)
		if err != nil {
			return nil, fmt.Errorf("notify: print: %w", err)
		}
		return pdf, nil
	}
}
