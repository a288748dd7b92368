// Package frtime writes dates the way French public services do, in the
// Métropole's time zone: « 27 novembre 2026 à 09 h 14 ».
package frtime

import (
	"fmt"
	"time"
	_ "time/tzdata" // the zone must exist wherever Guichet runs
)

var months = [...]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"}

// paris is loaded once; the embedded tzdata guarantees it exists.
var paris = mustLoad("Europe/Paris")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.FixedZone("CET", 3600)
	}
	return loc
}

// Paris is the Métropole's time zone.
func Paris() *time.Location { return paris }

// DateTime formats t as « 27 novembre 2026 à 09 h 14 », Paris time.
func DateTime(t time.Time) string {
	t = t.In(paris)
	return fmt.Sprintf("%s à %02d h %02d", Date(t), t.Hour(), t.Minute())
}

// Date formats t as « 27 novembre 2026 » (« 1er » for the first), Paris time.
func Date(t time.Time) string {
	t = t.In(paris)
	day := fmt.Sprint(t.Day())
	if t.Day() == 1 {
		day = "1er"
	}
	return fmt.Sprintf("%s %s %d", day, months[t.Month()-1], t.Year())
}

// Month formats t's month as « novembre 2026 », Paris time.
func Month(t time.Time) string {
	t = t.In(paris)
	return fmt.Sprintf("%s %d", months[t.Month()-1], t.Year())
}
