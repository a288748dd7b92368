package catalogue

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The shipped catalogue states the documented defaults, and a catalogue
// without a schedule gets them.
func TestRetentionDefaults(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if c.Retention != DefaultRetention() {
		t.Errorf("the shipped schedule differs from DefaultRetention:\n%+v\n%+v", c.Retention, DefaultRetention())
	}
	if got := c.Retention.Streams.Keep(); got != 30*24*time.Hour {
		t.Errorf("streams kept %v", got)
	}
	now := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	if got := c.Retention.Outgoing.Cutoff(now); !got.Equal(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("outgoing cutoff %v", got)
	}
	rules := c.Retention.Rules()
	if len(rules) != 7 {
		t.Fatalf("%d rules", len(rules))
	}
	for _, r := range rules {
		if r.Label == "" || r.Why == "" {
			t.Errorf("%s: no label or reason", r.Artifact)
		}
		if got, ok := c.Retention.Rule(r.Artifact); !ok || got != r.RetentionRule {
			t.Errorf("Rule(%s) = %+v, %v", r.Artifact, got, ok)
		}
	}

	good, err := os.ReadFile("catalogue.json")
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(good), `,
  "retention": {`)
	if i < 0 {
		t.Fatal("no retention section in catalogue.json")
	}
	path := filepath.Join(t.TempDir(), "sans-conservation.json")
	if err := os.WriteFile(path, []byte(string(good[:i])+"\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err = Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Retention != DefaultRetention() {
		t.Errorf("a catalogue without a schedule has %+v", c.Retention)
	}
}

// A schedule the purge could not apply is refused when the catalogue is
// loaded, naming what is wrong.
func TestRetentionRefusesWhatThePurgeCannotApply(t *testing.T) {
	good, err := os.ReadFile("catalogue.json")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, tc := range map[string]struct{ from, to, says string }{
		"zero days": {`"keep_days": 30,`, `"keep_days": 0,`, "/retention/streams/keep_days"},
		"wrong event": {`"keep_days": 90,
      "from": "sent"`, `"keep_days": 90,
      "from": "case_closed"`, "/retention/outgoing/from"},
		"open case purged": {`"keep_days": 365,
      "from": "case_closed",
      "why": "Un an`, `"keep_days": 365,
      "from": "request_received",
      "why": "Un an`, "/retention/identity/from"},
		"unknown artifact":  {`"streams": {`, `"flux": {`, "/retention"},
		"no reason":         {`"why": "Le bus`, `"why": "", "x": "Le bus`, "/retention/streams"},
		"ten years and one": {`"keep_days": 30,`, `"keep_days": 3651,`, "/retention/streams/keep_days"},
	} {
		data := strings.Replace(string(good), tc.from, tc.to, 1)
		if data == string(good) {
			t.Fatalf("%s: nothing replaced", name)
		}
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".json")
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Load(path)
		if err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: %v, want it to say %q", name, err, tc.says)
		}
	}
}

// The Go check holds for schedules built in code, which no schema sees.
func TestRetentionCheck(t *testing.T) {
	for name, tc := range map[string]struct {
		change func(*Retention)
		says   string
	}{
		"default":     {func(*Retention) {}, ""},
		"zero days":   {func(r *Retention) { r.Streams.KeepDays = 0 }, "streams : keep_days"},
		"wrong event": {func(r *Retention) { r.Files.From = FromSent }, "files se compte à partir de « case_closed »"},
		"no reason":   {func(r *Retention) { r.Audit.Why = "" }, "audit : dites pourquoi"},
	} {
		r := DefaultRetention()
		tc.change(&r)
		err := r.check()
		switch {
		case tc.says == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case tc.says != "" && (err == nil || !strings.Contains(err.Error(), tc.says)):
			t.Errorf("%s: %v, want it to say %q", name, err, tc.says)
		}
	}
}
