# lib.sh: what the bench scripts share; sourced, not run. It makes the
# scratch directory $work and the list pids of processes to stop, and
# stops and removes them on exit.
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

# wait_ready FILE PID [PATTERN]: until the process prints a line matching
# PATTERN (default ^ready) into FILE, for at most 10 minutes; exits the
# script if the process dies first (showing FILE and FILE.err).
wait_ready() {
	for _ in $(seq 1 6000); do
		grep -q "${3:-^ready}" "$1" 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || { echo "process $2 died; see $1" >&2; cat "$1" "$1.err" >&2 || true; exit 1; }
		sleep 0.1
	done
	echo "timed out waiting for $1" >&2
	exit 1
}
