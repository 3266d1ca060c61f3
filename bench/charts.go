package bench

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// chart is one PNG of the report.
type chart struct {
	File    string // file name in the report directory
	Title   string
	Caption string
	PNG     []byte
}

const chartW, chartH = 9 * vg.Inch, 4 * vg.Inch

var (
	colorP50  = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	colorP99  = color.RGBA{R: 255, G: 127, B: 14, A: 255}
	colorMax  = color.RGBA{R: 214, G: 39, B: 40, A: 255}
	colorRead = color.RGBA{R: 44, G: 160, B: 44, A: 255}
	colorGray = color.RGBA{R: 127, G: 127, B: 127, A: 255}
)

// charts draws the report's charts.
func charts(rep *Report) ([]chart, error) {
	var out []chart
	for _, c := range []struct {
		file, title, caption string
		draw                 func(*Report) (*plot.Plot, error)
	}{
		{"latency-over-time.png", "Read latency over time", "Each second of the measured run: p50, p99 and max of the reads answered in that second, measured from their intended send time (log scale).", latencyOverTime},
		{"throughput.png", "Throughput over time", "Reads answered as expected and errors per second, against the offered rate.", throughput},
		{"latency-percentiles.png", "Latency percentiles", "The whole run's latency spectrum from the HdrHistograms: reads at edges and writes at origins (log scales).", percentiles},
		{"invalidation.png", "Invalidation delay", "Write acknowledged -> every edge serves at least the written version, for every probed write (polled every 5 ms).", invalidationHist},
	} {
		p, err := c.draw(rep)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.file, err)
		}
		wt, err := p.WriterTo(chartW, chartH, "png")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.file, err)
		}
		var b bytes.Buffer
		if _, err := wt.WriteTo(&b); err != nil {
			return nil, fmt.Errorf("%s: %w", c.file, err)
		}
		out = append(out, chart{File: c.file, Title: c.title, Caption: c.caption, PNG: b.Bytes()})
	}
	return out, nil
}

func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	return p
}

// floorMs keeps values plottable on a log axis.
func floorMs(v float64) float64 { return math.Max(v, 0.001) }

func addLine(p *plot.Plot, name string, c color.Color, dashed bool, xys plotter.XYs) error {
	if len(xys) == 0 {
		return nil
	}
	l, err := plotter.NewLine(xys)
	if err != nil {
		return err
	}
	l.Color = c
	l.Width = vg.Points(1.5)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	}
	p.Add(l)
	p.Legend.Add(name, l)
	return nil
}

func latencyOverTime(rep *Report) (*plot.Plot, error) {
	p := newPlot("Read latency per second", "seconds since start", "ms (log)")
	var p50, p99, mx plotter.XYs
	for _, s := range measured(rep) {
		if s.OK+s.Errors == 0 {
			continue
		}
		x := float64(s.T) + 0.5 // the middle of its second
		p50 = append(p50, plotter.XY{X: x, Y: floorMs(s.P50)})
		p99 = append(p99, plotter.XY{X: x, Y: floorMs(s.P99)})
		mx = append(mx, plotter.XY{X: x, Y: floorMs(s.Max)})
	}
	for _, l := range []struct {
		n   string
		c   color.Color
		xys plotter.XYs
	}{{"max", colorMax, mx}, {"p99", colorP99, p99}, {"p50", colorP50, p50}} {
		if err := addLine(p, l.n, l.c, l.n == "max", l.xys); err != nil {
			return nil, err
		}
	}
	logY(p, len(p50) > 0)
	legendRoom(p, len(p50) > 0)
	return p, nil
}

func throughput(rep *Report) (*plot.Plot, error) {
	p := newPlot("Reads per second", "seconds since start", "requests/s")
	var ok, errs, offered plotter.XYs
	for _, s := range measured(rep) {
		x := float64(s.T) + 0.5
		ok = append(ok, plotter.XY{X: x, Y: float64(s.OK)})
		errs = append(errs, plotter.XY{X: x, Y: float64(s.Errors)})
	}
	if n := len(rep.Reads.Series); n > 0 {
		offered = plotter.XYs{{X: 0, Y: rep.OfferedRPS}, {X: rep.DurationS, Y: rep.OfferedRPS}}
	}
	if err := addLine(p, "offered", colorGray, true, offered); err != nil {
		return nil, err
	}
	if err := addLine(p, "answered", colorRead, false, ok); err != nil {
		return nil, err
	}
	if err := addLine(p, "errors", colorMax, false, errs); err != nil {
		return nil, err
	}
	p.Y.Min = 0
	p.Y.Tick.Marker = plainTicks{}
	legendRoom(p, len(ok) > 0)
	return p, nil
}

// The percentile chart's x axis is -log10(1 - q): 90 % at 1, 99 % at 2,
// 99.9 % at 3, so the tail gets the room.
func nines(q float64) float64 { return -math.Log10(math.Max(1-q/100, 1e-6)) }

