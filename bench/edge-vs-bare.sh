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
# Prints every run (rate, p99, server CPU per request), the means, and the
# ratio edge/bare three ways (target >= 0.9): of the mean rates, the median
# of the per-round ratios, and of the CPU each spends per request (the
# steadiest on a machine shared with other work).
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
command -v taskset >/dev/null && command -v chrt >/dev/null || { echo "taskset and chrt are required (util-linux)" >&2; exit 1; }

. bench/lib.sh # $work, pids, cleanup, wait_ready

echo "building" >&2
go build -o "$work/bare302" ./bench/cmd/bare302
go build -o "$work/edgebench" ./bench/cmd/edgebench

echo "origin: creating $LINKS links" >&2
# The origin only gets the client CPU when wrk leaves it idle (SCHED_IDLE;
# see edge-vs-nginx.sh).
taskset -c "$CLIENT_CPU" chrt --idle 0 "$work/edgebench" origin --listen "127.0.0.1:$ORIGIN_PORT" \
	--links "$LINKS" --dir "$work/data" >"$work/origin.out" 2>"$work/origin.out.err" &
pids+=($!)
wait_ready "$work/origin.out" $!
cat "$work/origin.out.err" >&2

echo "edge: warming $LINKS links" >&2
GOMAXPROCS=1 taskset -c "$SERVER_CPU" "$work/edgebench" edge --listen "127.0.0.1:$EDGE_PORT" \
	--origin "http://127.0.0.1:$ORIGIN_PORT" --warm "$LINKS" >"$work/edge.out" 2>"$work/edge.out.err" &
edge_pid=$!
pids+=("$edge_pid")
wait_ready "$work/edge.out" "$edge_pid"
cat "$work/edge.out.err" >&2

GOMAXPROCS=1 taskset -c "$SERVER_CPU" "$work/bare302" --listen "127.0.0.1:$BARE_PORT" >"$work/bare.out" 2>&1 &
bare_pid=$!
pids+=("$bare_pid")
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

# cpu_ticks PID: "user system" CPU time of a process, in clock ticks.
cpu_ticks() { awk '{print $14, $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)

# run NAME PORT PID: one wrk run; prints
# "rate p99 cpu_us_per_request user_cpu_us_per_request".
# CPU per request is the server's own CPU time (user+system, and user
# alone: the part the handler decides; the system part is the same
# syscalls for both) over the requests it answered: unlike the rate, it
# barely moves when other work on the machine steals the server's core,
# and it still compares the two when the load generator, not the server,
# is the bottleneck.
run() {
	local out u0 s0 u1 s1
	read -r u0 s0 < <(cpu_ticks "$3")
	out=$(taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"$DURATION" --latency "${script[@]}" "http://127.0.0.1:$2$path")
	read -r u1 s1 < <(cpu_ticks "$3")
	local rate p99 total errs
	rate=$(awk '/^Requests\/sec:/{print $2}' <<<"$out")
	p99=$(awk '$1=="99%"{print $2}' <<<"$out")
	total=$(awk '/requests in/{print $1}' <<<"$out")
	errs=$(awk '/Non-2xx or 3xx/{print $NF} /Socket errors/{print}' <<<"$out")
	[ -z "$errs" ] || echo "  $1: $errs" >&2
	echo "$rate $p99 $(awk -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v hz="$HZ" -v n="$total" 'BEGIN{printf "%.3f %.3f", (u + s) / hz * 1e6 / n, u / hz * 1e6 / n}')"
}

echo "mode=$MODE rounds=$ROUNDS duration=$DURATION conns=$CONNS links=$LINKS server_cpu=$SERVER_CPU client_cpu=$CLIENT_CPU"
printf '%-6s %-5s %12s %10s %12s %12s\n' round what req/s p99 cpu-us/req user-us/req
results=$work/results
: >"$results"
for r in $(seq 1 "$ROUNDS"); do
	for what in bare edge; do
		port=$BARE_PORT pid=$bare_pid
		if [ "$what" = edge ]; then port=$EDGE_PORT pid=$edge_pid; fi
		read -r rate p99 cpu ucpu < <(run "$what" "$port" "$pid")
		printf '%-6s %-5s %12s %10s %12s %12s\n' "$r" "$what" "$rate" "$p99" "$cpu" "$ucpu"
		echo "$r $what $rate $cpu $ucpu" >>"$results"
	done
done
# Means, the ratio of means, the median of the per-round ratios (a round
# measures both back to back, so it cancels slow drifts), and the ratio of
# CPU per request (bare/edge: the share of the bare server's speed the edge
# keeps when each has a core to itself).
awk '
	$2=="bare" { b[$1]=$3; bs+=$3; bcs+=$4; bus+=$5; n++ }
	$2=="edge" { e[$1]=$3; es+=$3; ecs+=$4; eus+=$5 }
	END {
		for (r in b) { rr[++m] = e[r] / b[r] }
		for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (rr[j] < rr[i]) { t = rr[i]; rr[i] = rr[j]; rr[j] = t }
		med = (m % 2) ? rr[(m + 1) / 2] : (rr[m / 2] + rr[m / 2 + 1]) / 2
		printf "bare mean %.0f req/s, %.3f us CPU/request (%.3f user)\n", bs / n, bcs / n, bus / n
		printf "edge mean %.0f req/s, %.3f us CPU/request (%.3f user)\n", es / n, ecs / n, eus / n
		printf "ratio edge/bare (target >= 0.9):\n"
		printf "  mean rates               %.3f\n", es / bs
		printf "  median per-round rates   %.3f\n", med
		printf "  CPU per request          %.3f  (bare/edge: the rate ratio were each server CPU-bound)\n", bcs / ecs
		printf "  user CPU per request     %.3f  (bare/edge, handler and Go runtime only)\n", bus / eus
	}' "$results"
hits=$(curl -s "http://127.0.0.1:$EDGE_PORT/_/metrics" | awk '/^shortstock_edge_answers_total\{.*cache="hit".*kind="link"/{print $NF}')
echo "edge link hits counted: $hits"
