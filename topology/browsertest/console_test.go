package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/shortstock/shortstock/edge"
	"github.com/shortstock/shortstock/internal/testutil"
	"github.com/shortstock/shortstock/origin"
	"github.com/shortstock/shortstock/topology"
)

// xssURL is a valid link target whose text is markup: it must show as text.
const xssURL = "https://example.com/?q=<script>window.pwned=1</script><b>bold</b>"

// TestConsoleInBrowser walks the console in Chromium over a real
// two-region topology. Sign-in refuses a wrong key; a link created at
// us-east's origin is followed through eu-west's edge and its click shows
// up in the console; a link whose URL is markup shows as text, is edited
// and deleted; an adjust
// with a reason and a transfer show in the movement ledger, which
// verifies; the topology page shows both
// regions' edges live and a purge's receipt completes. Throughout, the key
// never appears in a URL the page loaded, in a cookie, or in any node's
// logs (captured at debug level), and the page logs no exception and no
// CSP refusal.
func TestConsoleInBrowser(t *testing.T) {
	chromium := findBrowser(t)
	logs := &testutil.LockedBuffer{}
	const key = "console-test-key-0123456789abcdef"
	const wrongKey = "wrong-key-zyxwvutsrq9876543210"
	topo, err := topology.Start(topology.Config{
		Regions: 2, EdgesPerRegion: 1, AdminKey: key,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Origin: func(_ string, c *origin.Config) { c.TailInterval = 20 * time.Millisecond },
		Edge:   func(_ string, _ int, c *edge.Config) { c.ClickFlushInterval = 200 * time.Millisecond },
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

	// Sign in: a wrong key is refused and nothing is kept.
	b.do("open the console", chromedp.Navigate(us.Origin.URL+"/console/"), chromedp.WaitVisible(chromedp.ID("signin-key")))
	b.do("type a wrong key", chromedp.SendKeys(chromedp.ID("signin-key"), wrongKey), chromedp.Click(chromedp.ID("signin-submit")))
	b.waitFor("the refusal", `document.getElementById('signin-error').textContent.includes('Key refused')`)
	if evalJS[bool](b, `sessionStorage.length === 0 && !document.getElementById('signin').hidden && document.getElementById('nav').hidden`) != true {
		t.Fatal("a refused key was kept, or the console opened")
	}
	b.screenshot("console-signin")
	b.do("type the key", chromedp.SendKeys(chromedp.ID("signin-key"), key), chromedp.Click(chromedp.ID("signin-submit")))
	b.waitFor("the signed-in console", `!document.getElementById('nav').hidden && document.getElementById('link-create') !== null`)
	if v := evalJS[string](b, `document.getElementById('signin-key').value`); v != "" {
		t.Fatalf("the key stays in the sign-in field: %q", v)
	}

	// Links: create at us-east's origin, follow through eu-west's edge.
	b.do("create a link",
		chromedp.SendKeys(chromedp.ID("create-url"), "https://example.com/launch"),
		chromedp.SendKeys(chromedp.ID("create-code"), "console1"),
		chromedp.Click(chromedp.ID("create-submit")))
	b.waitFor("the new link", `(document.getElementById('link-code')||{}).textContent === 'console1'`)
	follow(t, eu.Edges[0].URL+"/console1", "https://example.com/launch")
	b.waitFor("the click counted through eu-west's edge", `document.getElementById('link-clicks').textContent === '1'`)

	// Markup in a URL is text: no script element, nothing ran.
	b.do("create a link whose URL is markup",
		chromedp.SendKeys(chromedp.ID("create-url"), xssURL),
		chromedp.SendKeys(chromedp.ID("create-code"), "xss1"),
		chromedp.Click(chromedp.ID("create-submit")))
	b.waitFor("the markup link", `(document.getElementById('link-code')||{}).textContent === 'xss1'`)
	if got := b.text("#link-url"); got != xssURL {
		t.Fatalf("URL shown as %q, want the text %q", got, xssURL)
	}
	if n := evalJS[int](b, `document.querySelectorAll('main script, main b').length + (window.pwned === undefined ? 0 : 100)`); n != 0 {
		t.Fatalf("markup from a link URL became elements or ran (%d)", n)
	}
	if evalJS[string](b, `document.getElementById('edit-url').value`) != xssURL {
		t.Fatal("the edit form does not hold the URL as text")
	}

	// Analytics (series and breakdowns, when the origin's stats have them)
	// draw as SVG bars and tables, with names as text.
	drawn := evalAsync[[]int](b, `import('/console/links.js').then(m => {
		const el = document.createElement('div');
		el.append(...m.statsExtras({clicks: 4, series: [{t: '2031-01-01T00:00:00Z', clicks: 3}, {t: '2031-01-01T01:00:00Z', clicks: 1}],
			referrers: {'<img src=x onerror="window.pwned=2">': 3, 'example.org': 1}, countries: {NL: 4}}));
		return [el.querySelectorAll('svg rect.bar').length, el.querySelectorAll('table').length, el.querySelectorAll('img').length,
			el.textContent.includes('<img src=x') ? 1 : 0];
	})`)
	if fmt.Sprint(drawn) != "[2 2 0 1]" {
		t.Fatalf("analytics drawn as [bars tables imgs markup-as-text] = %v, want [2 2 0 1]", drawn)
	}

	// Edit, then delete (two clicks), the markup link.
	b.do("edit the link", chromedp.SetValue(chromedp.ID("edit-url"), "https://example.com/v2"), chromedp.Click(chromedp.ID("edit-submit")))
	b.waitFor("the edited link", `document.getElementById('link-version').textContent === '2' && document.getElementById('link-url').textContent === 'https://example.com/v2'`)
	b.do("delete the link", chromedp.Click(chromedp.ID("link-delete")), chromedp.Click(chromedp.ID("link-delete")))
	b.waitFor("the deleted link", `document.getElementById('link-deleted') !== null`)
	apiCall(t, us.Origin.URL, key, "GET", "/v1/links/xss1", "", http.StatusNotFound)

	// Stock: adjust with a reason, see the movement and the warehouse.
	b.do("open the stock page", chromedp.Click(chromedp.ID("nav-stock")), chromedp.WaitVisible(chromedp.ID("stock-sku")))
	b.do("open a new SKU", chromedp.SendKeys(chromedp.ID("stock-sku"), "SKU-CON"), chromedp.Click(chromedp.ID("stock-open")))
	b.waitFor("no stock yet", `document.getElementById('stock-none') !== null`)
	adjust := func(wh, delta, reason, ref string) {
		t.Helper()
		b.do("adjust "+delta,
			chromedp.SetValue(chromedp.ID("adjust-wh"), wh),
			chromedp.SetValue(chromedp.ID("adjust-delta"), delta),
			chromedp.SetValue(chromedp.ID("adjust-reason"), reason),
			chromedp.SetValue(chromedp.ID("adjust-ref"), ref),
			chromedp.Click(chromedp.ID("adjust-submit")))
	}
	adjust("ams", "25", "received", "PO-77")
	b.waitFor("the received movement", `[...document.querySelectorAll('#movements-table tbody tr')].some(r => r.textContent.includes('received') && r.textContent.includes('PO-77') && r.textContent.includes('+25'))`)
	adjust("ams", "-3", "damaged", "RMA-1")
	b.waitFor("the damaged movement", `[...document.querySelectorAll('#movements-table tbody tr')].some(r => r.textContent.includes('damaged') && r.textContent.includes('-3'))`)
	b.do("transfer 5 to ber",
		chromedp.SetValue(chromedp.ID("transfer-from"), "ams"),
		chromedp.SetValue(chromedp.ID("transfer-to"), "ber"),
		chromedp.SetValue(chromedp.ID("transfer-qty"), "5"),
		chromedp.Click(chromedp.ID("transfer-submit")))
	b.waitFor("the transfer's two movements", `['transfer_out', 'transfer_in'].every(k => [...document.querySelectorAll('#movements-table tbody tr')].some(r => r.cells[2].textContent === k))`)
	b.waitFor("the warehouses at 17 and 5", `[...document.querySelectorAll('#stock-warehouses tbody tr')].map(r => r.cells[0].textContent + '=' + r.cells[1].textContent).join() === 'ams=17,ber=5'`)
	b.do("verify the ledger", chromedp.Click(chromedp.ID("stock-verify")))
	b.waitFor("the ledger verified", `document.getElementById('stock-msg').textContent.startsWith('Ledger verified')`)
	// If-Match goes as a quoted version: a stale one is refused, nothing moves.
	b.do("adjust at a stale version",
		chromedp.SetValue(chromedp.ID("adjust-delta"), "1"),
		chromedp.SetValue(chromedp.ID("adjust-ifmatch"), "1"),
		chromedp.Click(chromedp.ID("adjust-submit")))
	b.waitFor("the version mismatch", `document.getElementById('stock-msg').textContent.startsWith('412 version_mismatch')`)
	b.do("clear If-Match", chromedp.SetValue(chromedp.ID("adjust-ifmatch"), ""))
	b.do("hold a one-line cart", chromedp.SendKeys(chromedp.ID("reserve-lines"), "SKU-CON 1 ber"), chromedp.Click(chromedp.ID("reserve-submit")))
	b.waitFor("the cart held", `document.getElementById('stock-msg').textContent.startsWith('Held cart of 1 line:')`)
	// A hold made with curl shows up by itself (the page follows the
	// open SKU's ledger), as a held reservation and in the view.
	var hold struct{ ID string }
	if err := json.Unmarshal(apiCall(t, us.Origin.URL, key, "POST", "/v1/reservations", `{"sku":"SKU-CON","qty":2,"warehouse":"ams"}`, http.StatusCreated), &hold); err != nil || hold.ID == "" {
		t.Fatalf("hold: %v %q", err, hold.ID)
	}
	b.waitFor("the held reservation", `[...document.querySelectorAll('#reservations-table tbody tr')].some(r => r.textContent.includes('held')) &&
		[...document.querySelectorAll('#stock-warehouses tbody tr')].some(r => r.cells[0].textContent === 'ams' && r.cells[2].textContent === '2')`)
	// That reservation by its id, as curl would: extend to 1200 s from now
	// (past its default 600 s: an extend never shortens), commit.
	b.set("resv-id", hold.ID)
	b.set("resv-ttl", "1200")
	b.do("extend the hold", chromedp.Click(chromedp.ID("resv-extend")))
	b.waitFor("the hold extended", `document.getElementById('resv-msg').textContent.startsWith('extend done') && document.getElementById('resv-status').textContent === 'held'`)
	extended := time.Now()
	expires := evalAsync[string](b, `fetch('/v1/reservations/`+hold.ID+`', {headers: {Authorization: 'Bearer ' + sessionStorage.getItem('shortstock.admin-key')}}).then(r => r.json()).then(r => r.expires_at)`)
	if at, err := time.Parse(time.RFC3339Nano, expires); err != nil || at.Before(extended.Add(1100*time.Second)) || at.After(extended.Add(1210*time.Second)) {
		t.Fatalf("extended to %q (%v), want about 1200 s after %v", expires, err, extended)
	}
	b.do("commit the hold", chromedp.Click(chromedp.ID("resv-commit")))
	b.waitFor("the hold committed", `document.getElementById('resv-status').textContent === 'committed' &&
		[...document.querySelectorAll('#stock-warehouses tbody tr')].some(r => r.cells[0].textContent === 'ams' && r.cells[1].textContent === '15' && r.cells[2].textContent === '0')`)
	b.do("release it too", chromedp.Click(chromedp.ID("resv-release")))
	b.waitFor("the release refused", `document.getElementById('resv-msg').textContent.startsWith('409 ')`)
	// A cart of two lines: all or none.
	b.set("reserve-lines", "SKU-CON 1 ams\nSKU-CON 1 ber")
	b.do("hold a two-line cart", chromedp.Click(chromedp.ID("reserve-submit")))
	b.waitFor("the cart held", `document.getElementById('stock-msg').textContent.startsWith('Held cart of 2 lines:')`)
	// Bulk upload: a job with progress; a bad line is reported by number.
	b.do("upload NDJSON", chromedp.SetValue(chromedp.ID("bulk-lines"), `{"op":"adjust","sku":"SKU-CON","warehouse":"ams","delta":10,"reason":"received","ref":"BULK-1"}
{"op":"set","sku":"SKU-BULK","warehouse":"ams","on_hand":7}
{"op":"adjust","sku":"SKU-CON","warehouse":"ams","delta":1,"reason":"nope"}`), chromedp.Click(chromedp.ID("bulk-submit")))
	b.waitFor("the bulk job done", `(document.getElementById('bulk-status')||{}).textContent === 'done' &&
		document.getElementById('bulk-counts').textContent === '3 lines: 2 applied, 1 failed' &&
		document.querySelector('#bulk-errors tbody tr td').textContent === '3'`)
	b.waitFor("the bulk movement in the ledger", `[...document.querySelectorAll('#movements-table tbody tr')].some(r => r.textContent.includes('BULK-1') && r.textContent.includes('+10'))`)
	// Every SKU's feed, from the start: the bulk's SKU-BULK and the commit.
	b.do("read the feed", chromedp.Click(chromedp.ID("feed-load")))
	b.waitFor("the feed", `[...document.querySelectorAll('#feed-table tbody tr')].some(r => r.cells[1].textContent === 'SKU-BULK' && r.cells[3].textContent === 'set') &&
		[...document.querySelectorAll('#feed-table tbody tr')].some(r => r.cells[1].textContent === 'SKU-CON' && r.cells[3].textContent === 'commit')`)
	b.screenshot("console-stock")

	// Topology: both regions, their edges live; a purge completes.
	b.do("open the topology page", chromedp.Click(chromedp.ID("nav-topology")))
	b.waitFor("both regions with live edges", `document.querySelectorAll('#topology-regions section.region').length === 2 &&
		[...document.querySelectorAll('#topology-regions tr.state-live')].map(r => r.cells[0].textContent).sort().join() === 'edge-`+eu.Name+`-1,edge-`+us.Name+`-1'`)
	b.do("purge the link", chromedp.SendKeys(chromedp.ID("purge-keys"), "link:console1"), chromedp.Click(chromedp.ID("purge-submit")))
	b.waitFor("the purge applied everywhere", `(document.getElementById('receipt-complete')||{}).textContent === 'applied by every live edge'`)
	if rows := evalJS[int](b, `document.querySelectorAll('#receipt-edges tbody tr.state-applied').length`); rows != 2 {
		t.Fatalf("receipt lists %d applied edges, want 2 (one per region)", rows)
	}
	b.screenshot("console-topology")

	// The link list (GET /v1/links) shows both links as text.
	b.do("open the links page", chromedp.Click(chromedp.ID("nav-links")))
	b.waitFor("the listed link", `[...document.querySelectorAll('#links-table tbody tr')].some(r => r.cells[0].textContent === 'console1' && r.cells[2].textContent === 'https://example.com/launch' && r.cells[4].textContent === '1')`)

	// Where the key may never be: URLs the page loaded, cookies, logs.
	urls := evalJS[[]string](b, `[location.href, ...performance.getEntriesByType('resource').map(e => e.name), ...performance.getEntriesByType('navigation').map(e => e.name)]`)
	if len(urls) < 5 {
		t.Fatalf("only %d URLs recorded: %v", len(urls), urls)
	}
	for _, u := range urls {
		if strings.Contains(u, key) || strings.Contains(u, wrongKey) {
			t.Fatalf("a key is in a URL the page loaded: %s", u)
		}
	}
	if c := evalJS[string](b, `document.cookie`); c != "" {
		t.Fatalf("cookies set: %q", c)
	}
	b.do("sign out", chromedp.Click(chromedp.ID("signout")))
	b.waitFor("signed out", `!document.getElementById('signin').hidden && sessionStorage.getItem('shortstock.admin-key') === null`)
	if p := b.problems(); len(p) > 0 {
		t.Fatalf("the page logged exceptions or CSP refusals:\n%s", strings.Join(p, "\n"))
	}
	l := logs.String()
	if !strings.Contains(l, "admin auth failed") {
		t.Fatalf("the refused sign-in is not in the captured logs: the log check below would prove nothing\n%.2000s", l)
	}
	for _, k := range []string{key, wrongKey} {
		if i := strings.Index(l, k); i >= 0 {
			t.Fatalf("a key is in the logs: %s", l[max(0, i-300):min(len(l), i+100)])
		}
	}
}

// follow asks an edge for a short link until it redirects to want (the
// edge learns new links on its first miss), counting one click.
func follow(t *testing.T, u, want string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	deadline := time.Now().Add(stepTimeout)
	for {
		res, err := c.Get(u)
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

// apiCall is curl against the admin API; it returns the answer's body.
func apiCall(t *testing.T, base, key, method, path, body string, want int) []byte {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	return b
}
