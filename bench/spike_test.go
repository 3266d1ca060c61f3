package bench

import (
	"errors"
	"testing"
	"time"
)

// TestSpikeSmall runs the spike profile end to end on its own in-process
// origin, scaled down: every burst line is applied and its movement found
// exactly once, the queue drains, and the report adds up.
func TestSpikeSmall(t *testing.T) {
	rep, err := RunSpike(t.Context(), SpikeConfig{
		Duration: 300 * time.Millisecond, Factor: 3, LinesPerJob: 50, SKUs: 20, CalibrationLines: 300,
		DrainTimeout: time.Minute,
	})
	if err != nil {
		t.Fatalf("spike: %v (report %+v)", err, rep)
	}
	if rep.Jobs < 1 || rep.Lines != int64(rep.Jobs*50) || rep.Applied != rep.Lines || rep.Movements != rep.Lines ||
		rep.Lost != 0 || rep.Duplicates != 0 || rep.SustainedLinesPerSec <= 0 || rep.AcceptP50 <= 0 || rep.AcceptP99 < rep.AcceptP50 {
		t.Fatalf("report does not add up: %+v", rep)
	}
}

// TestSpikeRefusesBadConfig: nonsense settings are ErrConfig, nothing run.
func TestSpikeRefusesBadConfig(t *testing.T) {
	for _, c := range []SpikeConfig{
		{Factor: -1},
		{LinesPerJob: -5},
		{Origin: "http://127.0.0.1:1"}, // without --admin-key
	} {
		if _, err := RunSpike(t.Context(), c); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: %v, want ErrConfig", c, err)
		}
	}
}
