#!/usr/bin/env bash
# pipeline.sh - the runs of issue 14 beyond bench.sh, each in the private
# network namespace "downtime-pipe" (created and removed here):
#
#   big      downtime_exporter alone with BIG_N loopback hosts (default
#            100,000: 127.1.x.y, then 127.2.x.y past 65,024) at 1/s: CPU,
#            peak RSS, loss, late sends (downtime_exporter_probes_late_total),
#            and one /metrics scrape in text and in protobuf (bytes, seconds).
#   mixed    10,000 hosts, clean and with 10 % of them dropped by nftables
#            (echo requests to every 10th address, input hook: they time
#            out), alternated A/B/A/B: the CPU a lost probe costs =
#            (CPU mixed - CPU clean) / lost probes. Both rounds also ping
#            a few delayed hosts (MIX_DELAYS, in ms): addresses 198.18.0.11..
#            in the namespace "downtime-pipe-slow", behind a veth from
#            198.18.0.1/24, answered by exporter/bench/delayecho (kernel
#            echo off there); their mean RTT and loss are reported per host.
#   prom     Debian's Prometheus scraping 10,000 hosts every 10 s, from
#            downtime_exporter (default flags), from downtime_exporter with
#            --metrics.rtt-histogram=native --metrics.omit-zero-errors and
#            Prometheus' native histograms on, and from smokeping_prober
#            (ping sockets): CPU and RSS of Prometheus and of the exporter in
#            the same window, head series, scrape duration.
#
# Usage (root): bash exporter/bench/pipeline.sh [big] [mixed] [prom]   (default: all)
# Environment: BIG_N=100000 BIG_WINDOW=30 MIX_N=10000 MIX_WINDOW=20
#   MIX_DELAYS="10 20 50 100 200" (ms, each below 400; empty: no delayed hosts)
#   PROM_N=10000 PROM_WARMUP=40 PROM_WINDOW=60 OUT=DIR
# Output: one JSON line per run in $OUT/pipeline.jsonl and Markdown tables
# in $OUT/pipeline.md, with the date, machine and load average per run.
# All traffic stays on loopback inside the namespace, or on the veth pair
# (198.18.0.0/24) between it and downtime-pipe-slow.

set -eu
set -o pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIG_N=${BIG_N:-100000} BIG_WINDOW=${BIG_WINDOW:-30}
MIX_N=${MIX_N:-10000} MIX_WINDOW=${MIX_WINDOW:-20} MIX_DELAYS=${MIX_DELAYS-10 20 50 100 200}
PROM_N=${PROM_N:-10000} PROM_WARMUP=${PROM_WARMUP:-40} PROM_WINDOW=${PROM_WINDOW:-60}
OUT=${OUT:-/tmp/downtime-pipeline-$(date +%Y%m%d-%H%M%S)}
NETNS=downtime-pipe SLOWNS=downtime-pipe-slow
EXPORTER=$ROOT/bin/downtime_exporter DELAYECHO=$ROOT/bin/delayecho
SMOKEPING=/usr/bin/prometheus-smokeping-prober
PROMETHEUS=/usr/bin/prometheus
PORT=19500 PROM_PORT=19590
PB='application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited'

