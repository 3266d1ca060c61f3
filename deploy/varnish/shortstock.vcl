# Varnish in front of shortstock edges: caches their redirects and stock
# views for as long as the edges' Cache-Control / Surrogate-Control allow
# (s-maxage), tags each object with the edge's Surrogate-Key (xkey), and
# takes purges only from a shortstock origin (--purge-hook purge+http://...):
# from an allowed address, signed with the shared secret (HMAC-SHA256), fresh
# (timestamp within 60 s) and never twice (nonce). See docs/cdn.md.
#
# Needs: varnish >= 7.1, varnish-modules (xkey, var), varnish-vmod-digest.
# Two files sit next to this one, written per deployment:
#   backends.vcl      the edges: backend declarations and a vcl_init that
#                     makes "edges", a director over them
#   purge_secret.vcl  "sub shortstock_secret { set req.http.X-Purge-Key = "SECRET"; }"
vcl 4.1;

import std;
import directors;
import xkey;
import var;
import digest;

include "./backends.vcl";
include "./purge_secret.vcl";

# Who may send purges at all (the origins); the signature is the real check.
acl purgers {
	"127.0.0.1";
	"::1";
}

sub vcl_recv {
	set req.backend_hint = edges.backend();
	if (req.method == "PURGE") {
		if (client.ip !~ purgers) {
			return (synth(403, "purge not allowed from this address"));
		}
		call shortstock_secret;
		set req.http.X-Purge-Expected = digest.hmac_sha256(req.http.X-Purge-Key,
			req.http.X-Purge-Timestamp + "|" + req.http.X-Purge-Nonce + "|" +
			req.http.X-Purge-Mode + "|" + req.http.Surrogate-Key);
		unset req.http.X-Purge-Key;
		if (req.http.X-Purge-Signature != req.http.X-Purge-Expected) {
			return (synth(403, "bad purge signature"));
		}
		if (std.integer(req.http.X-Purge-Timestamp, 0) < std.time2integer(now, 0) - 60 ||
		    std.integer(req.http.X-Purge-Timestamp, 0) > std.time2integer(now, 0) + 60) {
			return (synth(403, "stale purge"));
		}
		if (var.global_get("nonce:" + req.http.X-Purge-Nonce) == "seen") {
			return (synth(409, "replayed purge"));
		}
		var.global_set("nonce:" + req.http.X-Purge-Nonce, "seen");
		if (req.http.X-Purge-Mode ~ "^all") {
			ban("obj.status != 0");
			return (synth(200, "purged all"));
		}
		if (req.http.X-Purge-Mode == "soft") {
			set req.http.X-Purged = xkey.softpurge(req.http.Surrogate-Key);
		} else {
			set req.http.X-Purged = xkey.purge(req.http.Surrogate-Key);
		}
		return (synth(200, "purged " + req.http.X-Purged));
	}
	if (req.method != "GET" && req.method != "HEAD") {
		return (pass);
	}
	# Redirects and stock views do not vary by cookie or auth.
	unset req.http.Cookie;
	unset req.http.Authorization;
	return (hash);
}

sub vcl_backend_response {
	# xkey indexes objects by the xkey header: the edge's Surrogate-Key.
	if (beresp.http.Surrogate-Key) {
		set beresp.http.xkey = beresp.http.Surrogate-Key;
	}
	# The edges' Surrogate-Control max-age / s-maxage set beresp.ttl
	# (Varnish reads s-maxage); the stale windows become grace.
	if (beresp.http.Cache-Control ~ "stale-while-revalidate=") {
		set beresp.grace = std.duration(regsub(beresp.http.Cache-Control, ".*stale-while-revalidate=([0-9]+).*", "\1") + "s", 0s);
	}
	if (beresp.http.Cache-Control ~ "no-store") {
		set beresp.uncacheable = true;
		set beresp.ttl = 0s;
	}
}

sub vcl_deliver {
	unset resp.http.xkey;
	if (obj.hits > 0) {
		set resp.http.X-Varnish-Cache = "HIT";
	} else {
		set resp.http.X-Varnish-Cache = "MISS";
	}
}
