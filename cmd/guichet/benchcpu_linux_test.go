package main

import (
	"os"
	"testing"
)

func TestParseProcStat(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     procTimes
		ok       bool
	}{
		{"postgres backend", "2733 (postgres) S 943 2733 2733 0 -1 4194368 1433 0 0 0 118 37 5 7 20 0 1 0 4869 227581952 3457 18446744073709551615",
			procTimes{comm: "postgres", ppid: 943, utime: 118, stime: 37, cutime: 5, cstime: 7}, true},
		{"command with spaces and parentheses", "12 (a (b) c) R 1 12 12 0 -1 0 0 0 0 0 3 4 0 0 20 0 1 0",
			procTimes{comm: "a (b) c", ppid: 1, utime: 3, stime: 4}, true},
		{"cut short", "12 (x) R 1 12", procTimes{}, false},
		{"no command", "garbage", procTimes{}, false},
		{"empty", "", procTimes{}, false},
	} {
		got, ok := parseProcStat(tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("%s: %+v %v, want %+v %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
	if st, ok := procStat(os.Getpid()); !ok || st.ppid != os.Getppid() {
		t.Errorf("this process: %+v %v, parent %d", st, ok, os.Getppid())
	}
	if d, ok := selfCPU(); !ok || d <= 0 {
		t.Errorf("own CPU time %v %v", d, ok)
	}
}

func FuzzParseProcStat(f *testing.F) {
	f.Add("2733 (postgres) S 943 2733 2733 0 -1 4194368 1433 0 0 0 118 37 5 7 20 0")
	f.Add("1 ()) ( 2 3")
	f.Fuzz(func(t *testing.T, s string) {
		parseProcStat(s) // must not panic
	})
}
