#!/usr/bin/env bash
# Run a multi-region shortstock topology as separate processes on this
# machine, on a local 3-master Redis Cluster (one replica each).
#
#   deploy/local/run.sh up      start everything, print endpoints
#   deploy/local/run.sh down    stop everything (SIGTERM: drain, leave gossip)
#   deploy/local/run.sh check   up, write a link, read it through every edge, down
#
# Settings (environment): REGIONS (default 2), EDGES per region (2),
# BASE_PORT (21000; every listener, Redis Cluster buses included, is
# BASE_PORT + n on 127.0.0.1 with n < 500),
# STATE_DIR (default $TMPDIR/shortstock-local: logs, pids, redis data).
set -euo pipefail
cd "$(dirname "$0")/../.."

REGIONS=${REGIONS:-2}
EDGES=${EDGES:-2}
BASE_PORT=${BASE_PORT:-21000}
STATE_DIR=${STATE_DIR:-${TMPDIR:-/tmp}/shortstock-local}
HOST=127.0.0.1
NAMES=(us-east eu-west ap-south us-west)
BIN="$STATE_DIR/shortstock"
export SHORTSTOCK_ADMIN_KEY=${SHORTSTOCK_ADMIN_KEY:-local-admin-key-$(id -u)-0123456789}
export SHORTSTOCK_LOG_FORMAT=text

redis_port() { echo $((BASE_PORT + 1 + $1)); }                     # 6 nodes
redis_bus_port() { echo $((BASE_PORT + 51 + $1)); }                 # not port+10000: stay in the range
origin_port() { echo $((BASE_PORT + 100 + $1)); }
edge_port() { echo $((BASE_PORT + 200 + $1 * 20 + $2)); }
gossip_port() { echo $((BASE_PORT + 400 + $1 * 20 + $2)); }           # $2 = 0 origin, 1.. edges

start_bg() { # name, command...
  local name=$1; shift
  "$@" >"$STATE_DIR/$name.log" 2>&1 &
  echo $! >"$STATE_DIR/$name.pid"
}

wait_http() {
  for _ in $(seq 1 200); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "timed out waiting for $1" >&2; return 1
}

