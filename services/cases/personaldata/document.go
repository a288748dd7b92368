package personaldata

import (
	"fmt"
	"strings"

	"github.com/ampmetropole/guichet/services/cases/citizen"
	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/platform/frtime"
)

// Text writes the export as a French document in plain text, to send to
// the person (or print): every section, in the order of the JSON, with
// dates the French way.
func (e Export) Text() string {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	section := func(n int, title string, count int) {
		b.WriteString("\n")
		t := fmt.Sprintf("%d. %s", n, title)
		if count >= 0 {
			t += fmt.Sprintf(" (%d)", count)
		}
		line("%s", t)
		line("%s", strings.Repeat("=", len([]rune(t))))
	}
	none := func(what string) { line("Aucun%s.", what) }

	line("Données personnelles détenues par la %s", e.Controller.Name)
	line("Extraction du %s, recherche par %s.", frtime.DateTime(e.GeneratedAt), e.Subject.Describe())
	line("")
	line("Responsable du traitement : %s, %s.", e.Controller.Name, e.Controller.Address)
	line("Délégué à la protection des données : %s.", e.Controller.DataProtectionContact)
	if len(e.Incomplete) > 0 {
		line("")
		line("Extraction partielle : %s.", strings.Join(e.Incomplete, " ; "))
	}
	if e.Empty() {
		line("")
		line("Aucune donnée n'est détenue sur cette personne.")
	}

	section(1, "Identité et coordonnées", len(e.People))
	if len(e.People) == 0 {
		line("Aucune fiche de demandeur.")
	}
	if len(e.People) > 1 {
		line("Plusieurs fiches portent ce nom : elles peuvent concerner des personnes différentes.")
	}
	for _, p := range e.People {
		line("- Fiche n° %d, créée le %s, mise à jour le %s", p.ID, frtime.Date(p.CreatedAt), frtime.Date(p.UpdatedAt))
		field(&b, "Nom", p.Name)
		field(&b, "Adresse électronique", p.Email)
		field(&b, "Téléphone", displayPhone(p.Phone))
	}

	section(2, "Demandes", len(e.Requests))
	if len(e.Requests) == 0 {
		none("e demande")
	}
	for _, r := range e.Requests {
		line("- %s, le %s — code de suivi %s%s", ChannelLabel(r.Channel), frtime.DateTime(r.ReceivedAt), r.TrackingCode, ifSet(" — dossier ", r.CaseRef))
		if c := r.Citizen; c != nil {
			field(&b, "Nom donné", c.Name)
			field(&b, "Adresse électronique donnée", c.Email)
			field(&b, "Téléphone donné", displayPhone(c.Phone))
			if a := c.Address; a != nil {
				field(&b, "Adresse postale", joinSet(append(append([]string{}, a.Lines...), strings.TrimSpace(a.PostalCode+" "+a.City), a.Country), ", "))
			}
			field(&b, "Réponse souhaitée par", replyLabel(c.PreferredReplyChannel))
		}
		field(&b, "Objet", r.Subject)
		field(&b, "Texte", r.Body)
		if p := r.Place; p != nil {
			field(&b, "Lieu", placeText(*p))
		}
		for _, a := range r.Attachments {
			field(&b, "Pièce jointe", fmt.Sprintf("%s (%s, %s)", a.Name, a.ContentType, sizeText(a.Size)))
			field(&b, "Texte lu sur la pièce", a.ExtractedText)
		}
		if len(r.Transcript) > 0 {
			line("  Conversation :")
			for _, t := range r.Transcript {
				line("    %s : %s", speakerLabel(t.Speaker), oneLine(t.Text))
			}
		}
		for _, d := range r.Routing {
			why := ""
			if len(d.Reasons) > 0 {
				why = " — " + strings.Join(d.Reasons, " ; ")
			}
			field(&b, "Orientation", fmt.Sprintf("le %s, %s (%s)%s", frtime.DateTime(d.At), d.Competence, d.By, why))
		}
		if r.NoticesOff {
			field(&b, "Avis de suivi", "arrêtés à votre demande")
		}
	}

	section(3, "Dossiers", len(e.Cases))
	if len(e.Cases) == 0 {
		none(" dossier")
	}
	for _, c := range e.Cases {
		line("- %s : %s (%s)%s, %s", c.Ref, c.CompetenceLabel, c.Service, ifSet(", territoire ", c.TerritoryLabel), c.StateLabel)
		field(&b, "Ouvert le", frtime.DateTime(c.OpenedAt))
		if c.Deadline != nil {
			field(&b, "Échéance", frtime.DateTime(*c.Deadline))
		}
		field(&b, "Regroupé dans le dossier", c.MergedInto)
		if c.HeldSince != nil {
			field(&b, "Conservation", "dossier conservé pour un contentieux depuis le "+frtime.Date(*c.HeldSince)+" : il n'est pas effacé tant qu'il l'est")
		}
		if len(c.Erased) > 0 {
			field(&b, "Données effacées", erasedText(c.Erased))
		}
		if c.Shared {
			field(&b, "Note", "ce dossier regroupe aussi les demandes d'autres personnes, qui ne figurent pas ici")
		}
		for _, ev := range c.Events {
			text := ev.Label
			switch {
			case ev.Note != "":
				text += " : " + oneLine(ev.Note)
			case ev.Summary != "" && ev.Summary != ev.Label:
				text += " — " + oneLine(ev.Summary)
			}
			line("    %s : %s", frtime.DateTime(ev.At), text)
		}
	}

	section(4, "Réponses des services", len(e.Replies))
	if len(e.Replies) == 0 {
		none("e réponse")
	}
	for _, r := range e.Replies {
		line("- Le %s, dossier %s, %s à %s", frtime.DateTime(r.At), r.CaseRef, replyChannelLabel(r.Channel), oneLine(r.To))
		field(&b, "Objet", r.Subject)
		field(&b, "Message", r.Message)
	}

	section(5, "Messages envoyés automatiquement", len(e.Messages)+len(e.Letters))
	if len(e.Messages)+len(e.Letters) == 0 {
		none(" message")
	}
	for _, m := range e.Messages {
		state := ""
		if !m.Delivered {
			state = " (non remis)"
		}
		line("- Le %s : %s à %s%s", frtime.DateTime(m.At), m.Label, oneLine(m.To), state)
	}
	for _, l := range e.Letters {
		posted := "pas encore posté"
		if l.PostedAt != nil {
			posted = "posté le " + frtime.Date(*l.PostedAt)
		}
		line("- Courrier du %s (%s) : %s", frtime.Date(l.CreatedAt), posted, l.Subject)
		field(&b, "Adresse", joinSet(strings.Split(l.To, "\n"), ", "))
		field(&b, "Texte", l.Body)
	}

	section(6, "Avis sur le traitement des demandes", len(e.Opinions))
	if len(e.Opinions) == 0 {
		none(" avis")
	}
	for _, o := range e.Opinions {
		line("- Dossier %s, le %s : note %d sur 5", o.CaseRef, frtime.Date(o.AnsweredAt), o.Score)
		field(&b, "Commentaire", o.Comment)
	}

	section(7, "Connexions à « Mes demandes »", len(e.SignIns))
	if len(e.SignIns) == 0 {
		line("Aucune connexion en cours (les liens et les sessions sont effacés un jour après leur fin).")
	}
	for _, s := range e.SignIns {
		what := "lien de connexion envoyé à " + displayPhone(s.Address)
		if s.Kind == "session" {
			what = "session ouverte pour " + displayPhone(s.Address)
		}
		used := ""
		if s.UsedAt != nil {
			used = ", utilisé le " + frtime.DateTime(*s.UsedAt)
		}
		line("- Le %s : %s%s%s", frtime.DateTime(s.CreatedAt), what, used, ifSet(", depuis l'adresse IP ", s.IP))
	}

	section(8, "Courriels non lus par le service courrier", len(e.Rejections))
	if len(e.Rejections) == 0 {
		none(" courriel")
	}
	for _, j := range e.Rejections {
		subject := ""
		if j.Subject != "" {
			subject = ", objet « " + oneLine(j.Subject) + " »"
		}
		line("- Reçu le %s%s : %s", frtime.DateTime(j.ReceivedAt), subject, j.Reason)
	}

	section(9, "Consultations et actions du personnel", len(e.Accesses))
	if len(e.Accesses) == 0 {
		line("Aucune consultation enregistrée.")
	}
	for _, a := range e.Accesses {
		line("- Le %s : %s, par %s (%s)", frtime.DateTime(a.At), a.Label, a.Actor, a.Target)
	}

	section(10, "Durées de conservation", -1)
	if len(e.Retention) == 0 {
		line("Voir la page « Données personnelles » du site.")
	}
	for _, p := range e.Retention {
		line("- %s : %s %s. %s", p.Label, daysText(p.KeepDays), p.Counted, p.Why)
	}
	line("")
	line("Pour faire rectifier ou effacer ces données, ou vous opposer à leur traitement, écrivez au délégué à la protection des données : %s.", e.Controller.DataProtectionContact)
	return b.String()
}

