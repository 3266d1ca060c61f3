#!/usr/bin/env bash
# edge-vs-bare.sh: the edge's cache-hit throughput against its ceiling, a
# bare fasthttp server answering a fixed 302 (bench/cmd/bare302).
#
# The edge runs against a real origin (package origin over the embedded
# store) holding LINKS links, all loaded into the edge's cache before the
# measurement. Each server is pinned to SERVER_CPU with GOMAXPROCS=1 and
# wrk to CLIENT_CPU; the two are measured alternately ROUNDS times so drift
# on a shared machine hits both alike. The origin shares the client's core
# at the lowest priority: after warming it only receives click batches.
#
# Prints every run, the mean rate of each, and the ratio edge/bare
# (target >= 0.9).
#
#   MODE=fixed   every request asks for one code (default)
#   MODE=random  each request asks for a random one of the LINKS codes
#                (a wrk Lua script; it costs the client, alike for both)
#
# Usage: bench/edge-vs-bare.sh    (env: ROUNDS DURATION CONNS LINKS MODE
#                                  SERVER_CPU CLIENT_CPU EDGE_PORT BARE_PORT ORIGIN_PORT)
set -euo pipefail

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
LINKS=${LINKS:-100000}
MODE=${MODE:-fixed}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
EDGE_PORT=${EDGE_PORT:-18190}
BARE_PORT=${BARE_PORT:-18090}
ORIGIN_PORT=${ORIGIN_PORT:-19190}

cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null; then
	echo "installing wrk" >&2
	apt-get install -y wrk >/dev/null
fi
command -v taskset >/dev/null || { echo "taskset is required (util-linux)" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

echo "building" >&2
go build -o "$work/bare302" ./bench/cmd/bare302
go build -o "$work/edgebench" ./bench/cmd/edgebench

# wait_ready FILE PID: until the process prints "ready" (or dies).
wait_ready() {
	for _ in $(seq 1 1200); do
		grep -q '^ready' "$1" 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || { echo "process $2 died; see $1" >&2; cat "$1" "$1.err" >&2 || true; exit 1; }
		sleep 0.1
	done
	echo "timed out waiting for $1" >&2
	exit 1
}

echo "origin: creating $LINKS links" >&2
taskset -c "$CLIENT_CPU" nice -n 19 "$work/edgebench" origin --listen "127.0.0.1:$ORIGIN_PORT" \
	--links "$LINKS" --dir "$work/data" >"$work/origin.out" 2>"$work/origin.out.err" &
pids+=($!)
wait_ready "$work/origin.out" $!
cat "$work/origin.out.err" >&2

echo "edge: warming $LINKS links" >&2
GOMAXPROCS=1 taskset -c "$SERVER_CPU" "$work/edgebench" edge --listen "127.0.0.1:$EDGE_PORT" \
	--origin "http://127.0.0.1:$ORIGIN_PORT" --warm "$LINKS" >"$work/edge.out" 2>"$work/edge.out.err" &
pids+=($!)
wait_ready "$work/edge.out" $!
cat "$work/edge.out.err" >&2

GOMAXPROCS=1 taskset -c "$SERVER_CPU" "$work/bare302" --listen "127.0.0.1:$BARE_PORT" >"$work/bare.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do grep -q listening "$work/bare.out" && break; sleep 0.05; done

script=()
path=/b000042
if [ "$MODE" = random ]; then
	cat >"$work/random.lua" <<LUA
local n = $LINKS
request = function()
  return wrk.format("GET", string.format("/b%06d", math.random(0, n - 1)))
end
LUA
	script=(-s "$work/random.lua")
	path=/
fi

# Check both answer the same way before measuring.
for port in "$EDGE_PORT" "$BARE_PORT"; do
	code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/b000042")
	[ "$code" = 302 ] || { echo "127.0.0.1:$port answered $code, want 302" >&2; exit 1; }
done
xcache=$(curl -s -o /dev/null -D - "http://127.0.0.1:$EDGE_PORT/b000042" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-cache"{print $2}')
[ "$xcache" = HIT ] || { echo "edge answered X-Cache: $xcache, want HIT" >&2; exit 1; }

# run NAME PORT: one wrk run; prints "rate p99"
run() {
	local out
	out=$(taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"$DURATION" --latency "${script[@]}" "http://127.0.0.1:$2$path")
	local rate p99 errs
	rate=$(awk '/^Requests\/sec:/{print $2}' <<<"$out")
	p99=$(awk '$1=="99%"{print $2}' <<<"$out")
	errs=$(awk '/Non-2xx or 3xx/{print $NF} /Socket errors/{print}' <<<"$out")
	[ -z "$errs" ] || echo "  $1: $errs" >&2
	echo "$rate $p99"
}

echo "mode=$MODE rounds=$ROUNDS duration=$DURATION conns=$CONNS links=$LINKS server_cpu=$SERVER_CPU client_cpu=$CLIENT_CPU"
printf '%-6s %-5s %12s %10s\n' round what req/s p99
edge_sum=0
bare_sum=0
for r in $(seq 1 "$ROUNDS"); do
	for what in bare edge; do
		port=$BARE_PORT
		[ "$what" = edge ] && port=$EDGE_PORT
		read -r rate p99 < <(run "$what" "$port")
		printf '%-6s %-5s %12s %10s\n' "$r" "$what" "$rate" "$p99"
		if [ "$what" = edge ]; then edge_sum=$(awk -v a="$edge_sum" -v b="$rate" 'BEGIN{print a+b}'); else bare_sum=$(awk -v a="$bare_sum" -v b="$rate" 'BEGIN{print a+b}'); fi
	done
done
awk -v e="$edge_sum" -v b="$bare_sum" -v n="$ROUNDS" 'BEGIN{
	printf "bare mean %.0f req/s\nedge mean %.0f req/s\nratio edge/bare %.3f (target >= 0.9)\n", b/n, e/n, e/b }'
hits=$(curl -s "http://127.0.0.1:$EDGE_PORT/_/metrics" | awk '/^shortstock_edge_answers_total\{.*cache="hit".*kind="link"/{print $NF}')
echo "edge link hits counted: $hits"
