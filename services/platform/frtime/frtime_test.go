package frtime

import (
	"testing"
	"time"
)

func TestDateTime(t *testing.T) {
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.Date(2026, 11, 27, 8, 14, 0, 0, time.UTC), "27 novembre 2026 à 09 h 14"}, // winter: UTC+1
		{time.Date(2026, 7, 1, 22, 5, 0, 0, time.UTC), "2 juillet 2026 à 00 h 05"},     // summer: UTC+2, next day
		{time.Date(2026, 2, 28, 23, 30, 0, 0, time.UTC), "1er mars 2026 à 00 h 30"},
	}
	for _, tt := range tests {
		if got := DateTime(tt.in); got != tt.want {
			t.Errorf("DateTime(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
