#!/usr/bin/env bash
# edge-vs-nginx.sh: the edge's cache-hit redirects against nginx (1 worker,
# `map` + `return 302`) and a bare fasthttp server answering a fixed 302
# (bench/cmd/bare302), each pinned to SERVER_CPU, wrk pinned to CLIENT_CPU.
#
# For every key set (DISTS x LINKS_SET) the three servers are measured in
# ROUNDS interleaved rounds (nginx, bare, edge, then again), each run DURATION
# long, so drift on a shared machine hits all alike. Every run replays the
# same key sequence: wrk -t1 with a Lua script seeded with SEED draws
# /bNNNNNN codes, uniform over LINKS or Zipf(ZIPF_S) by rank.
#
# Per run: rate, p50/p99/p999 (wrk's own histogram via the Lua done hook),
# and the server's CPU per request read from /proc/PID/stat (user+system of
# the process that serves: the nginx worker, the Go process). Ratios are
# computed within each round (edge/nginx, edge/bare) and their median is
# reported, with the min..max spread.
#
# The edge runs against a real origin (package origin over the embedded
# store) holding max(LINKS_SET) links, loaded into the edge's cache before
# measuring; the origin sits on CLIENT_CPU and after warming only
# receives click batches (under SCHED_IDLE; its CPU per request is printed
# with each edge run). Loopback only; every run is bounded by DURATION.
#
# Output: every run on stderr, a markdown table on stdout (docs/bench.md).
#
# Usage: bench/edge-vs-nginx.sh  (env: ROUNDS DURATION CONNS LINKS_SET DISTS
#        ZIPF_S SEED CACHE_PER_LINK SERVER_CPU CLIENT_CPU NGINX_PORT BARE_PORT
#        EDGE_PORT ORIGIN_PORT EDGE_FLAGS BARE_FLAGS)
#        EDGE_FLAGS are more flags for edgebench edge, BARE_FLAGS for
#        bare302 (e.g. BARE_FLAGS="--deadlines exact"), for A/B runs.
#        SYSCALLS=1 also counts each server's system calls a request
#        (reads, writes, epoll waits, all) with perf's syscall
#        tracepoints, in a table of their own. Off by default: a
#        tracepoint costs every system call a little, so CPU figures of
#        a run with it are not comparable with one without.
set -euo pipefail

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
LINKS_SET=${LINKS_SET:-"100000 1000000"}
DISTS=${DISTS:-"uniform zipf"}
ZIPF_S=${ZIPF_S:-1.1}
SEED=${SEED:-42}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
NGINX_PORT=${NGINX_PORT:-18290}
BARE_PORT=${BARE_PORT:-18291}
EDGE_PORT=${EDGE_PORT:-18292}
ORIGIN_PORT=${ORIGIN_PORT:-19290}
CACHE_PER_LINK=${CACHE_PER_LINK:-144}
LOCATION_PREFIX="https://example.com/landing?utm=bench&i="
EDGE_FLAGS=${EDGE_FLAGS:-}
BARE_FLAGS=${BARE_FLAGS:-}
SYSCALLS=${SYSCALLS:-}

