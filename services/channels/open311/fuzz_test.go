package open311_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/ampmetropole/guichet/schemas"
	"github.com/ampmetropole/guichet/services/cases/catalogue"
	"github.com/ampmetropole/guichet/services/cases/territory"
	"github.com/ampmetropole/guichet/services/channels/open311"
)

// FuzzParseRequest feeds arbitrary form bodies to the parser of partners'
// POSTs: it must answer, never panic, and what it accepts must be a
// request the intake's schema accepts too.
func FuzzParseRequest(f *testing.F) {
	cat, err := catalogue.Default()
	if err != nil {
		f.Fatal(err)
	}
	places, err := territory.Load()
	if err != nil {
		f.Fatal(err)
	}
	v, err := schemas.NewValidator()
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		"service_code=voirie&lat=43.3&long=5.4&description=Trou",
		"service_code=proprete&address_string=12+avenue+des+Goums+13400+Aubagne&attribute%5Bpublication%5D=true&attribute%5Bobjet%5D=Tag",
		"service_code=voirie&address_string=Cours+Mirabeau&email=a%40example.org&phone=06+12+34+56+78&first_name=L%C3%A9a&last_name=Roux",
		"service_code=dechets&lat=43.5297&long=5.4474&media_url=https%3A%2F%2Fexample.org%2Fp.jpg&account_id=42&device_id=x",
		"service_code=voirie&lat=43,3&long=5.4",
		"service_code=voirie&lat=1e400&long=NaN",
		"attribute%5Bpublication%5D%5B%5D=true&service_code=voirie&address_string=%00",
		"service_code=voirie&service_code=proprete",
		"service_code=%FF&address_string=%C3",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		req, problems := open311.ParseRequest(form, cat, places, "partenaire")
		if len(problems) > 0 {
			for _, p := range problems {
				if p == "" {
					t.Fatal("an empty problem")
				}
			}
			return
		}
		if req.Channel != schemas.ChannelOpen311 || req.Source.System != "partenaire" || req.Hints == nil || req.Location == nil {
			t.Fatalf("accepted without its essentials: %+v", req)
		}
		// Completed as the intake completes it, it must match request.v1.
		req.ID, req.Schema, req.Language = "019ac4e4-0a11-7b66-8f70-5a4b3c2d1e05", schemas.RequestV1, "fr"
		req.ReceivedAt, req.TrackingCode = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC), "N1PV-6SHE-7RAT"
		if _, err := v.EncodeRequest(req); err != nil {
			t.Fatalf("accepted %q, which request.v1 refuses: %v", body, err)
		}
	})
}
