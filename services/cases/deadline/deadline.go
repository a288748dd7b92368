// Package deadline counts the Métropole's business hours: Monday to Friday,
// 8:30 to 17:30 in Paris time, without French public holidays (computed
// each year, Easter Monday, Ascension and Whit Monday included, by
// github.com/rickar/cal). Case deadlines are a number of business hours
// from the case's arrival; the clock stops while a case waits.
package deadline

import (
	"fmt"
	"time"

	"github.com/rickar/cal/v2"
	"github.com/rickar/cal/v2/fr"
)

// Calendar counts business hours.
type Calendar struct {
	bc  *cal.BusinessCalendar
	loc *time.Location
}

// New returns the Métropole's calendar in loc (Europe/Paris).
func New(loc *time.Location) *Calendar {
	bc := cal.NewBusinessCalendar()
	bc.SetWorkHours(8*time.Hour+30*time.Minute, 17*time.Hour+30*time.Minute)
	bc.AddHoliday(fr.Holidays...)
	return &Calendar{bc: bc, loc: loc}
}

// Due is when budget business hours from start are spent.
func (c *Calendar) Due(start time.Time, budget time.Duration) time.Time {
	if budget <= 0 {
		return start
	}
	return c.bc.AddWorkHours(start.In(c.loc), budget)
}

// Left is how many business hours remain from now to due (0 when past), to
// resume the clock later with Due(resumed, left).
func (c *Calendar) Left(now, due time.Time) time.Duration {
	if !due.After(now) {
		return 0
	}
	return c.bc.WorkHoursInRange(now.In(c.loc), due.In(c.loc))
}

// IsWorkTime says whether t falls within business hours.
func (c *Calendar) IsWorkTime(t time.Time) bool { return c.bc.IsWorkTime(t.In(c.loc)) }

// Holiday names the public holiday t falls on, if any.
func (c *Calendar) Holiday(t time.Time) (string, bool) {
	_, _, h := c.bc.IsHoliday(t.In(c.loc))
	if h == nil {
		return "", false
	}
	return h.Name, true
}

// ParseBudget reads a budget of business hours as the catalogue writes it:
// "8h", "40h", "90m".
func ParseBudget(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 || d > 2000*time.Hour {
		return 0, fmt.Errorf("deadline: durée ouvrée invalide « %s » (ex. 8h, 40h)", s)
	}
	return d, nil
}
