package bench

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
)

// WriteHTMLReport writes dir/index.html, a self-contained page (the charts
// are inline data URIs, so it can be mailed or archived alone), the same
// charts as PNG files next to it, and report.json.
func WriteHTMLReport(dir string, rep *Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("%w: %w", ErrReport, err)
	}
	cs, err := charts(rep)
	if err != nil {
		return fmt.Errorf("%w: charts: %w", ErrReport, err)
	}
	for _, c := range cs {
		if err := writeFileAtomic(filepath.Join(dir, c.File), c.PNG); err != nil {
			return fmt.Errorf("%w: %w", ErrReport, err)
		}
	}
	var table bytes.Buffer
	if err := PrintTable(&table, rep); err != nil {
		return fmt.Errorf("%w: %w", ErrReport, err)
	}
	type img struct {
		Title, Caption, File string
		Src                  template.URL
	}
	data := struct {
		R      *Report
		Table  string
		Charts []img
	}{R: rep, Table: table.String()}
	for _, c := range cs {
		data.Charts = append(data.Charts, img{c.Title, c.Caption, c.File, template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(c.PNG))})
	}
	var page bytes.Buffer
	if err := pageTemplate.Execute(&page, data); err != nil {
		return fmt.Errorf("%w: %w", ErrReport, err)
	}
	if err := writeFileAtomic(filepath.Join(dir, "index.html"), page.Bytes()); err != nil {
		return fmt.Errorf("%w: %w", ErrReport, err)
	}
	return WriteJSON(filepath.Join(dir, "report.json"), rep)
}

var pageTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct": func(f float64) string { return fmt.Sprintf("%.2f %%", f*100) },
	"f1":  func(f float64) string { return fmt.Sprintf("%.1f", f) },
	"f3":  func(f float64) string { return fmt.Sprintf("%.3f", f) },
	"f0":  func(f float64) string { return fmt.Sprintf("%.0f", f) },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>shortstock bench: {{.R.Profile}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem} .sub{color:#666;margin-top:0}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:.6rem;margin:1.2rem 0}
.card{border:1px solid #ddd;border-radius:6px;padding:.6rem .8rem}
.card b{display:block;font-size:1.35rem} .card span{color:#666;font-size:.85rem}
.bad b{color:#c0392b} .good b{color:#1e7e34}
figure{margin:1.5rem 0} figure img{width:100%;border:1px solid #eee}
figcaption{color:#555;font-size:.9rem}
pre{background:#f6f8fa;padding:1rem;overflow-x:auto;font-size:.8rem;border-radius:6px}
table{border-collapse:collapse;font-size:.9rem} td,th{border:1px solid #ddd;padding:.25rem .6rem;text-align:right}
</style></head><body>
<h1>shortstock bench: profile {{.R.Profile}}</h1>
<p class="sub">{{.R.Setup.Scale}}<br>{{.R.Started.Format "2006-01-02 15:04:05 MST"}}, {{f0 .R.DurationS}} s measured, {{.R.Targets.Source}} targets ({{len .R.Targets.Edges}} edges, {{len .R.Targets.Origins}} origins), {{.R.Host.NumCPU}} CPUs</p>
<div class="cards">
<div class="card"><b>{{f0 .R.OfferedRPS}}/s</b><span>reads offered ({{.R.RateSource}})</span></div>
<div class="card"><b>{{f0 .R.AchievedRPS}}/s</b><span>reads achieved</span></div>
<div class="card"><b>{{f3 .R.LatencyMS.P50}} ms</b><span>read p50</span></div>
<div class="card"><b>{{f3 .R.LatencyMS.P99}} ms</b><span>read p99</span></div>
<div class="card"><b>{{f3 .R.LatencyMS.P999}} ms</b><span>read p99.9</span></div>
<div class="card"><b>{{pct .R.HitRatio}}</b><span>edge hit ratio</span></div>
<div class="card"><b>{{f1 .R.OriginRPS}}/s</b><span>edge &rarr; origin calls</span></div>
<div class="card"><b>{{f1 .R.InvalidationMS.P50}} / {{f1 .R.InvalidationMS.P99}} ms</b><span>invalidation p50 / p99</span></div>
<div class="card {{if .R.StaleReads}}bad{{else}}good{{end}}"><b>{{.R.StaleReads}}</b><span>stale reads after the bound</span></div>
<div class="card {{if .R.Oversells}}bad{{else}}good{{end}}"><b>{{.R.Oversells}}</b><span>oversells (stock audit)</span></div>
<div class="card {{if .R.ErrorsTotal}}bad{{else}}good{{end}}"><b>{{.R.ErrorsTotal}}</b><span>errors</span></div>
</div>
{{range .Charts}}<figure><img src="{{.Src}}" alt="{{.Title}}"><figcaption><b>{{.Title}}.</b> {{.Caption}} (<a href="{{.File}}">{{.File}}</a>)</figcaption></figure>
{{end}}
{{with .R.Compare}}<h2>Edge against a bare fixed-302 server</h2>
<table><tr><th>round</th><th>server</th><th>offered/s</th><th>achieved/s</th><th>p50 ms</th><th>p99 ms</th></tr>
{{range .Rounds}}<tr><td>{{.Round}}</td><td>{{.Target}}</td><td>{{f0 .OfferedRPS}}</td><td>{{f0 .AchievedRPS}}</td><td>{{f3 .P50MS}}</td><td>{{f3 .P99MS}}</td></tr>
{{end}}</table><p>edge/bare rate ratio: <b>{{f3 .Ratio}}</b></p>{{end}}
<h2>Everything measured</h2>
<pre>{{.Table}}</pre>
<p class="sub">Latency is measured from each request's intended send time (open loop at a fixed arrival rate, no coordinated omission). Full data: <a href="report.json">report.json</a>.</p>
</body></html>
`))
