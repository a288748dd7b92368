// Package letterpdf renders a team's answer to a citizen as a French
// letter in PDF, for the mailroom to print and post: the Métropole's
// address, the citizen's address in the window of a DL envelope, the place
// and date, the reference, the subject, the text and the service's
// signature. Core fonts, Windows-1252 text (French accents, « », €, œ).
package letterpdf

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"

	"github.com/ampmetropole/guichet/services/platform/frtime"
)

// Letter is what goes on the page.
type Letter struct {
	From    []string // the sender's block: organisation, service, address lines
	To      string   // the recipient's postal address, one line each
	Place   string   // "Marseille"
	Date    time.Time
	Ref     string // the case's reference; "" before the request is routed
	Code    string // the citizen's tracking code, when the letter gives it
	Subject string
	Body    string
	Signoff string // the service that signs
	Contact string // how to reach the service, at the foot
}

// references is the "Nos références" line.
func (l Letter) references() string {
	switch {
	case l.Ref != "" && l.Code != "":
		return "Nos références : dossier " + l.Ref + " — code de suivi " + l.Code
	case l.Ref != "":
		return "Nos références : dossier " + l.Ref
	case l.Code != "":
		return "Nos références : code de suivi " + l.Code
	}
	return ""
}

// Render returns the letter as a one- or several-page A4 PDF.
func Render(l Letter) ([]byte, error) {
	title := "Courrier"
	if l.Ref != "" {
		title = "Courrier — dossier " + l.Ref
	}
	return RenderBatch(title, []Letter{l})
}

// RenderBatch returns letters as one PDF to print at once, each starting on
// a new page (with its own foot), titled title.
func RenderBatch(title string, letters []Letter) ([]byte, error) {
	if len(letters) == 0 {
		return nil, fmt.Errorf("letterpdf: no letter to print")
	}
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetMargins(20, 20, 20)
	pdf.SetAutoPageBreak(true, 25)
	tr := pdf.UnicodeTranslatorFromDescriptor("") // UTF-8 → Windows-1252 for the core fonts
	pdf.SetTitle(tr(title), false)
	var current *Letter
	pdf.SetFooterFunc(func() {
		pdf.SetY(-18)
		pdf.SetFont("Helvetica", "", 8)
		pdf.MultiCell(0, 4, tr(current.Contact), "", "C", false)
	})
	for i := range letters {
		current = &letters[i]
		page(pdf, tr, *current)
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("letterpdf: %w", err)
	}
	return buf.Bytes(), nil
}

// page writes one letter from a new page on.
func page(pdf *fpdf.Fpdf, tr func(string) string, l Letter) {
	pdf.AddPage()
	pdf.SetFont("Helvetica", "B", 11)
	for i, line := range l.From {
		if i == 1 {
			pdf.SetFont("Helvetica", "", 10)
		}
		pdf.CellFormat(0, 5, tr(line), "", 1, "L", false, 0, "")
	}
	// A DL window envelope shows the address 100 mm from the left, 45 mm down.
	pdf.SetXY(110, 50)
	pdf.SetFont("Helvetica", "", 11)
	for _, line := range strings.Split(strings.TrimSpace(l.To), "\n") {
		pdf.SetX(110)
		pdf.CellFormat(80, 5, tr(strings.TrimSpace(line)), "", 1, "L", false, 0, "")
	}
	pdf.SetXY(110, 85)
	pdf.CellFormat(80, 5, tr(l.Place+", le "+frtime.Date(l.Date)), "", 1, "L", false, 0, "")
	pdf.SetXY(20, 100)
	pdf.SetFont("Helvetica", "", 10)
	pdf.CellFormat(0, 5, tr(l.references()), "", 1, "L", false, 0, "")
	pdf.SetFont("Helvetica", "B", 11)
	pdf.MultiCell(0, 6, tr("Objet : "+l.Subject), "", "L", false)
	pdf.Ln(6)
	pdf.SetFont("Helvetica", "", 11)
	pdf.MultiCell(0, 6, tr(strings.TrimSpace(l.Body)), "", "L", false)
	pdf.Ln(10)
	pdf.SetX(110)
	pdf.MultiCell(80, 6, tr(l.Signoff), "", "L", false)
}
