package origin

import (
	"context"
	"encoding/json"
	"time"

	"github.com/shortstock/shortstock/internal/change"
	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/internal/wire"
)

// Pushed values: the tailer attaches to a write's change the answer an
// edge would fetch for the key at the change's version, so every edge that
// holds the key installs it at once instead of dropping its entry and
// sending the origin one fetch per edge. Without this, one write to a hot
// key costs a fetch from every edge of the region.
//
// A value is attached only when the read returns exactly the change's
// version (a later write gets its own change and value; a lagging replica
// or a cold link gives none) and fits change.MaxValueLen. An edge treats a
// value as a fetch that answered that version, so it changes no
// guarantee: the floors refuse it when a newer version is known.

// pushValuesMaxPage is the largest page of changes whose values are
// attached: a larger page is a backlog (a bulk job, a catch-up after a
// stall), where one store read per change would slow the invalidations
// down; its changes go out as plain invalidations.
const pushValuesMaxPage = 64

// pushValuesBudget bounds the time one pass of the tailer spends reading
// values (see tailer.valuesUntil): on Redis each read is a round trip, and
// a pass over many small pages (a burst of writes spread over hundreds of
// partitions) must not hold the invalidations back. Past it, the pass's
// changes go out without values.
const pushValuesBudget = 5 * time.Millisecond

// pushValueTimeout bounds the reads of one page's values.
const pushValueTimeout = 250 * time.Millisecond

// attachValues sets Value on the changes of a page when it is small, until
// the clock reaches until.
func (s *Server) attachValues(ctx context.Context, cs []change.Change, until time.Time) {
	if s.cfg.NoPushValues {
		return
	}
	if len(cs) > pushValuesMaxPage {
		s.metrics.valuesPushed.WithLabelValues("busy").Add(float64(len(cs)))
		return
	}
	// A stuck read must not hold the page (the budget is checked only
	// between reads).
	ctx, cancel := context.WithTimeout(ctx, pushValueTimeout)
	defer cancel()
	for i := range cs {
		if cs[i].Purge != 0 {
			continue
		}
		if !s.cfg.Clock.Now().Before(until) {
			s.metrics.valuesPushed.WithLabelValues("busy").Add(float64(len(cs) - i))
			return
		}
		v, result := s.pushedValue(ctx, cs[i])
		cs[i].Value = v
		s.metrics.valuesPushed.WithLabelValues(result).Inc()
	}
}

// pushedValue renders the key's answer at c.Version, or "" and why not.
func (s *Server) pushedValue(ctx context.Context, c change.Change) (string, string) {
	kind, id, ok := keys.Split(c.Key)
	if !ok {
		return "", "error"
	}
	var a fetchAnswer
	var err error
	switch kind {
	case keys.KindLink:
		l, lerr := s.store.GetLink(ctx, id)
		a, err = s.linkAnswer(l, lerr, s.cfg.Clock.Now())
	case keys.KindStock:
		v, verr := s.store.GetStock(ctx, id)
		a, err = s.stockAnswer(v, verr)
	default:
		return "", "error"
	}
	if err != nil {
		return "", "error"
	}
	if a.version != c.Version {
		return "", "moved_on"
	}
	body, err := json.Marshal(a.body)
	if err != nil {
		return "", "error"
	}
	body = append(body, '\n') // as writeJSON sends it
	v := wire.AppendPushedAnswer(nil, a.status, a.ttl, body)
	if len(v) > change.MaxValueLen {
		return "", "too_large"
	}
	return string(v), "pushed"
}
