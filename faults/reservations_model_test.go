package faults

import (
	"fmt"
	"math"
	"sync"

	"github.com/anishathalye/porcupine"
)

// The linearizability model: one (sku, warehouse) is an object whose state
// is its on_hand, its reserved total and which of this test's holds are
// live. Linearizability is local (a history is linearizable iff every
// object's sub-history is), so each warehouse is checked on its own and
// histories stay small enough for porcupine to finish in milliseconds.

type opKind uint8

const (
	opReserve opKind = iota
	opCommit
	opRelease
	opRead
)

func (k opKind) String() string {
	return [...]string{"reserve", "commit", "release", "read"}[k]
}

type result uint8

const (
	resOK result = iota
	resInsufficient
	// resUnknown: the client gave up without a definite answer, so the
	// operation may or may not have taken effect (its return time is
	// infinity).
	resUnknown
)

// whState is comparable, so porcupine can merge equal states.
type whState struct {
	onHand, reserved int64
	held             uint64 // bit i: this test's hold number i in the warehouse is live
}

// whInput: idx numbers the holds of one warehouse (at most 64, which the
// workload guarantees by spreading workflows evenly).
type whInput struct {
	kind opKind
	idx  int
	qty  int64
}

type whOutput struct {
	res              result
	onHand, reserved int64 // for reads
}

// unknownReturn is porcupine's "never returned".
const unknownReturn = math.MaxInt64

func warehouseModel(onHand int64) porcupine.Model {
	nm := porcupine.NondeterministicModel{
		Init: func() []any { return []any{whState{onHand: onHand}} },
		Step: func(state, input, output any) []any {
			s, in, out := state.(whState), input.(whInput), output.(whOutput)
			bit := uint64(1) << in.idx
			var applies bool // may the operation take effect in state s?
			var next whState
			switch in.kind {
			case opRead:
				if s.onHand == out.onHand && s.reserved == out.reserved {
					return []any{s}
				}
				return nil
			case opReserve:
				applies = s.onHand-s.reserved >= in.qty
				next = whState{s.onHand, s.reserved + in.qty, s.held | bit}
				if out.res == resInsufficient {
					if applies {
						return nil // refused although it fitted
					}
					return []any{s}
				}
			case opCommit:
				applies = s.held&bit != 0
				next = whState{s.onHand - in.qty, s.reserved - in.qty, s.held &^ bit}
			case opRelease:
				applies = s.held&bit != 0
				next = whState{s.onHand, s.reserved - in.qty, s.held &^ bit}
			}
			switch {
			case out.res == resOK && applies:
				return []any{next}
			case out.res == resUnknown && applies:
				return []any{s, next}
			case out.res == resUnknown:
				return []any{s}
			}
			return nil
		},
		DescribeOperation: func(input, output any) string {
			in, out := input.(whInput), output.(whOutput)
			if in.kind == opRead {
				return fmt.Sprintf("read() -> on_hand=%d reserved=%d", out.onHand, out.reserved)
			}
			return fmt.Sprintf("%s(#%d, %d) -> %s", in.kind, in.idx, in.qty, [...]string{"ok", "insufficient", "unknown"}[out.res])
		},
		DescribeState: func(state any) string {
			s := state.(whState)
			return fmt.Sprintf("on_hand=%d reserved=%d held=%b", s.onHand, s.reserved, s.held)
		},
	}
	return nm.ToModel()
}

// history collects operations per warehouse from many goroutines. Times
// are nanoseconds since the run started, taken on the client: a call
// before the request is sent, a return after the answer is read.
type history struct {
	mu  sync.Mutex
	ops map[whKey][]porcupine.Operation
}

type whKey struct {
	sku string
	wh  int
}

func newHistory() *history { return &history{ops: map[whKey][]porcupine.Operation{}} }

func (h *history) add(k whKey, client int, in whInput, out whOutput, call, ret int64) {
	h.mu.Lock()
	h.ops[k] = append(h.ops[k], porcupine.Operation{ClientId: client, Input: in, Output: out, Call: call, Return: ret})
	h.mu.Unlock()
}
