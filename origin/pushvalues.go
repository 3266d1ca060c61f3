package origin

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/shortstock/shortstock/internal/change"
	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/internal/wire"
	"github.com/shortstock/shortstock/origin/store"
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
// values (see tailer.valuesUntil): a pass over many small pages (a burst
// of writes spread over hundreds of partitions, each page a Redis round
// trip) must not hold the invalidations back. Past it, the pass's changes
// go out without values.
const pushValuesBudget = time.Millisecond

// pushValuesMaxParts is the most partitions a tailer pass may cover and
// still read values (tailer.startValues).
const pushValuesMaxParts = 4

// pushValueTimeout bounds the reads of one page's values.
const pushValueTimeout = 250 * time.Millisecond

// attachValues sets Value on the changes of a page when it is small, until
// the clock reaches until. A store.BatchReader reads the whole page's keys
// in one round trip; any other store is read key by key, the budget
// checked between reads.
func (s *Server) attachValues(ctx context.Context, cs []change.Change, until time.Time) {
	if !s.pushValues {
		return
	}
	if len(cs) > pushValuesMaxPage {
		s.metrics.valuesPushed.WithLabelValues("busy").Add(float64(len(cs)))
		return
	}
	// A stuck read must not hold the page.
	ctx, cancel := context.WithTimeout(ctx, pushValueTimeout)
	defer cancel()
	if br, ok := s.store.(store.BatchReader); ok {
		s.attachBatched(ctx, br, cs, until)
		return
	}
	for i := range cs {
		if cs[i].Purge != 0 {
			continue
		}
		if !s.cfg.Clock.Now().Before(until) {
			s.metrics.valuesPushed.WithLabelValues("busy").Add(float64(len(cs) - i))
			return
		}
		kind, id, _ := keys.Split(cs[i].Key)
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
			err = errPushKind
		}
		s.setValue(&cs[i], a, err)
	}
}

// pushesValues resolves Config.PushValues for the store.
func pushesValues(mode PushValuesMode, st store.Store) bool {
	switch mode {
	case PushValuesOn:
		return true
	case PushValuesOff:
		return false
	}
	lr, ok := st.(store.LocalReader)
	return ok && lr.LocalReads()
}

// errPushKind: a change of a key kind without a fetch answer.
var errPushKind = errors.New("origin: no answer to push for this key kind")

// attachBatched reads the page's links and SKUs in one call each.
func (s *Server) attachBatched(ctx context.Context, br store.BatchReader, cs []change.Change, until time.Time) {
	if !s.cfg.Clock.Now().Before(until) {
		s.metrics.valuesPushed.WithLabelValues("busy").Add(float64(len(cs)))
		return
	}
	var linkAt, stockAt []int
	var codes, skus []string
	for i := range cs {
		if cs[i].Purge != 0 {
			continue
		}
		switch kind, id, _ := keys.Split(cs[i].Key); kind {
		case keys.KindLink:
			linkAt, codes = append(linkAt, i), append(codes, id)
		case keys.KindStock:
			stockAt, skus = append(stockAt, i), append(skus, id)
		default:
			s.setValue(&cs[i], fetchAnswer{}, errPushKind)
		}
	}
	if len(codes) > 0 {
		ls, errs := br.GetLinks(ctx, codes)
		now := s.cfg.Clock.Now()
		for j, i := range linkAt {
			a, err := s.linkAnswer(ls[j], errs[j], now)
			s.setValue(&cs[i], a, err)
		}
	}
	if len(skus) > 0 {
		vs, errs := br.GetStocks(ctx, skus)
		for j, i := range stockAt {
			a, err := s.stockAnswer(vs[j], errs[j])
			s.setValue(&cs[i], a, err)
		}
	}
}

// setValue attaches the rendered answer a (or nothing, when it could not
// be read, is at another version than the change, or is too large) and
// counts the outcome.
func (s *Server) setValue(c *change.Change, a fetchAnswer, err error) {
	v, result := s.pushedValue(*c, a, err)
	c.Value = v
	s.metrics.valuesPushed.WithLabelValues(result).Inc()
}

// pushedValue renders the key's answer a at c.Version, or "" and why not.
func (s *Server) pushedValue(c change.Change, a fetchAnswer, err error) (string, string) {
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
