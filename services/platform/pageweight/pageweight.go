// Package pageweight measures what a first visit to a page transfers:
// its HTML and the style sheets and scripts it loads from its own site,
// uncompressed — the figure `guichet footprint` reports and the citizen
// pages' budget test checks.
package pageweight

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// assetRef finds the style sheets and scripts a page loads from its own
// site.
var assetRef = regexp.MustCompile(`(?:<link[^>]+href|<script[^>]+src)="(/[^"]+)"`)

// Measure is the transfer weight of each page: its HTML and the style
// sheets and scripts it loads (each counted in every page that loads it,
// as a first visit would), bounded in size and time.
func Measure(ctx context.Context, base string, pages []string) (map[string]int, error) {
	client := &http.Client{Timeout: 10 * time.Second}
	get := func(path string) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+path, nil)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("%s : HTTP %d", path, resp.StatusCode)
		}
		return io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	}
	out := map[string]int{}
	for _, p := range pages {
		html, err := get(p)
		if err != nil {
			return nil, err
		}
		total := len(html)
		for _, m := range assetRef.FindAllSubmatch(html, -1) {
			asset, err := get(string(m[1]))
			if err != nil {
				return nil, err
			}
			total += len(asset)
		}
		out[p] = total
	}
	return out, nil
}