[ "$(id -u)" = 0 ] || { echo "pipeline: must run as root" >&2; exit 2; }
WHAT=${*:-big mixed prom}
mkdir -p "$OUT"
JSON=$OUT/pipeline.jsonl MD=$OUT/pipeline.md
TMP=$(mktemp -d /tmp/downtime-pipe.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do
    kill -TERM "$p" 2> /dev/null && { wait "$p" 2> /dev/null || true; }
  done
  ip netns del "$SLOWNS" 2> /dev/null || true   # takes the veth pair with it
  ip netns del "$NETNS" 2> /dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

(cd "$ROOT" && go build -o bin/downtime_exporter ./exporter)
ip netns add "$NETNS"
NSX=(ip netns exec "$NETNS")
"${NSX[@]}" ip link set lo up
"${NSX[@]}" sysctl -q -w net.ipv4.ping_group_range="0 2147483647"   # smokeping --no-privileged

CLK_TCK=$(getconf CLK_TCK)
now() { date +%s.%N; }
f() { awk "BEGIN { printf \"%.${2:-2}f\", $1 }"; }
ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
kb() { awk -v k="$2:" '$1==k{print $2}' "/proc/$1/status"; }
load() { cut -d' ' -f1-3 /proc/loadavg | tr ' ' '/'; }
# addrs N [STEP] [PREFIX]: the i-th loopback target, i = 0, STEP, ... < N, one a line
addrs() {
  awk -v n="$1" -v step="${2:-1}" -v p="${3:-}" 'BEGIN { for (i = 0; i < n; i += step)
    printf "%s127.%d.%d.%d\n", p, 1 + int(i / 65024), int(i / 254) % 256, i % 254 + 1 }'
}
targets_yaml() { # N FILE
  { echo "targets:"; addrs "$1" 1 "  - host: "; } > "$2"
}
scrape() { # URL FILE [ACCEPT] -> "bytes seconds"
  "${NSX[@]}" curl -s -m 120 -H "Accept: ${3:-text/plain;version=0.0.4}" -o "$2" \
    -w '%{size_download} %{time_total}' "$1"
}
sum() { # METRIC FILE: sum of every series of METRIC
  awk -v m="$1" 'index($0, m "{") == 1 || index($0, m " ") == 1 { s += $NF } END { printf "%.0f", s }' "$2"
}
start_bg() { # LOG command... ; sets LAST_PID
  "${NSX[@]}" "${@:2}" > "$1" 2>&1 &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
}
stop() { kill -TERM "$1" 2> /dev/null; wait "$1" 2> /dev/null || true; }
sleep_until() { sleep "$(f "$1 - $(now)" 3 | sed 's/^-.*/0/')"; }   # EXPR in seconds since the epoch
wait_http() { # URL SECONDS
  local end=$(($(date +%s) + $2))
  while [ "$(date +%s)" -lt "$end" ]; do
    "${NSX[@]}" curl -s -o /dev/null -m 5 "$1" && return 0
    sleep 0.5
  done
  return 1
}

# exporter_window LABEL N WINDOW [flags...]: downtime_exporter alone; one JSON line.
# CFG overrides the targets file; DELAYED ("addr=ms ...") adds per-host figures.
exporter_window() {
  local label=$1 n=$2 window=$3; shift 3
  local url="http://127.0.0.1:$PORT/metrics" cfg=${CFG:-$TMP/targets-$n.yml}
  [ -s "$cfg" ] || targets_yaml "$n" "$cfg"
  echo "pipeline: $label N=$n window ${window}s" >&2
  start_bg "$TMP/$label.log" "$EXPORTER" --web.listen-address="127.0.0.1:$PORT" --config.file="$cfg" "$@"
  local pid=$LAST_PID
  # ready = the landing page answers (a whole /metrics of 100,000 hosts takes seconds)
  wait_http "http://127.0.0.1:$PORT/" 120 || { echo "pipeline: $label did not start" >&2; tail "$TMP/$label.log" >&2; return 1; }
  sleep 10   # warm-up: every target sent at least once, first replies in
  local l0 t0 c0 t1 c1 s0a s0b s1a s1b
  # edge scrapes half a second apart for delayed_json, outside the CPU window
  [ -z "${DELAYED:-}" ] || { s0a=$(now); scrape "$url" "$TMP/m0-early.txt" > /dev/null; sleep_until "$s0a + 0.5"; }
  s0a=$(now); scrape "$url" "$TMP/m0.txt" > /dev/null; s0b=$(now)
  l0=$(load); t0=$(now); c0=$(ticks "$pid")
  # scrape every 10 s inside the window, like Prometheus
  local end next
  end=$(f "$t0 + $window" 3); next=$(f "$t0 + 10" 3)
  while awk "BEGIN{exit !($(now) < $end)}"; do
    if awk "BEGIN{exit !($(now) >= $next)}"; then scrape "$url" /dev/null > /dev/null; next=$(f "$next + 10" 3); fi
    sleep 0.2
  done
  c1=$(ticks "$pid"); t1=$(now)
  local tb ts pbb pbs
  s1a=$(now); read -r tb ts <<< "$(scrape "$url" "$TMP/m1.txt")"; s1b=$(now)
  local delayed=""
  if [ -n "${DELAYED:-}" ]; then
    sleep_until "$s1a + 0.5"
    scrape "$url" "$TMP/m1-late.txt" > /dev/null
    delayed=$(delayed_json "$TMP/m0-early.txt" "$TMP/m0.txt" "$TMP/m1.txt" "$TMP/m1-late.txt")
  fi
  read -r pbb pbs <<< "$(scrape "$url" /dev/null "$PB")"
  local req=$(($(sum ping_requests_total "$TMP/m1.txt") - $(sum ping_requests_total "$TMP/m0.txt")))
  local rep=$(($(sum ping_responses_total "$TMP/m1.txt") - $(sum ping_responses_total "$TMP/m0.txt")))
  local late=$(($(sum downtime_exporter_probes_late_total "$TMP/m1.txt") - $(sum downtime_exporter_probes_late_total "$TMP/m0.txt")))
  local drops=$(($(sum downtime_exporter_receive_drops_total "$TMP/m1.txt") - $(sum downtime_exporter_receive_drops_total "$TMP/m0.txt")))
  # counters come from scrapes just outside the CPU window: their rate is
  # over the span between the scrapes' midpoints, CPU per probe = CPU / (rate x window)
  local win cpu hwm span rate
  win=$(f "$t1 - $t0" 3); cpu=$(f "($c1 - $c0) / $CLK_TCK" 2); hwm=$(kb "$pid" VmHWM)
  span=$(f "($s1a + $s1b) / 2 - ($s0a + $s0b) / 2" 3); rate=$(f "$req / $span" 1)
  stop "$pid"
  printf '{"run":"%s","n":%d,"window_s":%s,"load":"%s","cpu_s":%s,"cpu_pct":%s,"cpu_us_per_probe":%s,"rss_peak_mb":%s,"requests":%d,"probes_per_s":%s,"lost":%d,"loss_pct":%s,"late_sends":%d,"rcv_drops":%d,"text_bytes":%s,"text_s":%s,"proto_bytes":%s,"proto_s":%s,"flags":"%s"%s}\n' \
    "$label" "$n" "$win" "$l0" "$cpu" "$(f "100 * $cpu / $win" 1)" "$(f "($req > 0) ? 1e6 * $cpu / ($rate * $win) : 0" 2)" \
    "$(f "$hwm / 1024" 1)" "$req" "$rate" "$((req - rep))" "$(f "($req > 0) ? 100 * ($req - $rep) / $req : 0" 3)" \
    "$late" "$drops" "$tb" "$ts" "$pbb" "$pbs" "$*" "$delayed" | tee -a "$JSON"
}

