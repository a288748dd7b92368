package compose

import (
	"github.com/ampmetropole/guichet/services/channels/web/geocode"
	"github.com/ampmetropole/guichet/services/channels/web/webform"
)

// MapConfig is the request form's map: where its tiles come from, how they
// are credited, and the reverse geocoder that fills the address from the
// pin.
type MapConfig struct {
	Tiles       string // URL template with {z}, {x}, {y}; "": no map
	Attribution string // "": PlanIGN's credit with PlanIGN tiles
	GeocoderURL string // BAN-format reverse endpoint; "": the pin only
	// GeocoderRate is the address look-ups a minute one client address
	// may make.
	GeocoderRate int
}

// formMap puts the map on the web form, with its geocoder when one is
// configured.
func (a *App) formMap(cfg Config, wc *webform.Config, wd *webform.Deps) error {
	wc.Map = webform.MapConfig{Tiles: cfg.Map.Tiles, Attribution: cfg.Map.Attribution, ReversePerMinute: cfg.Map.GeocoderRate}
	if cfg.Map.GeocoderURL == "" {
		return nil
	}
	if cfg.Map.Tiles == "" {
		a.Log.Warn("web map: GUICHET_GEOCODER_URL ignored, there is no map (GUICHET_MAP_TILES=none)")
		return nil
	}
	g, err := geocode.New(geocode.Config{URL: cfg.Map.GeocoderURL}, a.Places)
	if err != nil {
		return err
	}
	wd.Geocoder = g
	return nil
}
