package sms

import (
	"context"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/ampmetropole/guichet/services/platform/fault"
)

// Both senders satisfy the interface their consumers will declare.
var (
	_ interface {
		Send(context.Context, Message) error
	} = (*SMPP)(nil)
	_ interface {
		Send(context.Context, Message) error
	} = (*Outbox)(nil)
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestCheckRecipient(t *testing.T) {
	tests := []struct {
		to      string
		digits  string // "" when refused
		wantMsg string
	}{
		{"+33612345678", "33612345678", ""},
		{"+33756123456", "33756123456", ""},
		{"+262692123456", "262692123456", ""},                    // La Réunion
		{"+447911123456", "447911123456", ""},                    // United Kingdom
		{"+12015550123", "12015550123", ""},                      // United States: FIXED_LINE_OR_MOBILE
		{"+33491123456", "", "n'est pas un mobile : pas de SMS"}, // Marseille
		{"+33142345678", "", "n'est pas un mobile"},              // Paris
		{"+33800123456", "", "n'est pas un mobile"},              // toll-free
		{"+33899123456", "", "n'est pas un mobile"},              // premium rate
		{"", "", "vide"},
		{"0612345678", "", "E.164"},
		{"+33 6 12 34 56 78", "", "E.164"},
		{"+330612345678", "", "E.164"}, // not the E.164 form of 06 12 34 56 78
		{"+0612345678", "", "E.164"},
		{"+3361234567890123", "", "E.164"},
		{"+33612", "", "E.164"},
		{"+3361234567", "", "valide"},
		{"+33612345678\n", "", "E.164"},
	}
	for _, tt := range tests {
		t.Run(tt.to, func(t *testing.T) {
			digits, err := parseRecipient(tt.to)
			if tt.digits != "" {
				if err != nil || digits != tt.digits {
					t.Fatalf("parseRecipient = %q, %v; want %q", digits, err, tt.digits)
				}
				if err := CheckRecipient(tt.to); err != nil {
					t.Errorf("CheckRecipient = %v", err)
				}
				return
			}
			if fault.KindOf(err) != fault.Invalid {
				t.Fatalf("parseRecipient = %q, %v; want fault.Invalid", digits, err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not say %q", err, tt.wantMsg)
			}
		})
	}
}

func TestCheckSender(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"AMPMetropole", false}, // 12 characters
		{"AMPMetropol", true},
		{"Guichet", true},
		{"AMP13", true},
		{"A", true},
		{"", false},
		{"12345", false},
		{"Métropole", false},
		{"AMP Metro", false},
		{"AMP-Metro", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkSender(tt.name)
			if tt.ok != (err == nil) {
				t.Fatalf("checkSender(%q) = %v, want ok=%v", tt.name, err, tt.ok)
			}
			if err != nil && fault.KindOf(err) != fault.Invalid {
				t.Errorf("checkSender(%q) = %v, want fault.Invalid", tt.name, err)
			}
		})
	}
}
