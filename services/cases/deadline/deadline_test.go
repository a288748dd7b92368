package deadline

import (
	"testing"
	"time"
)

func paris(t *testing.T) *time.Location {
	t.Helper()
	l, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestDue(t *testing.T) {
	loc := paris(t)
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	c := New(loc)
	for _, tc := range []struct {
		name, start string
		budget      time.Duration
		want        string
	}{
		{"within the day", "2026-11-24 09:00", 2 * time.Hour, "2026-11-24 11:00"},
		{"over the evening", "2026-11-24 16:30", 2 * time.Hour, "2026-11-25 09:30"},
		{"friday to monday", "2026-11-27 16:00", 4 * time.Hour, "2026-11-30 11:00"},
		{"arrives on saturday", "2026-11-28 10:00", 1 * time.Hour, "2026-11-30 09:30"},
		{"arrives at night", "2026-11-24 22:00", 1 * time.Hour, "2026-11-25 09:30"},
		{"a week of 9-hour days", "2026-11-23 08:30", 45 * time.Hour, "2026-11-27 17:30"},
		{"Armistice (Wednesday 11 November)", "2026-11-10 17:00", 1 * time.Hour, "2026-11-12 09:00"},
		{"Ascension 2026 (Thursday 14 May)", "2026-05-13 17:00", 9 * time.Hour, "2026-05-15 17:00"},
		{"Whit Monday 2026 (25 May)", "2026-05-22 17:00", 1 * time.Hour, "2026-05-26 09:00"},
		{"Christmas and a weekend", "2026-12-24 17:00", 1 * time.Hour, "2026-12-28 09:00"},
		{"Easter Monday 2027 (29 March)", "2027-03-26 17:30", 30 * time.Minute, "2027-03-30 09:00"},
		{"across the change to summer time", "2027-03-26 17:00", 9 * time.Hour, "2027-03-30 17:00"},
	} {
		got := c.Due(at(tc.start), tc.budget)
		if want := at(tc.want); !got.Equal(want) {
			t.Errorf("%s: Due(%s, %v) = %s, want %s", tc.name, tc.start, tc.budget, got.In(loc).Format("2006-01-02 15:04 Mon"), tc.want)
		}
	}
	if name, ok := c.Holiday(at("2026-07-14 10:00")); !ok || name != "Fête Nationale" {
		t.Errorf("14 July: %q %v", name, ok)
	}
}

// Pausing keeps what was left of the budget: a case waiting on the citizen
// from Tuesday to the next Monday owes the same hours after.
func TestPauseAndResume(t *testing.T) {
	loc := paris(t)
	c := New(loc)
	arrived := time.Date(2026, 11, 24, 9, 0, 0, 0, loc)
	due := c.Due(arrived, 16*time.Hour)
	paused := time.Date(2026, 11, 24, 15, 0, 0, 0, loc) // 6 h spent
	left := c.Left(paused, due)
	if left != 10*time.Hour {
		t.Fatalf("left %v, want 10h", left)
	}
	resumed := time.Date(2026, 11, 30, 8, 30, 0, 0, loc)
	if got, want := c.Due(resumed, left), time.Date(2026, 12, 1, 9, 30, 0, 0, loc); !got.Equal(want) {
		t.Errorf("resumed due %s, want %s", got, want)
	}
	if c.Left(due.Add(time.Hour), due) != 0 {
		t.Error("time left after the deadline")
	}
}

func TestParseBudget(t *testing.T) {
	for in, want := range map[string]time.Duration{"8h": 8 * time.Hour, "90m": 90 * time.Minute, "40h": 40 * time.Hour} {
		if got, err := ParseBudget(in); err != nil || got != want {
			t.Errorf("%s: %v %v", in, got, err)
		}
	}
	for _, in := range []string{"", "0h", "-1h", "3 jours", "9999h"} {
		if _, err := ParseBudget(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}
