package intake

import (
	"log/slog"
	"testing"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/platform/fault"
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
		`{"channel": "web", "body": "a\u0000b"}`, `{"channel": "web", "body": "x", "source": {"adapter": "x", "system": "autre"}}`,
		`{"channel": "web", "body": "x", "link": {"case_ref": "AMP-2026-000001", "by": "agent"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		req, data, _, err := in.complete(raw, From{Adapter: "api", System: "fuzz"})
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
		if req.TrackingCode != in.codeFor("fuzz", req.ID) || req.TrackingCode == TrackingCode(in.secret, req.ID) {
			t.Fatal("tracking code not derived from the system and the id")
		}
		if req.Source.System != "fuzz" || req.Link != nil || req.Supersedes != "" {
			t.Fatalf("what the caller may not say got through: %+v %v %q", req.Source, req.Link, req.Supersedes)
		}
	})
}