# delayed_json EARLY0 M0 M1 LATE1: ',"delayed":[...]' for the hosts in DELAYED:
# probes sent and mean RTT (ping_rtt_seconds sum/count) between M0 and M1,
# and probes lost. requests - responses also counts a probe still in flight
# at a scrape; of two scrapes half a second apart at least one has none in
# flight when the delay is below 0.5 s minus the scrapes' jitter (hence
# MIX_DELAYS < 400), so the smaller difference of each pair is the exact one.
delayed_json() {
  awk -v hosts="$DELAYED" '
  BEGIN {
    nh = split(hosts, h, " ")
    for (i = 1; i <= nh; i++) { split(h[i], p, "="); addr[i] = p[1]; ms[i] = p[2]; want[p[1]] = 1 }
    for (i = 1; i < ARGC; i++) file[ARGV[i]] = i
  }
  /^ping_(requests_total|responses_total|rtt_seconds_sum|rtt_seconds_count)\{/ {
    if (!match($0, /target="[^"]*"/)) next
    t = substr($0, RSTART + 8, RLENGTH - 9)
    if (t in want) v[file[FILENAME], substr($0, 1, index($0, "{") - 1), t] += $NF
  }
  function d(i, t) { return v[i, "ping_requests_total", t] - v[i, "ping_responses_total", t] }
  function min(a, b) { return a < b ? a : b }
  END {
    for (i = 1; i <= nh; i++) {
      t = addr[i]
      req = v[3, "ping_requests_total", t] - v[2, "ping_requests_total", t]
      lost = min(d(3, t), d(4, t)) - min(d(1, t), d(2, t))
      cnt = v[3, "ping_rtt_seconds_count", t] - v[2, "ping_rtt_seconds_count", t]
      sum = v[3, "ping_rtt_seconds_sum", t] - v[2, "ping_rtt_seconds_sum", t]
      out = out sprintf("%s{\"host\":\"%s\",\"delay_ms\":%s,\"probes\":%d,\"replies\":%d,\"lost\":%d,\"loss_pct\":%.2f,\"rtt_mean_ms\":%.3f}",
        i > 1 ? "," : "", t, ms[i], req, cnt, lost, req > 0 ? 100 * lost / req : 0, cnt > 0 ? 1000 * sum / cnt : 0)
    }
    printf ",\"delayed\":[%s]", out
  }' "$@"
}

# ---- big -----------------------------------------------------------------------------
run_big() {
  # The default --ping.max-rate is 100,000/s: exactly BIG_N at 1 s.
  exporter_window big "$BIG_N" "$BIG_WINDOW" --ping.max-rate=$((BIG_N > 100000 ? BIG_N : 100000))
}

# ---- mixed ---------------------------------------------------------------------------
# nftables: drop echo requests to every 10th host of MIX_N in the input hook:
# the send succeeds and the probe times out, as for a host that is down.
# (Dropping in the output hook instead makes the kernel refuse the send with
# EPERM: a send error, not a timeout; that run found a scheduler deadlock.)
drop_tenth() {
  local elems
  elems=$(addrs "$MIX_N" 10 | tr '\n' ',')
  "${NSX[@]}" nft -f - <<EOF
table inet pipebench {
  set dropped { type ipv4_addr; elements = { ${elems%,} } }
  chain in { type filter hook input priority 0; ip daddr @dropped icmp type echo-request drop; }
}
EOF
}
# slow_up DELAY_MS...: the delayed hosts 198.18.0.11, .12, ... in $SLOWNS, each
# answered after its delay by its own delayecho; sets DELAYED and SLOW_PIDS.
# The veth pair is created in $NETNS and its peer moved straight into
# $SLOWNS: the root namespace never sees it.
slow_up() {
  local i=0 d a end
  DELAYED="" SLOW_PIDS=()
  # run_* are called in an || list, where set -e does not apply: check each step
  ip netns add "$SLOWNS" && ip -n "$SLOWNS" link set lo up &&
    ip -n "$NETNS" link add dp-bench type veth peer name dp-slow netns "$SLOWNS" &&
    ip -n "$NETNS" addr add 198.18.0.1/24 dev dp-bench &&
    ip netns exec "$SLOWNS" sysctl -q -w net.ipv4.icmp_echo_ignore_all=1 || return 1
  for d in "$@"; do
    i=$((i + 1)) a=198.18.0.$((10 + i))
    ip -n "$SLOWNS" addr add "$a/24" dev dp-slow || return 1
    ip netns exec "$SLOWNS" "$DELAYECHO" --delay="${d}ms" --address="$a" > "$TMP/delayecho-$a.log" 2>&1 &
    SLOW_PIDS+=("$!") PIDS+=("$!") DELAYED+="$a=$d "
  done
  ip -n "$NETNS" link set dp-bench up && ip -n "$SLOWNS" link set dp-slow up || return 1
  end=$(($(date +%s) + 10))
  for a in $DELAYED; do
    until grep -qs answering "$TMP/delayecho-${a%=*}.log"; do
      [ "$(date +%s)" -lt "$end" ] || { echo "pipeline: delayecho for ${a%=*} did not start" >&2; cat "$TMP/delayecho-${a%=*}.log" >&2; return 1; }
      sleep 0.1
    done
  done
  until ip -n "$NETNS" -o link show dev dp-bench | grep -q ' state UP '; do
    [ "$(date +%s)" -lt "$end" ] || { echo "pipeline: veth dp-bench not up" >&2; return 1; }
    sleep 0.1
  done
}
slow_down() {
  local p
  for p in "${SLOW_PIDS[@]}"; do stop "$p"; done
  ip netns del "$SLOWNS" 2> /dev/null || true
}
run_mixed() {
  local d n=$MIX_N CFG=$TMP/targets-mixed.yml DELAYED="" SLOW_PIDS=()
  for d in $MIX_DELAYS; do
    [[ $d =~ ^[0-9]+$ ]] && [ "$d" -lt 400 ] || { echo "pipeline: MIX_DELAYS: $d is not a whole number of ms below 400" >&2; return 1; }
  done
  targets_yaml "$MIX_N" "$CFG"
  if [ -n "$MIX_DELAYS" ]; then
    (cd "$ROOT" && go build -o bin/delayecho ./exporter/bench/delayecho)
    # shellcheck disable=SC2086
    slow_up $MIX_DELAYS || { slow_down; return 1; }
    for d in $DELAYED; do echo "  - host: ${d%=*}" >> "$CFG"; n=$((n + 1)); done
  fi
  for round in 1 2; do
    "${NSX[@]}" nft delete table inet pipebench 2> /dev/null || true
    exporter_window "mixed-clean-$round" "$n" "$MIX_WINDOW" || break
    drop_tenth
    exporter_window "mixed-10pct-dropped-$round" "$n" "$MIX_WINDOW" || break
  done
  "${NSX[@]}" nft delete table inet pipebench 2> /dev/null || true
  slow_down
}

# ---- prom ----------------------------------------------------------------------------
# prom_window LABEL PROMFLAGS -- exporter command...: Prometheus scrapes the
# exporter on $PORT every 10 s; CPU of both over the same window.
prom_window() {
  local label=$1 pflags=$2; shift 3
  local dir=$TMP/prom-$label
  mkdir -p "$dir/data"
  cat > "$dir/prometheus.yml" <<EOF
global: {scrape_interval: 10s, scrape_timeout: 10s, evaluation_interval: 10s}
scrape_configs:
  - job_name: ping
    static_configs: [{targets: ["127.0.0.1:$PORT"]}]
EOF
  echo "pipeline: prom $label" >&2
  start_bg "$dir/exporter.log" "$@"
  local epid=$LAST_PID
  wait_http "http://127.0.0.1:$PORT/" 180 || { echo "pipeline: exporter of $label did not start" >&2; return 1; }
  # shellcheck disable=SC2086
  start_bg "$dir/prometheus.log" "$PROMETHEUS" --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
    --web.listen-address="127.0.0.1:$PROM_PORT" $pflags
  local ppid=$LAST_PID
  wait_http "http://127.0.0.1:$PROM_PORT/-/ready" 60 || { echo "pipeline: prometheus did not start" >&2; return 1; }
  sleep "$PROM_WARMUP"
  local l0 t0 p0 e0 t1 p1 e1
  l0=$(load); t0=$(now); p0=$(ticks "$ppid"); e0=$(ticks "$epid")
  sleep "$PROM_WINDOW"
  p1=$(ticks "$ppid"); e1=$(ticks "$epid"); t1=$(now)
  q() { "${NSX[@]}" curl -s -m 30 "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1" |
    grep -o '"value":\[[^]]*\]' | head -1 | sed 's/.*,"\(.*\)"\]/\1/' || true; }
  local series dur samples
  scrape "http://127.0.0.1:$PROM_PORT/metrics" "$dir/prometheus-metrics.txt" > /dev/null   # not self-scraped
  series=$(sum prometheus_tsdb_head_series "$dir/prometheus-metrics.txt"); dur=$(q 'max_over_time(scrape_duration_seconds{job="ping"}[1m])')
  samples=$(q 'scrape_samples_scraped{job="ping"}')
  local win pcpu ecpu phwm prss ehwm
  win=$(f "$t1 - $t0" 3)
  pcpu=$(f "($p1 - $p0) / $CLK_TCK" 2); ecpu=$(f "($e1 - $e0) / $CLK_TCK" 2)
  phwm=$(kb "$ppid" VmHWM); prss=$(kb "$ppid" VmRSS); ehwm=$(kb "$epid" VmHWM)
  stop "$ppid"; stop "$epid"
  printf '{"run":"prom-%s","n":%d,"window_s":%s,"load":"%s","prom_cpu_pct":%s,"prom_rss_mb":%s,"prom_rss_peak_mb":%s,"head_series":%s,"samples_per_scrape":%s,"scrape_s_max":%s,"exporter_cpu_pct":%s,"exporter_rss_peak_mb":%s,"total_cpu_pct":%s,"total_mb":%s}\n' \
    "$label" "$PROM_N" "$win" "$l0" "$(f "100 * $pcpu / $win" 1)" "$(f "$prss / 1024" 1)" "$(f "$phwm / 1024" 1)" \
    "${series:-0}" "${samples:-0}" "${dur:-0}" "$(f "100 * $ecpu / $win" 1)" "$(f "$ehwm / 1024" 1)" \
    "$(f "100 * ($pcpu + $ecpu) / $win" 1)" "$(f "($prss + $ehwm) / 1024" 1)" | tee -a "$JSON"
}
run_prom() {
  local cfg=$TMP/targets-$PROM_N.yml list=$TMP/targets-$PROM_N.txt
  targets_yaml "$PROM_N" "$cfg"
  addrs "$PROM_N" > "$list"
  prom_window downtime "" -- "$EXPORTER" --web.listen-address="127.0.0.1:$PORT" --config.file="$cfg"
  prom_window downtime-native-lean "--enable-feature=native-histograms" -- "$EXPORTER" --web.listen-address="127.0.0.1:$PORT" \
    --config.file="$cfg" --metrics.rtt-histogram=native --metrics.omit-zero-errors
  if [ ! -x "$SMOKEPING" ]; then
    echo "pipeline: installing prometheus-smokeping-prober" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y prometheus-smokeping-prober >&2 || true
  fi
  if [ -x "$SMOKEPING" ]; then
    # shellcheck disable=SC2046
    prom_window smokeping-ping "" -- "$SMOKEPING" --config.file=/nonexistent-pipeline.yml \
      --web.listen-address="127.0.0.1:$PORT" --ping.interval=1s --no-privileged $(cat "$list")
  else
    echo "pipeline: $SMOKEPING missing (apt-get install prometheus-smokeping-prober): no smokeping run" >&2
  fi
}

{
  echo "# pipeline.sh $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "machine: $(nproc) cores, $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo), kernel $(uname -r); load at start $(load)"
} | tee "$MD"
for w in $WHAT; do "run_$w" || echo "pipeline: $w failed" >&2; done

# ---- tables --------------------------------------------------------------------------
awk '
function get(k,   m) {
  if (match($0, "\"" k "\":\"?[^,}\"]*")) { m = substr($0, RSTART, RLENGTH); sub(/^"[^"]*":"?/, "", m); return m }
  return "?"
}
/"cpu_us_per_probe"/ {
  if (!e++) { print "\n| run | N | load 1/5/15 | CPU % of one core | CPU us/probe | peak RSS MB | probes/s | loss % | late sends | /metrics text MB, s | protobuf MB, s |"; print "|---|---|---|---|---|---|---|---|---|---|---|" }
  printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %.1f, %s | %.1f, %s |\n", get("run"), get("n"), get("load"), get("cpu_pct"),
    get("cpu_us_per_probe"), get("rss_peak_mb"), get("probes_per_s"), get("loss_pct"), get("late_sends"),
    get("text_bytes") / 1e6, get("text_s"), get("proto_bytes") / 1e6, get("proto_s")
}
/"delayed":\[/ {   # one row per delayed host, printed after the other tables
  run = get("run"); rest = substr($0, index($0, "\"delayed\":["))
  while (match(rest, /\{[^}]*\}/)) {
    line = $0; $0 = substr(rest, RSTART, RLENGTH); rest = substr(rest, RSTART + RLENGTH)
    delayed = delayed sprintf("| %s | %s | %s | %s | %s | %s | %s | %s |\n", run, get("host"), get("delay_ms"), get("rtt_mean_ms"),
      get("probes"), get("replies"), get("lost"), get("loss_pct"))
    $0 = line
  }
}
/"prom_cpu_pct"/ {
  if (!p++) { print "\n| run | N | load 1/5/15 | Prometheus CPU % | Prometheus RSS MB (peak) | head series | samples/scrape | scrape s (max) | exporter CPU % | exporter peak RSS MB | total CPU % | total MB |"; print "|---|---|---|---|---|---|---|---|---|---|---|---|" }
  printf "| %s | %s | %s | %s | %s (%s) | %s | %s | %s | %s | %s | %s | %s |\n", get("run"), get("n"), get("load"), get("prom_cpu_pct"),
    get("prom_rss_mb"), get("prom_rss_peak_mb"), get("head_series"), get("samples_per_scrape"), get("scrape_s_max"),
    get("exporter_cpu_pct"), get("exporter_rss_peak_mb"), get("total_cpu_pct"), get("total_mb")
}
END {
  if (delayed != "") printf "\n| run | delayed host | delay ms | mean RTT ms | probes | replies | lost | loss %% |\n|---|---|---|---|---|---|---|---|\n%s", delayed
}' "$JSON" | tee -a "$MD"
echo "pipeline: results in $JSON and $MD" >&2
