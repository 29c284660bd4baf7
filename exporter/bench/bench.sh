#!/usr/bin/env bash
# bench.sh - `make bench`: downtime_exporter side by side with
# smokeping_prober (Debian's prometheus-smokeping-prober, ping sockets and raw
# sockets) at 100 / 1,000 / 5,000 / 10,000 loopback targets pinged once a
# second, each exporter alone in a private network namespace. Prints a table
# of CPU (% of one core and per probe), peak RSS, probes/s, loss and the mean
# RTT reported for loopback (true RTT ~0.02 ms, so the excess is error).
#
# Usage (root): bash exporter/bench/bench.sh        from the repository root
# Environment:
#   SIZES="100 1000 5000 10000"  target counts
#   WINDOW=20                    measurement window per run, seconds
#   RAW_MAX=1000                 largest N for smokeping raw sockets (it needs
#                                both cores at ~2,000: O(N^2) in the kernel)
#   PROBING_MAX=1000             largest N for --ping.engine=pro-bing
#   OUT=DIR                      results directory (default /tmp/downtime-bench-DATE)
#   PIPELINE=1                   then run pipeline.sh (100,000 hosts, 10 % dropped,
#                                Prometheus ingesting 10,000 hosts); 0 = skip it
#   RECORD=1                     then write the tables into exporter/BENCHMARKS.md
#                                (record.sh, "Latest run"); 0 = leave it alone
# All traffic stays on loopback (127.1.x.y) inside the namespace "downtime-bench",
# which this script creates and removes.

set -eu
set -o pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SCALE="$ROOT/exporter/bench/scale.sh"
SIZES=${SIZES:-"100 1000 5000 10000"}
WINDOW=${WINDOW:-20}
RAW_MAX=${RAW_MAX:-1000}
PROBING_MAX=${PROBING_MAX:-1000}
OUT=${OUT:-/tmp/downtime-bench-$(date +%Y%m%d-%H%M%S)}
STARTED=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
SMOKEPING=/usr/bin/prometheus-smokeping-prober

[ "$(id -u)" = 0 ] || { echo "bench: must run as root (namespaces, raw sockets)" >&2; exit 2; }
mkdir -p "$OUT"
RESULTS="$OUT/results.jsonl"
NETNS=downtime-bench
trap 'ip netns del "$NETNS" 2>/dev/null || true' EXIT

echo "bench: building bin/downtime_exporter" >&2
(cd "$ROOT" && go build -o bin/downtime_exporter ./exporter)
if [ ! -x "$SMOKEPING" ]; then
  echo "bench: installing prometheus-smokeping-prober" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y prometheus-smokeping-prober >&2
fi

# downtime_exporter with its default flags (shared engine, raw sockets).
downtime() { # MODE N [extra flags]
  local mode=$1 n=$2; shift 2
  SAMPLES_METRIC=ping_requests_total REPLIES_METRIC=ping_responses_total \
  RTT_SUM_METRIC=ping_rtt_seconds_sum RTT_COUNT_METRIC=ping_rtt_seconds_count \
    bash "$SCALE" -n "$NETNS" -o "$RESULTS" -l "${LABEL}" -m "$mode" \
    -t "$ROOT/bin/downtime_exporter --web.listen-address={listen} $* {targets}" cmd "$n" "$WINDOW"
}

run() { # LABEL N command...
  LABEL=$1; local n=$2; shift 2
  echo "bench: $LABEL N=$n" >&2
  "$@" > "$OUT/$LABEL-n$n.txt" 2>&1 || echo "bench: $LABEL N=$n failed, see $OUT/$LABEL-n$n.txt" >&2
  grep -E '^ +(exporter|samples|rtt)' "$OUT/$LABEL-n$n.txt" >&2 || true
}

for n in $SIZES; do
  run downtime "$n" downtime priv "$n"
  run smokeping-ping "$n" bash "$SCALE" -n "$NETNS" -o "$RESULTS" -l smokeping-ping -m unpriv smokeping "$n" "$WINDOW"
  if [ "$n" -le "$RAW_MAX" ]; then
    run smokeping-raw "$n" bash "$SCALE" -n "$NETNS" -o "$RESULTS" -l smokeping-raw -m priv smokeping "$n" "$WINDOW"
  fi
  if [ "$n" -le "$PROBING_MAX" ]; then
    run downtime-probing "$n" downtime unpriv "$n" --ping.engine=pro-bing --no-ping.privileged
  fi
done

bash "$ROOT/exporter/bench/table.sh" "$RESULTS" | tee "$OUT/table.md"
{
  echo
  echo "run: started $STARTED, table written $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "machine: $(nproc) cores, $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo), kernel $(uname -r)"
  echo "smokeping_prober: $("$SMOKEPING" --version 2>&1 | head -1)"
  echo "command: SIZES=\"$SIZES\" WINDOW=$WINDOW RAW_MAX=$RAW_MAX PROBING_MAX=$PROBING_MAX PIPELINE=${PIPELINE:-1} bash exporter/bench/bench.sh"
  echo "results: $RESULTS"
} | tee -a "$OUT/table.md"

if [ "${PIPELINE:-1}" = 1 ]; then
  OUT="$OUT" bash "$ROOT/exporter/bench/pipeline.sh"
fi
if [ "${RECORD:-1}" = 1 ]; then
  bash "$ROOT/exporter/bench/record.sh" "$OUT"
fi
