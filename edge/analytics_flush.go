package edge

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"maps"
	"slices"
	"strconv"

	"github.com/shortstock/shortstock/internal/slicer"
	"github.com/shortstock/shortstock/internal/wire"
)

// pendingBatch is a click batch built and frozen: it is resent byte for
// byte under its ID until the origin takes it, so the origin counts it
// once (wire.ClickBatch.Batch) however many times it was sent.
type pendingBatch struct {
	id    string
	body  []byte
	total int64 // clicks and bots in it
}

// shipAmount decides how much of code's count t goes in this batch. With
// analytics on, a count whose classified clicks have not all arrived yet
// (the hit path counts, then the worker classifies) waits one flush for
// them, unless the worker is sampling or this is the last flush.
func (s *Server) shipAmount(code string, t int64, ca *codeAgg, hold bool) int64 {
	if g, ok := s.heldClicks[code]; ok {
		if g == s.flushGen {
			return 0 // held in this flush
		}
		delete(s.heldClicks, code)
		return t
	}
	var n int64
	if ca != nil {
		n = ca.n
	}
	if s.an == nil || !hold || n >= t || s.anSampled {
		return t
	}
	s.heldClicks[code] = s.flushGen
	return n
}

// codeHours turns x clicks of code (bots included), of which ca holds
// the classified ones, into wire hours: the classified clicks scaled to x
// (exact when all were classified), or none when none were (x
// unclassified clicks, filed by the origin under the batch's time). It
// returns the human clicks among them.
func codeHours(code string, x int64, ca *codeAgg) (int64, []wire.ClickHour) {
	if ca == nil || ca.n == 0 {
		return x, nil // unclassified: the origin files them under the batch's At
	}
	hours := slices.Sorted(maps.Keys(ca.hours))
	// Scale with a running total so the parts add up to x exactly.
	sc := scaler{num: x, den: ca.n}
	var humans int64
	out := make([]wire.ClickHour, 0, len(hours))
	for _, h := range hours {
		a := ca.hours[h]
		c, b := sc.take(a.clicks), sc.take(a.bots)
		if c+b == 0 {
			continue
		}
		wh := wire.ClickHour{Code: code, Hour: h, Clicks: c, Bots: b, Sampled: a.clicks + a.bots,
			Referrers: scaleMap(a.referrers, c, a.clicks), Browsers: scaleMap(a.browsers, c, a.clicks),
			Countries: scaleMap(a.countries, c, a.clicks), Devices: scaleMap(a.devices, c, a.clicks)}
		if b > 0 {
			if wh.Devices == nil {
				wh.Devices = map[string]int64{}
			}
			wh.Devices[deviceBot] = b
		}
		if wh.Sampled > c+b {
			wh.Sampled = c + b // fewer clicks than samples (a late sample): all of them were seen
		}
		humans += c
		out = append(out, wh)
	}
	return humans, out
}

// scaler scales counts by num/den, rounding so that the running total of
// what it hands out is the rounded running total of the exact values.
type scaler struct {
	num, den   int64
	acc, given int64 // acc: sum of the inputs so far
}

func (s *scaler) take(n int64) int64 {
	s.acc += n
	want := (s.acc*s.num + s.den/2) / s.den
	out := want - s.given
	s.given = want
	return out
}

// scaleMap scales a breakdown counted over den clicks to num clicks.
func scaleMap(m map[string]int64, num, den int64) map[string]int64 {
	if len(m) == 0 || num == 0 {
		return nil
	}
	ks := slices.SortedFunc(maps.Keys(m), func(a, b string) int { return cmp.Compare(a, b) })
	sc := scaler{num: num, den: den}
	out := make(map[string]int64, len(m))
	for _, k := range ks {
		if n := sc.take(m[k]); n > 0 {
			out[k] = n
		}
	}
	return out
}

