package intake

import (
	"log/slog"
	"testing"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/fault"
)

// FuzzComplete feeds arbitrary bodies to the parser of directly submitted
// requests: it must refuse with an Invalid error or produce a request that
// validates, never panic.
func FuzzComplete(f *testing.F) {
	v, err := schemas.NewValidator()
	if err != nil {
		f.Fatal(err)
	}
	in, err := New(nil, nil, v, []byte("fuzz-secret-0123456789"), slog.New(slog.DiscardHandler))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		`{"channel": "web", "body": "x"}`,
		`{"id": "019ac4e2-5b1a-7c3e-9a10-3f2b6d1e8a99", "channel": "phone", "body": "", "transcript": [{"speaker": "agent", "text": "allô"}]}`,
		`{"channel": "web", "body": "x", "tracking_code": "AAAA-BBBB-CCCC"}`,
		`{"id": 5}`, `[]`, `null`, `{} {}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		req, data, err := in.complete(raw, "fuzz")
		if err != nil {
			if fault.KindOf(err) != fault.Invalid {
				t.Fatalf("error of kind %v: %v", fault.KindOf(err), err)
			}
			return
		}
		if err := v.ValidateRequest(data); err != nil {
			t.Fatalf("the JSON to publish does not validate: %v", err)
		}
		if _, err := v.EncodeRequest(req); err != nil {
			t.Fatalf("completed request does not validate: %v", err)
		}
		if req.TrackingCode != TrackingCode(in.secret, req.ID) {
			t.Fatal("tracking code not derived from the id")
		}
	})
}
