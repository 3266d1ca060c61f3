package browsertest

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image"
	_ "image/png" // the QR image the page drew
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/makiuchi-d/gozxing"
	gzqr "github.com/makiuchi-d/gozxing/qrcode"

	"github.com/shortstock/shortstock/edge"
	"github.com/shortstock/shortstock/internal/testutil"
	"github.com/shortstock/shortstock/origin"
	"github.com/shortstock/shortstock/topology"
)

const publicBase = "https://sho.rt"

// desktopUA is a browser's User-Agent: the edge counts its click as a
// human one (a bot's goes apart, never into clicks).
const desktopUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"

// TestConsoleLinksInBrowser walks what README's link curl examples do,
// in the console, over a real two-region topology: create a link with a
// tag, title, visit limit, query forwarding and an iOS target; find it by
// tag and by search; edit and clear fields; see its QR code render and
// decode back to its short URL; follow it through the other region's edge
// and see the click in its stats (series chart, referrer, device) and in
// the most clicked links; import a CSV and see the links listed, paged by
// cursor; a bad import line is reported by number and imports nothing;
// export a tag; purge a tag from every edge.
func TestConsoleLinksInBrowser(t *testing.T) {
	chromium := findBrowser(t)
	logs := &testutil.LockedBuffer{}
	const key = "console-links-key-0123456789abcdef"
	topo, err := topology.Start(topology.Config{
		Regions: 2, EdgesPerRegion: 1, AdminKey: key,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Origin: func(_ string, c *origin.Config) {
			c.TailInterval = 20 * time.Millisecond
			c.PublicBaseURL = publicBase
		},
		Edge: func(_ string, _ int, c *edge.Config) {
			c.ClickFlushInterval = 200 * time.Millisecond
			c.Analytics = true
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := topo.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	us, eu := topo.Regions[0], topo.Regions[1]
	b := startBrowser(t, chromium)
	signIn(b, us.Origin.URL, key)

	// Create with every field a curl create takes (but the expiry and
	// valid_since pickers, which the edit below covers by clearing).
	b.do("create a tagged link",
		chromedp.SendKeys(chromedp.ID("create-url"), "https://example.com/app"),
		chromedp.SendKeys(chromedp.ID("create-code"), "spring1"),
		chromedp.SendKeys(chromedp.ID("create-title"), "Spring <launch>"),
		chromedp.SendKeys(chromedp.ID("create-tags"), "launch, mobile"),
		chromedp.SetValue(chromedp.ID("create-max-visits"), "1000"),
		chromedp.SendKeys(chromedp.ID("create-ios"), "https://apps.apple.com/app/id1"),
		chromedp.Click(chromedp.ID("create-forward-query")),
		chromedp.Click(chromedp.ID("create-submit")))
	b.waitFor("the new link", `(document.getElementById('link-code')||{}).textContent === 'spring1'`)
	got := evalJS[string](b, `['link-title','link-tags','link-max-visits','link-forward-query','link-targets'].map(id => document.getElementById(id).textContent).join('|')`)
	if want := "Spring <launch>|launch, mobile|1000|forwarded|iOS: https://apps.apple.com/app/id1"; got != want {
		t.Fatalf("the created link shows %q, want %q", got, want)
	}
	if n := evalJS[int](b, `document.querySelectorAll('main launch').length`); n != 0 {
		t.Fatal("markup in a title became an element")
	}
	apiCall(t, us.Origin.URL, key, "POST", "/v1/links", `{"url":"https://example.com/other","code":"other1"}`, http.StatusCreated)

	// Find it: by tag (other1 has none), by search.
	filter := func(q, tag string) {
		t.Helper()
		b.set("links-q", q)
		b.set("links-tag", tag)
		b.do("filter q="+q+" tag="+tag, chromedp.Click(chromedp.ID("links-filter")))
	}
	filter("", "launch")
	b.waitFor("only the tagged link listed", `[...document.querySelectorAll('#links-table tbody tr')].map(r => r.cells[0].textContent).join() === 'spring1'`)
	filter("OTHER", "")
	b.waitFor("the searched link listed", `[...document.querySelectorAll('#links-table tbody tr')].map(r => r.cells[0].textContent).join() === 'other1'`)

	// Edit: a new title, the visit limit cleared (null), one tag less.
	b.do("open other1 from the list", chromedp.Click(`#links-table button.linkish`))
	b.waitFor("other1 open", `(document.getElementById('link-code')||{}).textContent === 'other1'`)
	b.do("open spring1", chromedp.SendKeys(chromedp.ID("lookup-code"), "spring1"), chromedp.Click(chromedp.ID("lookup-submit")))
	b.waitFor("spring1 open", `(document.getElementById('link-code')||{}).textContent === 'spring1'`)
	b.set("edit-title", "Spring launch")
	b.set("edit-tags", "launch")
	b.set("edit-max-visits", "")
	b.do("edit spring1", chromedp.Click(chromedp.ID("edit-submit")))
	b.waitFor("the edit saved", `document.getElementById('link-version').textContent === '2' &&
		document.getElementById('link-title').textContent === 'Spring launch' && document.getElementById('link-tags').textContent === 'launch' &&
		document.getElementById('link-max-visits').textContent === 'no limit' && document.getElementById('link-forward-query').textContent === 'forwarded'`)

	// QR: fetched with the key, shown through a blob: URL, decodes to the
	// short URL.
	b.do("show the QR code", chromedp.Click(chromedp.ID("qr-submit")))
	b.waitFor("the QR image", `(document.getElementById('qr-img')||{}).complete && document.getElementById('qr-img').naturalWidth > 0`)
	if src := evalJS[string](b, `document.getElementById('qr-img').src`); !strings.HasPrefix(src, "blob:") {
		t.Fatalf("the QR image is loaded from %q, want a blob: URL (the key goes only in a header)", src)
	}
	if got := decodeQR(t, pageImage(b, "qr-img")); got != publicBase+"/spring1" {
		t.Fatalf("the QR code shown decodes to %q, want %q", got, publicBase+"/spring1")
	}

	// A click through eu-west's edge shows in the stats: count, chart,
	// referrer and device tables; then in the most clicked links.
	followAs(t, eu.Edges[0].URL+"/spring1", "https://example.com/app", desktopUA, "https://news.example.org/post?id=1")
	b.waitFor("the click counted through eu-west's edge", `document.getElementById('link-clicks').textContent === '1' &&
		[...document.querySelectorAll('#stats-chart rect.bar title')].some(t => t.textContent.endsWith(': 1 clicks')) &&
		[...document.querySelectorAll('#stats-referrers tbody tr')].some(r => r.cells[0].textContent === 'news.example.org' && r.cells[1].textContent === '1') &&
		[...document.querySelectorAll('#stats-devices tbody tr')].some(r => r.cells[0].textContent === 'desktop')`)
	b.do("per day", chromedp.SetValue(chromedp.ID("stats-granularity"), "day"), chromedp.Click(chromedp.ID("stats-submit")))
	b.waitFor("the daily series", `document.querySelector('#link-analytics h4').textContent === 'Clicks per day'`)
	b.do("the most clicked links", chromedp.Click(chromedp.ID("top-submit")))
	b.waitFor("spring1 on top", `[...document.querySelectorAll('#top-table tbody tr')].some(r => r.cells[0].textContent === 'spring1' && r.cells[1].textContent === '1')`)
	b.screenshot("console-links")

	// Import: 22 links under one tag, listed 20 a page.
	dir := t.TempDir()
	var csv strings.Builder
	csv.WriteString("url,code,tags,title\n")
	for i := range 22 {
		fmt.Fprintf(&csv, "https://example.com/imp/%d,imp%02d,imported,Imported %d\n", i, i, i)
	}
	good := filepath.Join(dir, "links.csv")
	bad := filepath.Join(dir, "bad.csv")
	writeFile(t, good, csv.String())
	writeFile(t, bad, "url,code\nhttps://example.com/fine,fine1\nnot a url,bad1\n")
	b.do("import a CSV", chromedp.SetUploadFiles(chromedp.ID("import-file"), []string{good}), chromedp.Click(chromedp.ID("import-submit")))
	b.waitFor("the import done", `document.getElementById('import-msg').textContent === 'Imported 22 links from links.csv.'`)
	filter("", "imported")
	b.waitFor("the first page of imported links", `document.querySelectorAll('#links-table tbody tr').length === 20 &&
		document.querySelector('#links-table tbody tr').cells[1].textContent === 'Imported 0' && document.getElementById('links-next') !== null`)
	b.do("the next page", chromedp.Click(chromedp.ID("links-next")))
	b.waitFor("the second page", `[...document.querySelectorAll('#links-table tbody tr')].map(r => r.cells[0].textContent).join() === 'imp20,imp21' &&
		document.getElementById('links-next') === null && document.getElementById('links-page').textContent === 'page 2'`)
	b.do("the previous page", chromedp.Click(chromedp.ID("links-prev")))
	b.waitFor("the first page again", `document.querySelectorAll('#links-table tbody tr').length === 20 && document.getElementById('links-page').textContent === 'page 1'`)

	// A bad line: reported by its number, nothing imported.
	b.do("import a bad CSV", chromedp.SetUploadFiles(chromedp.ID("import-file"), []string{bad}), chromedp.Click(chromedp.ID("import-submit")))
	b.waitFor("the bad line by number", `document.getElementById('import-msg').textContent.startsWith('400 invalid_import') &&
		[...document.querySelectorAll('#import-errors-table tbody tr')].map(r => r.cells[0].textContent + ':' + r.cells[1].textContent).join() === '3:invalid_url'`)
	b.screenshot("console-import")
	apiCall(t, us.Origin.URL, key, "GET", "/v1/links/fine1", "", http.StatusNotFound)

	// Export a tag: every imported link, one NDJSON line each.
	b.do("export a tag", chromedp.SetValue(chromedp.ID("export-tag"), "imported"), chromedp.Click(chromedp.ID("export-submit")))
	b.waitFor("the export", `document.getElementById('export-msg').textContent.startsWith('22 links exported') &&
		document.getElementById('export-download').href.startsWith('blob:')`)

	// Purge a tag at every edge.
	b.do("open the topology page", chromedp.Click(chromedp.ID("nav-topology")))
	b.do("purge a tag", chromedp.SendKeys(chromedp.ID("purge-tags"), "launch"), chromedp.Click(chromedp.ID("purge-submit")))
	b.waitFor("the tag purge applied everywhere", `(document.getElementById('receipt-complete')||{}).textContent === 'applied by every live edge'`)

	if p := b.problems(); len(p) > 0 {
		t.Fatalf("the page logged exceptions or CSP refusals:\n%s", strings.Join(p, "\n"))
	}
	noKeyInURLs(b, key)
	if i := strings.Index(logs.String(), key); i >= 0 {
		t.Fatal("the key is in the logs")
	}
}

// signIn opens the console at base and signs in with key.
func signIn(b *browser, base, key string) {
	b.t.Helper()
	b.do("open the console", chromedp.Navigate(base+"/console/"), chromedp.WaitVisible(chromedp.ID("signin-key")))
	b.do("type the key", chromedp.SendKeys(chromedp.ID("signin-key"), key), chromedp.Click(chromedp.ID("signin-submit")))
	b.waitFor("the signed-in console", `!document.getElementById('nav').hidden && document.getElementById('link-create') !== null`)
}

// noKeyInURLs fails when a URL the page loaded holds the key.
func noKeyInURLs(b *browser, keys ...string) {
	b.t.Helper()
	urls := evalJS[[]string](b, `[location.href, ...performance.getEntriesByType('resource').map(e => e.name), ...performance.getEntriesByType('navigation').map(e => e.name)]`)
	if len(urls) < 5 {
		b.t.Fatalf("only %d URLs recorded: %v", len(urls), urls)
	}
	for _, u := range urls {
		for _, k := range keys {
			if strings.Contains(u, k) {
				b.t.Fatalf("a key is in a URL the page loaded: %s", u)
			}
		}
	}
}

// pageImage is the image element id as the page has it, drawn on a
// canvas at its natural size.
func pageImage(b *browser, id string) image.Image {
	b.t.Helper()
	data := evalJS[string](b, `(() => { const img = document.getElementById(`+fmt.Sprintf("%q", id)+`);
		const c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;
		c.getContext('2d').drawImage(img, 0, 0); return c.toDataURL('image/png'); })()`)
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(data, "data:image/png;base64,"))
	if err != nil {
		b.t.Fatalf("image %s: %v", id, err)
	}
	img, _, err := image.Decode(bytes.NewReader(raw))
	if err != nil {
		b.t.Fatalf("image %s: %v", id, err)
	}
	return img
}

// decodeQR reads a QR code with an independent decoder (gozxing).
func decodeQR(t *testing.T, img image.Image) string {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := gzqr.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("the QR code does not decode: %v", err)
	}
	return res.GetText()
}

// followAs is follow with a User-Agent and a Referer.
func followAs(t *testing.T, u, want, ua, referer string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	deadline := time.Now().Add(stepTimeout)
	for {
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("User-Agent", ua)
		req.Header.Set("Referer", referer)
		res, err := c.Do(req)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusFound && res.Header.Get("Location") == want {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s never redirected to %s: %v %v", u, want, res, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
