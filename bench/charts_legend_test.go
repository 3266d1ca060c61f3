package bench

import (
	"math"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
)

// TestLegendRoomKeepsTheLegendOffTheLines: on a linear and a log axis,
// with the legend on top or at the bottom, the band the legend sits in
// (legendShare of the axis) holds no data.
func TestLegendRoomKeepsTheLegendOffTheLines(t *testing.T) {
	for _, tc := range []struct {
		name     string
		top, log bool
	}{{"linear top", true, false}, {"log top", true, true}, {"log bottom", false, true}, {"linear bottom", false, false}} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPlot("t", "x", "y")
			p.Legend.Top = tc.top
			xys := plotter.XYs{{X: 0, Y: 3}, {X: 1, Y: 800}, {X: 2, Y: 40}}
			if err := addLine(p, "a", colorP50, false, xys); err != nil {
				t.Fatal(err)
			}
			if tc.log {
				logY(p, true)
			}
			legendRoom(p, true)
			// Where the data's extremes fall on the axis, 0 bottom to 1 top.
			pos := func(v float64) float64 {
				if tc.log {
					return (math.Log10(v) - math.Log10(p.Y.Min)) / (math.Log10(p.Y.Max) - math.Log10(p.Y.Min))
				}
				return (v - p.Y.Min) / (p.Y.Max - p.Y.Min)
			}
			hi, lo := pos(800), pos(3)
			if tc.top && hi > 1-legendShare+1e-9 {
				t.Fatalf("the data reaches %.2f of the axis; the top %.2f is the legend's", hi, legendShare)
			}
			if !tc.top && lo < legendShare-1e-9 {
				t.Fatalf("the data goes down to %.2f of the axis; the bottom %.2f is the legend's", lo, legendShare)
			}
			if _, ok := p.Y.Scale.(plot.LogScale); ok != tc.log {
				t.Fatalf("log scale %v, want %v", ok, tc.log)
			}
		})
	}
}