cd "$(dirname "$0")/.."
need=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v wrk >/dev/null || need+=(wrk)
if [ ${#need[@]} -gt 0 ]; then
	echo "installing ${need[*]}" >&2
	apt-get install -y "${need[@]}" >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
# The syscall tracepoints SYSCALLS=1 counts, as perf names them; reads,
# writes and polls each sum the calls nginx and Go use for them.
sc_events=raw_syscalls:sys_enter
for c in read recvfrom write writev sendto epoll_wait epoll_pwait; do sc_events+=",syscalls:sys_enter_$c"; done

if [ -n "$SYSCALLS" ]; then
	command -v perf >/dev/null || { echo "SYSCALLS=1 needs perf (Debian: linux-perf)" >&2; exit 1; }
	perf stat -e "$sc_events" true >/dev/null 2>&1 || { echo "SYSCALLS=1: perf cannot read the syscall tracepoints $sc_events here (run as root)" >&2; exit 1; }
fi
command -v taskset >/dev/null && command -v chrt >/dev/null || { echo "taskset and chrt are required (util-linux)" >&2; exit 1; }

. bench/lib.sh # $work, pids, cleanup, wait_ready

echo "building" >&2
go build -o "$work/bare302" ./bench/cmd/bare302
go build -o "$work/edgebench" ./bench/cmd/edgebench

stop() { # PID
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

maxlinks=0
for n in $LINKS_SET; do [ "$n" -gt "$maxlinks" ] && maxlinks=$n; done

echo "origin: creating $maxlinks links" >&2
# The origin runs under SCHED_IDLE on the client's CPU: it only gets the
# CPU when wrk leaves it idle. During edge runs it applies the edge's click
# counts (tens of thousands of codes a second at these rates); at nice 19
# it still took CPU 1 from wrk for milliseconds at a time, which showed
# as edge latency. Its CPU per edge request is reported on its own.
taskset -c "$CLIENT_CPU" chrt --idle 0 "$work/edgebench" origin --listen "127.0.0.1:$ORIGIN_PORT" \
	--links "$maxlinks" --dir "$work/data" >"$work/origin.out" 2>"$work/origin.out.err" &
origin_pid=$!
pids+=("$origin_pid")
wait_ready "$work/origin.out" "$origin_pid" '^ready'

GOMAXPROCS=1 taskset -c "$SERVER_CPU" "$work/bare302" --listen "127.0.0.1:$BARE_PORT" \
	--location "${LOCATION_PREFIX}b000042" $BARE_FLAGS >"$work/bare.out" 2>&1 &
bare_pid=$!
pids+=("$bare_pid")
wait_ready "$work/bare.out" "$bare_pid" listening

# start_nginx N: one worker, a map of N codes, answering `return 302`.
# keepalive_requests is raised so nginx does not close wrk's connections
# every 1000 requests (fasthttp does not either); access_log off (the edge
# keeps no per-request log).
start_nginx() {
	local n=$1 d=$work/nginx
	rm -rf "$d"; mkdir -p "$d/tmp"
	awk -v n="$n" -v p="$LOCATION_PREFIX" 'BEGIN{for(i=0;i<n;i++){c=sprintf("b%06d",i); printf "/%s \"%s%s\";\n", c, p, c}}' >"$d/links.map"
	cat >"$d/nginx.conf" <<NGX
worker_processes 1;
daemon off;
pid $d/nginx.pid;
error_log $d/error.log warn;
user root;
events { worker_connections 4096; }
http {
	access_log off;
	server_tokens off;
	keepalive_requests 100000000;
	keepalive_timeout 60s;
	client_body_temp_path $d/tmp/body;
	proxy_temp_path $d/tmp/proxy;
	fastcgi_temp_path $d/tmp/fastcgi;
	uwsgi_temp_path $d/tmp/uwsgi;
	scgi_temp_path $d/tmp/scgi;
	map_hash_max_size $((n * 2 + 1024));
	map_hash_bucket_size 128;
	map \$uri \$target {
		default "";
		include $d/links.map;
	}
	server {
		listen 127.0.0.1:$NGINX_PORT;
		location / {
			if (\$target = "") { return 404; }
			return 302 \$target;
		}
	}
}
NGX
	taskset -c "$SERVER_CPU" "$NGINX" -p "$d" -c "$d/nginx.conf" >"$d/out" 2>&1 &
	nginx_master=$!
	pids+=("$nginx_master")
	nginx_pid=""
	for _ in $(seq 1 600); do
		nginx_pid=$(pgrep -P "$nginx_master" | head -1 || true)
		[ -n "$nginx_pid" ] && curl -s -o /dev/null "http://127.0.0.1:$NGINX_PORT/b000000" && return 0
		kill -0 "$nginx_master" 2>/dev/null || { cat "$d/out" "$d/error.log" >&2; exit 1; }
		sleep 0.1
	done
	echo "nginx did not start" >&2; exit 1
}

# start_edge N: the edge with a cache budget that holds all N links
# (CACHE_PER_LINK bytes each: ~129 with ristretto's bookkeeping, see
# deploy/README.md, and a margin), so every measured request is a hit, and
# the memory limit shortstock edge derives from that budget (--memory: it
# reports RSS, heap and GC after warming and when stopped).
start_edge() {
	GOMAXPROCS=1 taskset -c "$SERVER_CPU" "$work/edgebench" edge --listen "127.0.0.1:$EDGE_PORT" \
		--origin "http://127.0.0.1:$ORIGIN_PORT" --warm "$1" --memory $EDGE_FLAGS \
		--cache-bytes $(($1 * CACHE_PER_LINK + (8 << 20))) >"$work/edge.out" 2>"$work/edge.out.err" &
	edge_pid=$!
	pids+=("$edge_pid")
	wait_ready "$work/edge.out" "$edge_pid" '^ready'
	cat "$work/edge.out.err" >&2
	grep -q " $1 cached" "$work/edge.out.err" || { echo "edge did not cache all $1 links" >&2; exit 1; }
}

# keys.lua: the same seeded key sequence for every server; percentiles in us.
write_script() { # N DIST
	cat >"$work/keys.lua" <<LUA
local n, dist, s = $1, "$2", $ZIPF_S
math.randomseed($SEED)
local a = n ^ (1 - s) - 1
request = function()
  local i
  if dist == "zipf" then
    -- inverse CDF of the continuous Zipf(s) over ranks 1..n
    i = math.floor((a * math.random() + 1) ^ (1 / (1 - s))) - 1
    if i >= n then i = n - 1 end
  else
    i = math.random(0, n - 1)
  end
  return wrk.format("GET", string.format("/b%06d", i))
end
done = function(summary, latency, requests)
  io.write(string.format("PCT %d %d %d\n", latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
  io.write(string.format("ERRS %d %d %d %d %d\n", summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status, summary.errors.timeout))
end
LUA
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
user_ticks() { awk '{print $14}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)

# run PORT PID [PID2]: one wrk run; prints "rps p50us p99us p999us
# cpu_us_per_req user_us_per_req server_busy_pct wrk_busy_pct
# [pid2_cpu_us_per_req]". The user part is the server's own code and
# runtime; the rest is the kernel (system calls, loopback TCP,
# scheduling), which every server pays for its reads and writes. Busy is
# the share of the run's wall time a process spent on a CPU: with CONNS
# connections in a closed loop, whichever of the server and wrk is near
# 100 % holds the queue, and the latencies are mostly its queue.
run() {
	local out c0 c1 u0 u1 o0 o1 t0 t1 rate total p50 p99 p999 errs wrkcpu
	c0=$(cpu_ticks "$2")
	u0=$(user_ticks "$2")
	[ -z "${3:-}" ] || o0=$(cpu_ticks "$3")
	if [ -n "$SYSCALLS" ]; then
		# Counts over wrk's run: from just before it starts to a margin
		# after DURATION (the server is idle in the margins).
		perf stat -x' ' -e "$sc_events" -p "$2" -o "$work/perf.out" -- sleep "$(awk -v d="$DURATION" 'BEGIN{s = d + 0; if (d ~ /m$/) s *= 60; print s + 0.2}')" &
		perf_pid=$!
		sleep 0.1
	fi
	t0=$EPOCHREALTIME
	# times, after wrk in the same subshell, prints the subshell's own CPU
	# time and then its children's: wrk's.
	out=$(taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"$DURATION" -s "$work/keys.lua" "http://127.0.0.1:$1/"; times)
	t1=$EPOCHREALTIME
	c1=$(cpu_ticks "$2")
	u1=$(user_ticks "$2")
	[ -z "${3:-}" ] || o1=$(cpu_ticks "$3")
	rate=$(awk '/^Requests\/sec:/{print $2}' <<<"$out")
	total=$(awk '/requests in/{print $1}' <<<"$out")
	read -r _ p50 p99 p999 < <(grep '^PCT' <<<"$out")
	errs=$(grep '^ERRS' <<<"$out")
	[ "$errs" = "ERRS 0 0 0 0 0" ] || echo "  port $1: $errs (connect read write status timeout)" >&2
	if [ -n "$SYSCALLS" ]; then
		wait "$perf_pid" || true
		syscalls_per "$work/perf.out" "$total" >"$work/syscalls.last"
	fi
	# The last line of times: "XmY.YYYs XmY.YYYs", wrk's user and system.
	wrkcpu=$(tail -1 <<<"$out" | awk '{s = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); s += a[1] * 60 + a[2] } print s}')
	per() { awk -v c="$1" -v hz="$HZ" -v n="$total" 'BEGIN{printf "%.2f", c / hz * 1e6 / n}'; }
	busy() { awk -v c="$1" -v t0="$t0" -v t1="$t1" 'BEGIN{printf "%.0f", c * 100 / (t1 - t0)}'; }
	echo "$rate $p50 $p99 $p999 $(per $((c1 - c0))) $(per $((u1 - u0))) $(busy "$(awk -v c=$((c1 - c0)) -v hz="$HZ" 'BEGIN{print c / hz}')") $(busy "$wrkcpu")${3:+ $(per $((o1 - o0)))}"
}

# syscalls_per PERFOUT TOTAL: "all reads writes polls", each a request.
syscalls_per() {
	awk -v n="$2" '
		$2 == "raw_syscalls:sys_enter" { all = $1 }
		$2 ~ /sys_enter_(read|recvfrom)$/ { r += $1 }
		$2 ~ /sys_enter_(write|writev|sendto)$/ { w += $1 }
		$2 ~ /sys_enter_epoll_p?wait$/ { p += $1 }
		END { printf "%.2f %.2f %.2f %.2f\n", all / n, r / n, w / n, p / n }' "$1"
}

# awk_med: med(arr, k), the median of arr[1..k] (sorts it), for the tables.
awk_med='function med(arr, k,   i, j, t) { for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t } return (k % 2) ? arr[(k + 1) / 2] : (arr[k / 2] + arr[k / 2 + 1]) / 2 }'

results=$work/results
: >"$results"
syscalls=$work/syscalls
: >"$syscalls"
for n in $LINKS_SET; do
	echo "nginx: map of $n links" >&2
	start_nginx "$n"
	echo "edge: warming $n links" >&2
	start_edge "$n"
	for port in "$NGINX_PORT" "$BARE_PORT" "$EDGE_PORT"; do
		code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/b000042")
		[ "$code" = 302 ] || { echo "127.0.0.1:$port answered $code, want 302" >&2; exit 1; }
	done
	for dist in $DISTS; do
		write_script "$n" "$dist"
		for r in $(seq 1 "$ROUNDS"); do
			for what in nginx bare edge; do
				case $what in
				nginx) port=$NGINX_PORT pid=$nginx_pid other= ;;
				bare) port=$BARE_PORT pid=$bare_pid other= ;;
				edge) port=$EDGE_PORT pid=$edge_pid other=$origin_pid ;;
				esac
				ocpu=
				read -r rate p50 p99 p999 cpu ucpu sbusy wbusy ocpu < <(run "$port" "$pid" $other)
				printf '%-8s %-8s round %d %-6s %10s rps  p50 %6sus p99 %6sus p999 %6sus  %s us CPU/req (%s user)  busy %s%%, wrk %s%%%s\n' \
					"$dist" "$n" "$r" "$what" "$rate" "$p50" "$p99" "$p999" "$cpu" "$ucpu" "$sbusy" "$wbusy" "${ocpu:+ (origin: $ocpu us/req, click counts)}" >&2
				echo "$dist $n $r $what $rate $p50 $p99 $p999 $cpu $ucpu $sbusy $wbusy" >>"$results"
				if [ -n "$SYSCALLS" ]; then
					read -r sall sr sw sp <"$work/syscalls.last"
					echo "  system calls a request: $sall ($sr reads, $sw writes, $sp epoll waits)" >&2
					echo "$dist $n $what $sall $sr $sw $sp" >>"$syscalls"
				fi
			done
		done
	done
	stop "$edge_pid"
	grep 'memory when stopped' "$work/edge.out.err" | sed "s/^/$n links: /" | tee -a "$work/memory" >&2
	stop "$nginx_master"
done

echo "The edge's memory, budget $CACHE_PER_LINK B a link (RSS, peak RSS, heap; the GC over all its runs):"
echo
sed 's/^/    /' "$work/memory"
echo
echo "hardware: $(nproc) CPUs, $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo); rounds=$ROUNDS duration=$DURATION conns=$CONNS zipf_s=$ZIPF_S seed=$SEED"
echo
echo "Medians over $ROUNDS interleaved rounds (min..max in brackets). Latency in ms, CPU in us per request"
echo "(user: the part spent in the server's own code and runtime, not in the kernel). Busy: the share of"
echo "the run the server, and wrk, spent on a CPU; the one near 100 % holds the closed loop's queue."
echo
echo "| keys | links | server | rps | p50 | p99 | p999 | CPU us/req | user us/req | busy % | wrk busy % |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
awk '
'"$awk_med"'
function stat(key, col, scale,   i, a, n, lo, hi, v) { n = 0; for (i = 1; i <= cnt[key]; i++) { v = val[key, i, col] * scale; a[++n] = v; if (n == 1 || v < lo) lo = v; if (n == 1 || v > hi) hi = v } return sprintf(col == 5 ? "%.1fk [%.1f..%.1f]" : (col >= 11 ? "%.0f [%.0f..%.0f]" : "%.2f [%.2f..%.2f]"), med(a, n) * (col == 5 ? 0.001 : 1), lo * (col == 5 ? 0.001 : 1), hi * (col == 5 ? 0.001 : 1)) }
{ key = $1 SUBSEP $2 SUBSEP $4; c = ++cnt[key]; for (f = 5; f <= 12; f++) val[key, c, f] = $f
  if (!(($1 SUBSEP $2) in seen)) { seen[$1 SUBSEP $2] = 1; order[++no] = $1 SUBSEP $2 }
  row[$1, $2, $3, $4, "rps"] = $5; row[$1, $2, $3, $4, "p99"] = $7; row[$1, $2, $3, $4, "cpu"] = $9; rounds[$1, $2] = $3 }
END {
  for (o = 1; o <= no; o++) {
    split(order[o], kv, SUBSEP)
    for (w = 1; w <= 3; w++) { s = (w == 1 ? "nginx" : (w == 2 ? "bare" : "edge")); key = kv[1] SUBSEP kv[2] SUBSEP s
      printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", kv[1], kv[2], s, stat(key, 5, 1), stat(key, 6, 0.001), stat(key, 7, 0.001), stat(key, 8, 0.001), stat(key, 9, 1), stat(key, 10, 1), stat(key, 11, 1), stat(key, 12, 1) }
  }
  print ""
  print "Ratios within each round, median [min..max] over the rounds (edge wins when rps >= 1, p99 <= 1, CPU <= 1):"
  print ""
  print "| keys | links | edge/nginx rps | edge/nginx p99 | edge/nginx CPU | edge/bare rps | edge/bare CPU |"
  print "|---|---|---|---|---|---|---|"
  for (o = 1; o <= no; o++) {
    split(order[o], kv, SUBSEP); line = "| " kv[1] " | " kv[2]
    split("rps p99 cpu rps cpu", ms, " "); split("nginx nginx nginx bare bare", vs, " ")
    for (m = 1; m <= 5; m++) { n = 0; for (r = 1; r <= rounds[kv[1], kv[2]]; r++) { d = row[kv[1], kv[2], r, vs[m], ms[m]]; if (d > 0) { v = row[kv[1], kv[2], r, "edge", ms[m]] / d; a[++n] = v; if (n == 1 || v < lo) lo = v; if (n == 1 || v > hi) hi = v } }
      line = line sprintf(" | %.3f [%.3f..%.3f]", med(a, n), lo, hi); delete a }
    print line " |"
  }
}' "$results"

if [ -n "$SYSCALLS" ]; then
	echo
	echo "System calls a request, median [min..max] over the rounds (perf's syscall tracepoints; reads: read and"
	echo "recvfrom, writes: write, writev and sendto, epoll waits: epoll_wait and epoll_pwait):"
	echo
	echo "| keys | links | server | all | reads | writes | epoll waits |"
	echo "|---|---|---|---|---|---|---|"
	awk '
'"$awk_med"'
{ key = $1 SUBSEP $2 SUBSEP $3; c = ++cnt[key]; for (f = 4; f <= 7; f++) val[key, c, f] = $f
  if (!(key in seen)) { seen[key] = 1; order[++no] = key } }
END {
  for (o = 1; o <= no; o++) {
    key = order[o]; split(key, kv, SUBSEP); line = "| " kv[1] " | " kv[2] " | " kv[3]
    for (f = 4; f <= 7; f++) { n = 0; for (i = 1; i <= cnt[key]; i++) { v = val[key, i, f]; a[++n] = v; if (n == 1 || v < lo) lo = v; if (n == 1 || v > hi) hi = v }
      line = line sprintf(" | %.2f [%.2f..%.2f]", med(a, n), lo, hi); delete a }
    print line " |"
  }
}' "$syscalls"
fi