up() {
  command -v redis-server >/dev/null || { echo "redis-server missing: apt-get install -y redis-server" >&2; exit 1; }
  mkdir -p "$STATE_DIR"
  go build -o "$BIN" ./cmd/shortstock
  if [ ! -f "$STATE_DIR/gossip.key" ]; then head -c 32 /dev/urandom | base64 >"$STATE_DIR/gossip.key"; fi
  export SHORTSTOCK_GOSSIP_KEY=$(cat "$STATE_DIR/gossip.key")
  # The internal API token comes from its own secret, not the gossip key.
  if [ ! -f "$STATE_DIR/cluster.secret" ]; then head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$STATE_DIR/cluster.secret"; fi
  export SHORTSTOCK_CLUSTER_SECRET=$(cat "$STATE_DIR/cluster.secret")

  local seeds=()
  for i in 0 1 2 3 4 5; do
    local p; p=$(redis_port $i)
    mkdir -p "$STATE_DIR/redis-$p"
    redis-server --port "$p" --cluster-port "$(redis_bus_port $i)" --bind $HOST --dir "$STATE_DIR/redis-$p" --cluster-enabled yes \
      --cluster-config-file nodes.conf --appendonly yes --appendfsync everysec --save '' \
      --daemonize yes --pidfile "$STATE_DIR/redis-$p.pid" --logfile "$STATE_DIR/redis-$p.log"
    seeds+=("$HOST:$p")
  done
  for s in "${seeds[@]}"; do
    local n=0
    until redis-cli -h $HOST -p "${s##*:}" ping >/dev/null 2>&1; do
      n=$((n + 1))
      if [ "$n" -gt 200 ]; then
        echo "redis-server on ${s##*:} did not start; its log:" >&2
        tail -5 "$STATE_DIR/redis-${s##*:}.log" >&2 || true
        exit 1
      fi
      sleep 0.05
    done
  done
  if ! redis-cli -h $HOST -p "$(redis_port 0)" cluster info | grep -q cluster_state:ok; then
    redis-cli --cluster create "${seeds[@]}" --cluster-replicas 1 --cluster-yes >"$STATE_DIR/cluster-create.log"
  fi
  for _ in $(seq 1 100); do
    redis-cli -h $HOST -p "$(redis_port 0)" cluster info | grep -q cluster_state:ok && break
    sleep 0.1
  done
  # Replicas must be in sync before origins start: a write that moves a
  # partition to its epoch waits for every connected replica (docs/redis.md).
  for s in "${seeds[@]}"; do
    for _ in $(seq 1 200); do
      info=$(redis-cli -h $HOST -p "${s##*:}" info replication)
      if ! grep -q '^role:slave' <<<"$info" || grep -q '^master_link_status:up' <<<"$info"; then break; fi
      sleep 0.05
    done
  done
  local redis_list; redis_list=$(IFS=,; echo "${seeds[*]:0:3}")

  for r in $(seq 0 $((REGIONS - 1))); do
    local name=${NAMES[$r]} op gp
    op=$(origin_port "$r"); gp=$(gossip_port "$r" 0)
    start_bg "origin-$name" "$BIN" origin --region "$name" --listen "$HOST:$op" \
      --store redis --redis "$redis_list" --gossip-bind "$HOST:$gp" --node-name "origin-$name"
    wait_http "http://$HOST:$op/_/readyz"
    for e in $(seq 1 "$EDGES"); do
      local ep; ep=$(edge_port "$r" "$e")
      start_bg "edge-$name-$e" "$BIN" edge --region "$name" --listen "$HOST:$ep" \
        --origin "http://$HOST:$op" --gossip-bind "$HOST:$(gossip_port "$r" "$e")" \
        --join "$HOST:$gp" --node-name "edge-$name-$e"
    done
    for e in $(seq 1 "$EDGES"); do wait_http "http://$HOST:$(edge_port "$r" "$e")/_/readyz"; done
  done
  echo "shortstock is up (state in $STATE_DIR)"
  echo "admin key: $SHORTSTOCK_ADMIN_KEY"
  for r in $(seq 0 $((REGIONS - 1))); do
    printf '%-8s origin http://%s:%s  edges' "${NAMES[$r]}" $HOST "$(origin_port "$r")"
    for e in $(seq 1 "$EDGES"); do printf ' http://%s:%s' $HOST "$(edge_port "$r" "$e")"; done
    echo
  done
}

down() {
  [ -d "$STATE_DIR" ] || return 0
  for f in "$STATE_DIR"/edge-*.pid "$STATE_DIR"/origin-*.pid; do
    [ -f "$f" ] && kill -TERM "$(cat "$f")" 2>/dev/null || true
  done
  for f in "$STATE_DIR"/edge-*.pid "$STATE_DIR"/origin-*.pid; do
    [ -f "$f" ] || continue
    local pid; pid=$(cat "$f")
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$f"
  done
  local pids=()
  for i in 0 1 2 3 4 5; do
    local pf; pf="$STATE_DIR/redis-$(redis_port $i).pid"
    [ -f "$pf" ] && pids+=("$(cat "$pf")")
    redis-cli -h $HOST -p "$(redis_port $i)" shutdown nosave >/dev/null 2>&1 || true
  done
  # SHUTDOWN answers before the process is gone; wait, so that nothing is
  # still writing into the state directory when this returns.
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  echo "shortstock is down"
}

check() {
  trap down EXIT
  down >/dev/null
  rm -rf "$STATE_DIR"
  up
  local o; o="http://$HOST:$(origin_port 0)"
  curl -fsS -H "Authorization: Bearer $SHORTSTOCK_ADMIN_KEY" "$o/v1/links" \
    -d '{"url":"https://example.com/local","code":"local-check"}' >/dev/null
  for r in $(seq 0 $((REGIONS - 1))); do
    for e in $(seq 1 "$EDGES"); do
      local url="http://$HOST:$(edge_port "$r" "$e")/local-check" ok=""
      for _ in $(seq 1 50); do
        if curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "$url" | grep -q '^302 https://example.com/local$'; then ok=1; break; fi
        sleep 0.1
      done
      [ -n "$ok" ] || { echo "FAIL: $url did not redirect" >&2; exit 1; }
      echo "ok: $url"
    done
  done
  echo "local check passed"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  check) check ;;
  *) echo "usage: $0 up|down|check" >&2; exit 2 ;;
esac
