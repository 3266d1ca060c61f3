// Package console is the admin console: a small browser app, plain ES
// modules without a build step, embedded in the binary and served by the
// origin under /console/.
//
// The console has no API of its own. It signs in with an admin key that
// it keeps in the tab's sessionStorage (never a URL, a cookie or a log)
// and calls the same bearer-authenticated /v1/ admin API as curl does, so
// it can do nothing a key could not do anyway.
//
// Every answer carries a strict Content-Security-Policy (scripts and
// styles from the console's own files only, no inline code, no framing,
// no form submission), X-Frame-Options: DENY and nosniff; the app writes
// data into the page with textContent only, so a link URL holding markup
// shows as text.
package console
