package fault

import (
	"errors"
	"fmt"
	"testing"
)

func TestKindOfAndRetryable(t *testing.T) {
	base := errors.New("base")
	tests := []struct {
		name      string
		err       error
		kind      Kind
		retryable bool
	}{
		{"plain error", base, Other, true},
		{"invalid", E(Invalid, base), Invalid, false},
		{"wrapped with context", fmt.Errorf("router: %w", E(Transient, base)), Transient, true},
		{"outermost kind wins", E(Permanent, fmt.Errorf("x: %w", E(Transient, base))), Permanent, false},
		{"not found", E(NotFound, base), NotFound, true},
		{"conflict", E(Conflict, base), Conflict, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := KindOf(tt.err); got != tt.kind {
				t.Errorf("KindOf = %v, want %v", got, tt.kind)
			}
			if got := Retryable(tt.err); got != tt.retryable {
				t.Errorf("Retryable = %v, want %v", got, tt.retryable)
			}
			if !errors.Is(tt.err, base) {
				t.Error("the underlying error is lost")
			}
		})
	}
	if E(Invalid, nil) != nil {
		t.Error("E(kind, nil) must stay nil")
	}
}