// nextBatch builds the next batch from what is pending: up to
// maxCodesPerBatch codes. nil when nothing is ready to go.
func (s *Server) nextBatch(hold bool) *pendingBatch {
	now := s.cfg.Clock.Now()
	var hours []wire.ClickHour
	var total int64
	codes := 0
	// The buffers of the last batch, which was delivered (a batch is
	// built only when none is in flight, and the origin client's calls
	// are synchronous, so nothing reads them now): a busy edge's batch is
	// megabytes a second, which would otherwise be garbage.
	body := append(s.batchBody[:0], `{"batch":`...)
	s.batchSeq++
	id := s.batchPrefix + strconv.FormatUint(s.batchSeq, 10)
	body = strconv.AppendQuote(body, id)
	body = strconv.AppendInt(append(body, `,"at":`...), now.Unix(), 10)
	counts := s.batchCounts[:0]
	for code, t := range s.pendingClicks {
		// In slices, as Clicks.Drain: a batch is up to maxCodesPerBatch
		// codes, milliseconds of work on the core that serves requests.
		s.flushSlicer.Tick()
		ca := s.pendingAn[code]
		x := s.shipAmount(code, t, ca, hold)
		if x <= 0 {
			continue
		}
		humans, hs := codeHours(code, x, ca)
		hours = append(hours, hs...)
		delete(s.pendingAn, code)
		if left := t - x; left > 0 {
			s.pendingClicks[code] = left
		} else {
			delete(s.pendingClicks, code)
		}
		total += x
		if humans > 0 {
			if len(counts) > 0 {
				counts = append(counts, ',')
			}
			counts = appendClick(counts, code, humans)
		}
		if codes++; codes == maxCodesPerBatch {
			break
		}
	}
	if codes == 0 {
		s.batchSeq--
		return nil
	}
	if len(hours) > 0 {
		hj, _ := json.Marshal(hours) // plain structs and maps: cannot fail
		body = append(append(body, `,"hours":`...), hj...)
	}
	body = append(body, ',')
	body = append(body, s.clickBatchHead[1:]...) // "edge":NAME,"counts":{
	body = append(append(body, counts...), "}}"...)
	s.batchBody, s.batchCounts = body, counts
	return &pendingBatch{id: id, body: body, total: total}
}

// takeAnalytics moves what the worker classified into pendingAn, and
// ages out classified clicks whose count never came (a sample whose
// count went in an earlier batch).
func (s *Server) takeAnalytics() {
	if s.an == nil {
		return
	}
	for code, ca := range s.pendingAn {
		if ca.age++; ca.age > 2 {
			delete(s.pendingAn, code)
		}
	}
	agg, classified, sampled := s.an.take()
	s.anSampled, s.anClassified = sampled, classified
	s.m.anClassified.Add(float64(classified))
	for code, ca := range agg {
		old := s.pendingAn[code]
		if old == nil {
			s.pendingAn[code] = ca
			continue
		}
		old.age, old.n = 0, old.n+ca.n
		for h, a := range ca.hours {
			o := old.hours[h]
			if o == nil {
				old.hours[h] = a
				continue
			}
			o.clicks += a.clicks
			o.bots += a.bots
			o.referrers = mergeCounts(o.referrers, a.referrers)
			o.devices = mergeCounts(o.devices, a.devices)
			o.browsers = mergeCounts(o.browsers, a.browsers)
			o.countries = mergeCounts(o.countries, a.countries)
		}
	}
}

func mergeCounts(dst, src map[string]int64) map[string]int64 {
	for k, n := range src {
		if dst == nil {
			dst = map[string]int64{}
		}
		if _, ok := dst[k]; !ok && len(dst) >= maxBreakdownKeys-1 {
			k = "other"
		}
		dst[k] += n
	}
	return dst
}

// anFlushState is the flusher's batch and analytics state, guarded by
// Server.clickMu.
type anFlushState struct {
	inflight     *pendingBatch
	batchPrefix  string // "<random instance id>-": unique per edge process
	batchSeq     uint64
	flushGen     uint64
	heldClicks   map[string]uint64   // code -> flushGen it was held in
	pendingAn    map[string]*codeAgg // classified, count not sent yet
	anSampled    bool                // the classifier sampled or lost clicks in the last period
	anClassified uint64              // clicks it classified in the last period
	// batchBody and batchCounts are the last batch's buffers, reused by
	// the next (see nextBatch).
	batchBody, batchCounts []byte
	// flushSlicer paces a flush's walks over every clicked code.
	flushSlicer slicer.Slicer
}

func newAnFlushState() anFlushState {
	var id [8]byte
	_, _ = rand.Read(id[:]) // crypto/rand.Read never fails
	return anFlushState{
		batchPrefix: hex.EncodeToString(id[:]) + "-",
		heldClicks:  map[string]uint64{},
		pendingAn:   map[string]*codeAgg{},
	}
}

// noteSampling reports the share of the clicks counted in a flush period
// (counted) that were classified one by one.
func (s *Server) noteSampling(counted int64) {
	if s.an == nil || counted <= 0 {
		return
	}
	c := float64(s.anClassified)
	n := float64(counted)
	s.m.anSampleRate.Set(min(1, c/n))
	s.m.anSkipped.Add(max(0, n-c))
}
