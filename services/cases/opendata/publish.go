package opendata

import (
	"bytes"
	"context"
	"sort"
	"sync"
	"time"

	"github.com/ampmetropole/guichet/services/platform/frtime"
)

// Published is the files as published on a day, and what they hold.
type Published struct {
	CSV, Schema []byte
	Rows        []Row
	Until       time.Time // the months before it (Paris time)
	At          time.Time // when the files were written
}

// Publisher writes the files once a day (Paris time) and keeps them: the
// public page and its downloads read the same files all day.
type Publisher struct {
	src  Source
	now  func() time.Time
	mu   sync.Mutex
	last *Published
}

// FileName is the CSV's name in the descriptor and the downloads.
const FileName = "demandes.csv"

// NewPublisher publishes src's figures.
func NewPublisher(src Source) *Publisher { return &Publisher{src: src, now: time.Now} }

// Files returns the day's files, written at the first call of the day.
func (p *Publisher) Files(ctx context.Context) (*Published, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now().In(frtime.Paris())
	if p.last != nil && sameDay(p.last.At, now) {
		return p.last, nil
	}
	until := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, now.Location())
	rows, err := p.src.Rows(ctx, until)
	if err != nil {
		return nil, err
	}
	var csv bytes.Buffer
	if err := p.src.WriteCSV(&csv, rows); err != nil {
		return nil, err
	}
	schema, err := p.src.Descriptor(FileName, now)
	if err != nil {
		return nil, err
	}
	p.last = &Published{CSV: csv.Bytes(), Schema: append(schema, '\n'), Rows: rows, Until: until, At: now}
	return p.last, nil
}

func sameDay(a, b time.Time) bool {
	a = a.In(frtime.Paris())
	b = b.In(frtime.Paris())
	return a.Year() == b.Year() && a.YearDay() == b.YearDay()
}

// Month is a month's published totals: the sum of the published cells
// (suppressed ones are not in it, so it is at least the true count).
type Month struct {
	Month              string
	Received, Finished int
}

// Months sums rows by month, oldest first.
func Months(rows []Row) []Month {
	by := map[string]*Month{}
	for _, r := range rows {
		m := by[r.Month]
		if m == nil {
			m = &Month{Month: r.Month}
			by[r.Month] = m
		}
		if r.Received != nil {
			m.Received += *r.Received
		}
		if r.Finished != nil {
			m.Finished += *r.Finished
		}
	}
	out := make([]Month, 0, len(by))
	for _, m := range by {
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Month < out[j].Month })
	return out
}
