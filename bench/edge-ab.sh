#!/usr/bin/env bash
# edge-ab.sh: two edges of this build, A and B, differing only by flags
# (A_FLAGS, B_FLAGS: more flags for `edgebench edge`), against one origin
# holding LINKS links; both warmed with every link and pinned to
# SERVER_CPU with GOMAXPROCS=1, so only the one under load uses it. wrk
# (pinned to CLIENT_CPU, -t1 -c CONNS, uniform keys, seed 42) then
# alternates between them for ROUNDS rounds of DURATION: A, B, A, B...
# Prints per run: requests/s, p50/p99/p999 (us, wrk's histogram) and the
# edge's CPU per request from /proc/PID/stat. Loopback only.
#
# Usage: A_FLAGS=--read-yield bench/edge-ab.sh   (env: ROUNDS DURATION
#        CONNS LINKS A_FLAGS B_FLAGS SERVER_CPU CLIENT_CPU)
set -euo pipefail

ROUNDS=${ROUNDS:-4}
DURATION=${DURATION:-6s}
CONNS=${CONNS:-64}
LINKS=${LINKS:-100000}
A_FLAGS=${A_FLAGS:-}
B_FLAGS=${B_FLAGS:-}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
ORIGIN_PORT=${ORIGIN_PORT:-19390}
A_PORT=${A_PORT:-18390}
B_PORT=${B_PORT:-18391}

cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "installing wrk" >&2; apt-get install -y wrk >/dev/null; }
. bench/lib.sh # $work, pids, cleanup, wait_ready
go build -o "$work/edgebench" ./bench/cmd/edgebench

taskset -c "$CLIENT_CPU" chrt --idle 0 "$work/edgebench" origin --listen "127.0.0.1:$ORIGIN_PORT" \
	--links "$LINKS" --dir "$work/data" >"$work/origin.out" 2>"$work/origin.out.err" &
pids+=($!)
wait_ready "$work/origin.out" "${pids[-1]}"
budget=$((LINKS * 144 + (8 << 20)))
start_edge() { # NAME PORT FLAGS
	# shellcheck disable=SC2086 # the flags are words
	GOMAXPROCS=1 taskset -c "$SERVER_CPU" "$work/edgebench" edge --listen "127.0.0.1:$2" \
		--origin "http://127.0.0.1:$ORIGIN_PORT" --warm "$LINKS" --cache-bytes "$budget" $3 \
		>"$work/$1.out" 2>"$work/$1.out.err" &
	pids+=($!)
	wait_ready "$work/$1.out" "${pids[-1]}"
}
start_edge a "$A_PORT" "$A_FLAGS"
a_pid=${pids[-1]}
start_edge b "$B_PORT" "$B_FLAGS"
b_pid=${pids[-1]}

cat >"$work/keys.lua" <<LUA
math.randomseed(42)
request = function() return wrk.format("GET", string.format("/b%06d", math.random(0, $LINKS - 1))) end
done = function(s, lat, r) io.write(string.format("PCT %d %d %d\n", lat:percentile(50), lat:percentile(99), lat:percentile(99.9))) end
LUA
hz=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
echo "A: edgebench edge $A_FLAGS"
echo "B: edgebench edge $B_FLAGS"
for r in $(seq 1 "$ROUNDS"); do
	for v in A B; do
		if [ "$v" = A ]; then port=$A_PORT pid=$a_pid; else port=$B_PORT pid=$b_pid; fi
		t0=$(ticks "$pid")
		out=$(taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"$DURATION" -s "$work/keys.lua" "http://127.0.0.1:$port/")
		t1=$(ticks "$pid")
		awk -v r="$r" -v v="$v" -v t0="$t0" -v t1="$t1" -v hz="$hz" '
			/requests in/ {n = $1}
			/^Requests\/sec:/ {rps = $2}
			/^PCT/ {p50 = $2; p99 = $3; p999 = $4}
			END {printf "round %d %s %9.0f rps  p50 %6d us  p99 %6d us  p999 %6d us  %6.2f us CPU/req\n", r, v, rps, p50, p99, p999, (t1 - t0) * 1e6 / hz / n}' <<<"$out"
	done
done
