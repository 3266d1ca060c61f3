#!/usr/bin/env bash
# bench/redis-reserve.sh: reservations/s of the Redis store against
# redis-benchmark running the same Lua script on the same server.
#
# In one run it starts a dedicated redis-server on a free loopback port,
# then (best of ROUNDS rounds, FLUSHALL before each side):
#   1. the Go benchmark body of BenchmarkReserve (origin/redisstore):
#      Store.Reserve from 50 goroutines over go-redis;
#   2. redis-benchmark -c 50 -P 1 -n REQUESTS -r 1e9 EVALSHA <sha> 5 <keys> <args>
#      with exactly the keys and arguments Store.Reserve sends (the
#      reservation ID randomised per call);
# and prints both rates and their ratio (design target >= 0.5).
#
# Usage: bench/redis-reserve.sh [everysec|always|no]
# Env:   REQUESTS (default 200000), ROUNDS (default 2), BENCHTIME (go
#        -benchtime for the Go side, default 1s)
set -euo pipefail
cd "$(dirname "$0")/.."

fsync="${1:-everysec}"
case "$fsync" in everysec|always|no) ;; *) echo "usage: $0 [everysec|always|no]" >&2; exit 2;; esac
for bin in redis-server redis-cli redis-benchmark; do
	command -v "$bin" >/dev/null || { echo "$0: $bin not found (apt-get install -y redis-server redis-tools)" >&2; exit 1; }
done

echo "go test -run TestReserveVsRedisBenchmark ./origin/redisstore/ (appendfsync $fsync)" >&2
SHORTSTOCK_BENCH_REDIS_COMPARE=1 \
SHORTSTOCK_BENCH_APPENDFSYNC="$fsync" \
SHORTSTOCK_BENCH_REQUESTS="${REQUESTS:-200000}" \
SHORTSTOCK_BENCH_ROUNDS="${ROUNDS:-2}" \
	go test -count=1 -timeout 10m -run '^TestReserveVsRedisBenchmark$' -v \
	-benchtime "${BENCHTIME:-1s}" ./origin/redisstore/ |
	grep -v -E '^(=== RUN|PASS$|ok )'