// erasedText names in French the artifacts erased of a case.
func erasedText(arts []string) string {
	names := map[string]string{"identity": "identité et coordonnées", "free_text": "textes", "transcripts": "transcriptions d'appels", "files": "pièces jointes"}
	var out []string
	for _, a := range arts {
		if n, ok := names[a]; ok {
			out = append(out, n)
		} else {
			out = append(out, a)
		}
	}
	return strings.Join(out, ", ")
}

// field writes one labelled value, indented; several lines stay indented.
func field(b *strings.Builder, label, value string) {
	value = strings.TrimSpace(value)
	if value == "" {
		return
	}
	lines := strings.Split(strings.ReplaceAll(value, "\r\n", "\n"), "\n")
	for i := 1; i < len(lines); i++ {
		if lines[i] = strings.TrimRight(lines[i], " \t"); lines[i] != "" {
			lines[i] = "    " + lines[i]
		}
	}
	fmt.Fprintf(b, "  %s : %s\n", label, strings.Join(lines, "\n"))
}

// joinSet joins the values that are not empty.
func joinSet(values []string, sep string) string {
	var set []string
	for _, v := range values {
		if v = strings.TrimSpace(v); v != "" {
			set = append(set, v)
		}
	}
	return strings.Join(set, sep)
}

func ifSet(prefix, v string) string {
	if v == "" {
		return ""
	}
	return prefix + v
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func displayPhone(p string) string {
	if strings.HasPrefix(p, "+") {
		return citizen.DisplayPhone(p)
	}
	return p
}

func placeText(p Place) string {
	var parts []string
	for _, s := range []string{p.Address, strings.TrimSpace(p.PostalCode + " " + p.Commune)} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	if p.Lat != nil && p.Lon != nil {
		parts = append(parts, fmt.Sprintf("position %.5f, %.5f", *p.Lat, *p.Lon))
	}
	if len(parts) == 0 && p.CommuneINSEE != "" {
		parts = append(parts, "commune INSEE "+p.CommuneINSEE)
	}
	return strings.Join(parts, ", ")
}

// sizeText writes a file's size in French units.
func sizeText(n int64) string {
	switch {
	case n >= 1<<20:
		return strings.Replace(fmt.Sprintf("%.1f Mio", float64(n)/(1<<20)), ".", ",", 1)
	case n >= 1<<10:
		return fmt.Sprintf("%d Kio", (n+512)>>10)
	}
	return fmt.Sprintf("%d octets", n)
}

func daysText(n int) string {
	switch {
	case n%365 == 0 && n >= 365:
		if n == 365 {
			return "1 an"
		}
		return fmt.Sprintf("%d ans", n/365)
	case n == 1:
		return "1 jour"
	}
	return fmt.Sprintf("%d jours", n)
}

// ChannelLabel names a channel in French.
func ChannelLabel(ch string) string {
	switch ch {
	case "web":
		return "Formulaire du site"
	case "phone":
		return "Appel téléphonique"
	case "mail":
		return "Courrier postal"
	case "email":
		return "Courriel"
	case "open311":
		return "Signalement d'une application"
	case "counter":
		return "Accueil d'une mairie"
	}
	return ch
}

func replyLabel(pref string) string {
	switch pref {
	case "email":
		return "courriel"
	case "phone":
		return "téléphone"
	case "mail":
		return "courrier"
	case "none":
		return "aucune réponse souhaitée"
	}
	return pref
}

func replyChannelLabel(ch string) string {
	switch ch {
	case "email":
		return "par courriel"
	case "letter":
		return "par courrier"
	case "callback":
		return "rappel téléphonique"
	}
	return ch
}

func speakerLabel(s string) string {
	switch s {
	case "agent":
		return "Agent"
	case "caller":
		return "Vous"
	}
	return "Interlocuteur"
}

// TerritoryLabel names a territory in French ("" for none).
func TerritoryLabel(code string) string { return territory.TerritoryName(code) }
