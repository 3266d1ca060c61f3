// Package browsertest drives the admin console (origin/console) in a real
// headless Chromium against a real local topology (two regions of origins
// and edges over loopback, gossip and all): sign in, links, clicks counted
// through another region's edge, stock and its ledger, the topology page,
// purge receipts, escaping, and where the key may never appear.
//
// The browser is found as $SHORTSTOCK_CHROMIUM, chromium,
// chromium-browser or google-chrome on PATH. Without one the tests skip,
// except under CI=true, where they fail (scripts/test installs chromium
// with apt when it is missing). SHORTSTOCK_BROWSER=0 skips them.
// SHORTSTOCK_SCREENSHOTS=DIR saves screenshots of the main pages there
// (docs/img is where the README's come from).
package browsertest
