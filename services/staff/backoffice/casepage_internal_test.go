package backoffice

import (
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/ampmetropole/guichet/schemas"
)

func TestFileSize(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{{0, "0 octets"}, {820, "820 octets"}, {1024, "1,0 Ko"}, {1260, "1,2 Ko"}, {3 << 20, "3,0 Mo"}, {10<<20 - 1, "10,0 Mo"}} {
		if got := fileSize(tc.n); got != tc.want {
			t.Errorf("fileSize(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

func TestPieceOf(t *testing.T) {
	sha := "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
	for _, tc := range []struct {
		a    schemas.Attachment
		want piece
	}{
		{schemas.Attachment{Name: "trou.jpg", ContentType: "image/jpeg", Size: 2048, ObjectKey: "sha256/" + sha},
			piece{ID: sha, Name: "trou.jpg", Kind: "photo JPEG", Size: "2,0 Ko", Image: true}},
		{schemas.Attachment{Name: "trou.heic", ContentType: "image/heic", Size: 10, SHA256: sha, ObjectKey: "sha256/" + sha},
			piece{ID: sha, Name: "trou.heic", Kind: "photo HEIC (à télécharger)", Size: "10 octets"}},
		{schemas.Attachment{Name: "plan.pdf", ContentType: "application/pdf", Size: 5 << 20, SHA256: sha},
			piece{ID: sha, Name: "plan.pdf", Kind: "document PDF", Size: "5,0 Mo"}},
	} {
		if got := pieceOf(tc.a); got != tc.want {
			t.Errorf("pieceOf(%s) = %+v, want %+v", tc.a.Name, got, tc.want)
		}
	}
}

func TestPlaces(t *testing.T) {
	lat, lon, bad := 43.52637, 5.44539, 123.0
	reqs := []schemas.Request{
		{Location: &schemas.Location{Address: " 2 place des Prêcheurs ", PostalCode: "13100", CommuneINSEE: "13001", Lat: &lat, Lon: &lon}},
		{}, // no place
		{Location: &schemas.Location{Address: "2 place des Prêcheurs", PostalCode: "13100", CommuneINSEE: "13001", Lat: &lat, Lon: &lon}}, // the same again
		{Location: &schemas.Location{PostalCode: "13400"}},                            // one commune has it
		{Location: &schemas.Location{PostalCode: "13600"}},                            // several communes have it: none named
		{Location: &schemas.Location{Address: "quai", Lat: &bad, Lon: &lon}},          // coordinates out of range
		{Location: &schemas.Location{PostalCode: "13006", CommuneINSEE: "13206"}},     // an arrondissement: Marseille
		{Location: &schemas.Location{}},                                               // empty
		{Location: &schemas.Location{Address: "x", CommuneINSEE: "75056", Lat: &lat}}, // not of the Métropole; half the coordinates
	}
	want := []place{
		{Address: "2 place des Prêcheurs", PostalCode: "13100", Commune: "Aix-en-Provence", Coordinates: "latitude 43,52637, longitude 5,44539",
			MapURL: "https://www.openstreetmap.org/?mlat=43.52637&mlon=5.44539#map=18/43.52637/5.44539"},
		{PostalCode: "13400", Commune: "Aubagne"},
		{PostalCode: "13600"},
		{Address: "quai"},
		{PostalCode: "13006", Commune: "Marseille"},
		{Address: "x"},
	}
	if got := places(reqs); !slices.Equal(got, want) {
		t.Errorf("places:\n%+v\nwant\n%+v", got, want)
	}
}

func TestAppendParagraph(t *testing.T) {
	for _, tc := range []struct{ typed, want string }{
		{"", "T"}, {"  \n", "T"}, {"Bonjour", "Bonjour\n\nT"}, {"Bonjour\n\n\n", "Bonjour\n\nT"},
	} {
		if got := appendParagraph(tc.typed, "T"); got != tc.want {
			t.Errorf("appendParagraph(%q) = %q, want %q", tc.typed, got, tc.want)
		}
	}
}

func TestPanelOf(t *testing.T) {
	for path, want := range map[string]string{
		"/bo/dossiers/AMP-2026-000001/etat": panelState, "/bo/dossiers/AMP-2026-000001/modele": panelReply,
		"/bo/dossiers/AMP-2026-000001/reponse": panelReply, "/bo/dossiers/AMP-2026-000001/defusionner": panelMerge,
		"/bo/dossiers/AMP-2026-000001/orienter": panelReroute, "/bo/dossiers/AMP-2026-000001": "",
	} {
		if got := panelOf(httptest.NewRequest("POST", path, nil)); got != want {
			t.Errorf("panelOf(POST %s) = %q, want %q", path, got, want)
		}
	}
	if got := panelOf(httptest.NewRequest("GET", "/bo/dossiers/AMP-2026-000001/etat", nil)); got != "" {
		t.Errorf("panelOf(GET) = %q", got)
	}
}
