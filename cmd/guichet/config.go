package main

import (
	"os"
	"path/filepath"

	"github.com/ampmetropole/guichet/cmd/guichet/compose"
)

// homeDataDir is where `guichet dev` keeps its data when GUICHET_DATA and
// --data do not say, and where the commands run beside it find its
// database: a folder of the user's.
func homeDataDir() string {
	if os.Geteuid() == 0 {
		// PostgreSQL runs as an unprivileged user, who cannot enter /root.
		return "/var/lib/guichet"
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "guichet")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "share", "guichet")
	}
	return "guichet-data"
}

// Config is Guichet's configuration (compose.Config), parsed from the
// settings table.
type Config = compose.Config