func percentiles(rep *Report) (*plot.Plot, error) {
	p := newPlot("Latency by percentile", "percentile", "ms (log)")
	p.X.Tick.Marker = plot.ConstantTicks{
		{Value: nines(50), Label: "50%"}, {Value: 1, Label: "90%"}, {Value: 2, Label: "99%"},
		{Value: 3, Label: "99.9%"}, {Value: 4, Label: "99.99%"}, {Value: 5, Label: "99.999%"},
	}
	p.X.Min, p.X.Max = 0, 5.4 // room for the last label
	p.Legend.Top = false      // bottom right: the lines rise to the right

	for _, s := range []struct {
		name string
		c    color.Color
		sp   []Quantile
	}{{"reads (edges)", colorRead, rep.Reads.Spectrum}, {"writes (origins)", colorP99, rep.Writes.Spectrum}} {
		var xys plotter.XYs
		for _, q := range s.sp {
			if q.Q >= 100 {
				continue // the max has no finite place on this axis
			}
			xys = append(xys, plotter.XY{X: nines(q.Q), Y: floorMs(q.Ms)})
		}
		if err := addLine(p, s.name, s.c, false, xys); err != nil {
			return nil, err
		}
		if len(xys) > 0 {
			sc, err := plotter.NewScatter(xys)
			if err != nil {
				return nil, err
			}
			sc.GlyphStyle.Color, sc.GlyphStyle.Shape, sc.GlyphStyle.Radius = s.c, draw.CircleGlyph{}, vg.Points(2.5)
			p.Add(sc)
		}
	}
	logY(p, len(rep.Reads.Spectrum)+len(rep.Writes.Spectrum) > 0)
	legendRoom(p, len(rep.Reads.Spectrum)+len(rep.Writes.Spectrum) > 0)
	return p, nil
}

func invalidationHist(rep *Report) (*plot.Plot, error) {
	d := rep.invalidationDelays
	p := newPlot(fmt.Sprintf("Write -> every edge fresh (%d writes probed)", len(d)), "ms", "writes")
	if len(d) == 0 {
		p.Title.Text = "Write -> every edge fresh: no writes were probed"
		p.X.Max, p.Y.Max = 1, 1
		return p, nil
	}
	vs := make(plotter.Values, len(d))
	for i, x := range d {
		vs[i] = ms(x)
	}
	h, err := plotter.NewHist(vs, min(40, max(5, len(d)/4)))
	if err != nil {
		return nil, err
	}
	h.FillColor = colorP50
	p.Add(h)
	return p, nil
}

// measured is the read series without the seconds after the run: answers
// still arriving then are the tail of the last requests, and a partial
// second would plot as a collapse of the rate.
func measured(rep *Report) []Second {
	out := rep.Reads.Series
	for len(out) > 0 && float64(out[len(out)-1].T) >= rep.DurationS {
		out = out[:len(out)-1]
	}
	return out
}

// plainTicks are gonum's default ticks labelled without trailing zeros
// ("5000", not "5000.00").
type plainTicks struct{}

func (plainTicks) Ticks(lo, hi float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = strconv.FormatFloat(ts[i].Value, 'f', -1, 64)
		}
	}
	return ts
}

// legendShare is the part of a chart's height kept free of data for the
// legend: three entries take about a sixth of a 300-point chart.
const legendShare = 0.3

// legendRoom widens p's y range on the legend's side (top or bottom), so
// the legend sits in an empty band instead of on the lines. It works on
// the range the data gave (gonum sets it as plotters are added) and on
// either scale: on a log axis the band is a share of the decades.
func legendRoom(p *plot.Plot, data bool) {
	if !data || p.Y.Max <= p.Y.Min {
		return
	}
	_, logScale := p.Y.Scale.(plot.LogScale)
	lo, hi := p.Y.Min, p.Y.Max
	if logScale {
		lo, hi = math.Log10(math.Max(lo, 1e-3)), math.Log10(math.Max(hi, 1e-3))
	}
	band := (hi - lo) * legendShare / (1 - legendShare)
	if band == 0 {
		band = 1
	}
	if p.Legend.Top {
		hi += band
	} else {
		lo -= band
	}
	if logScale {
		lo, hi = math.Pow(10, lo), math.Pow(10, hi)
	}
	p.Y.Min, p.Y.Max = lo, hi
}

// logY puts p's y axis on a log scale, or with no data (which a log scale
// cannot range over) leaves it linear and says so.
func logY(p *plot.Plot, data bool) {
	if !data {
		p.Title.Text += ": no data"
		p.Y.Min, p.Y.Max = 0, 1
		return
	}
	p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, logTicks{}
}

// logTicks labels a log axis at 1, 2 and 5 times each power of ten, with
// unlabelled minor ticks between: gonum's LogTicks labels only powers of
// ten, which leaves a latency axis spanning less than a decade bare.
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	lo = math.Max(lo, 1e-3)
	var ts []plot.Tick
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		for m := 1.0; m < 10; m++ {
			v := m * math.Pow(10, e)
			if v < lo*0.999 || v > hi*1.001 {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || m == 2 || m == 5 {
				t.Label = strconv.FormatFloat(v, 'g', 3, 64)
			}
			ts = append(ts, t)
		}
	}
	if labelled := slices.IndexFunc(ts, func(t plot.Tick) bool { return t.Label != "" }); labelled < 0 {
		// Less than the step from one labelled tick to the next: label the ends.
		ts = append(ts, plot.Tick{Value: lo, Label: strconv.FormatFloat(lo, 'g', 3, 64)}, plot.Tick{Value: hi, Label: strconv.FormatFloat(hi, 'g', 3, 64)})
	}
	return ts
}
