package backoffice

import (
	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/staff/auth"
)

func (h *Handler) competenceLabel(code string) string {
	if code == schemas.CompetenceTriage {
		return "à trier"
	}
	if c, ok := h.deps.Catalogue.Competence(code); ok {
		return c.Label
	}
	return code
}

func territoryLabel(code *string) string {
	if code == nil || *code == "" {
		return "territoire inconnu"
	}
	if n := territory.TerritoryName(*code); n != "" {
		return n
	}
	return *code
}

func eventLabel(t string) string {
	switch t {
	case schemas.EventCreated:
		return "dossier ouvert"
	case schemas.EventRequestLinked:
		return "demande rattachée"
	case schemas.EventUnlinked:
		return "demande(s) détachée(s)"
	case schemas.EventStateChanged:
		return "changement d'état"
	case schemas.EventRerouted:
		return "réorientation"
	case schemas.EventMerged:
		return "fusion"
	case schemas.EventUnmerged:
		return "fusion annulée"
	case schemas.EventBreached:
		return "délai dépassé"
	case schemas.EventReplied:
		return "réponse au demandeur"
	case schemas.EventNoteAdded:
		return "note interne"
	case schemas.EventIncidentLinked:
		return "rattaché à un incident"
	case schemas.EventIncidentDetached:
		return "détaché d'un incident"
	}
	return t
}

func outcomeLabel(o string) string {
	switch o {
	case "new_case":
		return "nouveau dossier"
	case "linked":
		return "rattachée au dossier"
	case "rerouted":
		return "réorientée"
	case "moved":
		return "déplacée"
	}
	return o
}

func actorLabel(kind, id string) string {
	switch kind {
	case "router":
		return "routeur"
	case "system":
		return "Guichet"
	case "citizen":
		return "demandeur"
	}
	return id
}

func roleLabel(r string) string {
	switch r {
	case auth.RoleAgent:
		return "centre d'appels"
	case auth.RoleMailroom:
		return "courrier"
	case auth.RoleTeam:
		return "équipe"
	case auth.RoleSupervisor:
		return "encadrement"
	case auth.RoleAdmin:
		return "administration"
	case auth.RoleDPO:
		return "protection des données"
	}
	return r
}

func doneLabel(d string) string {
	switch d {
	case "etat":
		return "État du dossier modifié."
	case "orientation":
		return "Dossier réorienté."
	case "note":
		return "Note ajoutée."
	case "attribution":
		return "Attribution enregistrée."
	case "separation":
		return "Demande(s) séparée(s) dans ce nouveau dossier."
	case "fusion":
		return "Dossier fusionné dans celui-ci."
	case "defusion":
		return "Fusion annulée : le dossier a repris ses demandes."
	case "reponse":
		return "Réponse enregistrée : elle part par le canal choisi et apparaît sur la page de suivi du demandeur."
	}
	return ""
}
