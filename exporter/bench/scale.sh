#!/usr/bin/env bash
# scale.sh - a copy of the team's ../shared/bench/peer-scale.sh, kept here so
# that `make bench` works in a clone of this repository alone. Changes: the
# mean RTT reported in the window (RTT_SUM_METRIC / RTT_COUNT_METRIC, for
# loopback targets whose true RTT is ~0.02 ms) is in the result, and run
# directories go beside the -o file instead of beside this script.
#
# peer-scale.sh - measure how much CPU and memory an ICMP ping exporter needs
# for N targets pinged every second.
#
# All traffic stays on loopback: targets are 127.1.x.y (every address in
# 127.0.0.0/8 answers ping on lo), and by default the exporter runs inside a
# private network namespace ("peerbench", created here with `ip netns add`).
# The private namespace also isolates the measurement from ICMP traffic of
# other processes on the host (a raw ICMP socket sees *every* ICMP packet of
# its namespace) and lets us change net.ipv4.ping_group_range (a per-netns
# sysctl) without touching the host's setting.
#
# Usage:
#   scale.sh [options] KIND N [DURATION]
#
#   KIND      smokeping  - smokeping_prober style: pings by itself; samples are
#                          read from its /metrics (smokeping_requests_total,
#                          smokeping_response_duration_seconds_count)
#             blackbox   - blackbox_exporter: multi-target /probe exporter;
#                          probedriver/ emulates Prometheus scraping
#                          /probe?module=icmp&target=T once per interval per target
#             cmd        - any exporter, given as a command template with -t.
#                          Without -u it is treated like smokeping (counters
#                          from /metrics, names via SAMPLES_METRIC/REPLIES_METRIC);
#                          with -u URLTEMPLATE it is driven like blackbox.
#   N         number of distinct targets (127.1.0.1, 127.1.0.2, ... 254 per /24)
#   DURATION  measurement window in seconds (default 60)
#
# Options:
#   -m MODE   priv (raw ICMP socket, as root; default) | unpriv (ICMP "ping"
#             datagram sockets; ping_group_range is opened in the netns for the
#             run and set back to its previous value, "1 0", afterwards)
#   -b BIN    exporter binary (default: Debian's /usr/bin/prometheus-smokeping-prober
#             or /usr/bin/prometheus-blackbox-exporter)
#   -t TMPL   command template for KIND=cmd. Placeholders: {targets} (space
#             separated list), {targets_file} (one per line), {listen}
#             (127.0.0.1:PORT), {port}, {mode} (priv|unpriv), {privileged} (true|false),
#             {interval} (e.g. 1s)
#   -u URL    for KIND=cmd: probe URL template, %s = target (switches to driver mode)
#   -i SEC    ping/scrape interval per target in seconds (default 1)
#   -w SEC    warm-up after the exporter answers HTTP, before the window (default 5)
#   -s SEC    scrape /metrics every SEC seconds inside the window, like Prometheus
#             would (default 15; 0 = only at the window edges, which are not
#             counted in the CPU figures). Ignored in driver mode.
#   -c CONC   driver: max probes in flight (default 100)
#   -p PORT   listen port inside the netns (default 19374 / 19115)
#   -l LABEL  label for this run in the results (default KIND-MODE-basename(BIN))
#   -o FILE   append one JSON result line here (default results.jsonl beside this script)
#   -n NETNS  network namespace (default peerbench; "-" = run in current netns)
#   -P        after the window: 5 s of `perf stat` (syscalls of the exporter,
#             system-wide skb frees = kernel socket deliveries) and 5 s of
#             `perf record` (top symbols); saved in the run directory.
#             Only meaningful for self-scheduling exporters: in driver mode the
#             driver has already stopped, so the exporter is idle by then.
#   -S        after the window: `strace -c -f -p PID` for 5 s (slow! counts
#             are depressed by strace overhead; prefer -P)
#   -k        keep the run's temp dir (exporter log, metrics) in /tmp
#
# Examples:
#   peer-scale.sh smokeping 1000
#   peer-scale.sh -m unpriv -b smokeping_prober-0.11.0 (built from its v0.11.0 tag) smokeping 2000 30
#   peer-scale.sh blackbox 500
#   peer-scale.sh -t '/path/new_exporter --listen {listen} {targets}' cmd 1000
#   peer-scale.sh -t '/path/bb --config.file=x.yml --web.listen-address={listen}' \
#                 -u 'http://127.0.0.1:19115/probe?module=icmp&target=%s' cmd 100
#
# What is measured (all inside the window [warm-up end, +DURATION]):
#   cpu_s / cpu_pct    user+sys CPU of the exporter process (all threads) from
#                      /proc/PID/stat, in seconds and in % of ONE core.
#                      With this kernel's tick-based accounting, softirq work
#                      (loopback packet delivery) done while the exporter is on
#                      CPU is charged to the exporter as sys time.
#   cpu_ms_per_1k      exporter CPU-ms per 1000 probes actually completed
#   rss_peak_mb        VmHWM of the exporter (whole lifetime, incl. start-up)
#   samples_per_s      probes/s obtained (smokeping: delta of requests_total;
#                      blackbox: completed /probe requests), vs N/interval expected
#   loss_pct           100*(1 - replies/requests) (smokeping) or failed probes
#   machine_*          /proc/stat deltas for the whole VM in % of one core
#                      (busy, softirq, steal) and "others" = busy minus
#                      exporter minus driver: a noise indicator on a shared box
#   raw/ping sockets   max number of raw ICMP / ping sockets seen in the netns,
#                      and raw socket receive-queue drops per second
#
# Exit status 0 even if the exporter cannot keep up; look at kept_up.

set -u
set -o pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DRIVER="$BENCH_DIR/probedriver/probedriver"
BLACKBOX_CONFIG="$BENCH_DIR/blackbox-icmp.yml"

MODE=priv BIN="" TMPL="" URLT="" INTERVAL=1 WARMUP=5 SCRAPE_EVERY=15 CONC=100
PORT="" LABEL="" OUT="$BENCH_DIR/results.jsonl" NETNS=peerbench
DO_PERF=0 DO_STRACE=0 KEEP=0
SAMPLES_METRIC="${SAMPLES_METRIC:-smokeping_requests_total}"
REPLIES_METRIC="${REPLIES_METRIC:-smokeping_response_duration_seconds_count}"
RTT_SUM_METRIC="${RTT_SUM_METRIC:-smokeping_response_duration_seconds_sum}"
RTT_COUNT_METRIC="${RTT_COUNT_METRIC:-smokeping_response_duration_seconds_count}"

die() { echo "peer-scale: $*" >&2; exit 2; }
usage() { sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

while getopts "m:b:t:u:i:w:s:c:p:l:o:n:PSkh" opt; do
  case $opt in
    m) MODE=$OPTARG ;; b) BIN=$OPTARG ;; t) TMPL=$OPTARG ;; u) URLT=$OPTARG ;;
    i) INTERVAL=$OPTARG ;; w) WARMUP=$OPTARG ;; s) SCRAPE_EVERY=$OPTARG ;;
    c) CONC=$OPTARG ;; p) PORT=$OPTARG ;; l) LABEL=$OPTARG ;; o) OUT=$OPTARG ;;
    n) NETNS=$OPTARG ;; P) DO_PERF=1 ;; S) DO_STRACE=1 ;; k) KEEP=1 ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 2 ] || usage
KIND=$1 N=$2 DURATION=${3:-60}
[ "$(id -u)" = 0 ] || die "must run as root (raw sockets, netns, sysctl)"
case $MODE in priv|unpriv) ;; *) die "mode must be priv or unpriv" ;; esac
[[ $N =~ ^[0-9]+$ ]] && [ "$N" -ge 1 ] && [ "$N" -le 60000 ] || die "bad N"

# ---- per-kind defaults --------------------------------------------------------
DRIVEN=0   # 1 = multi-target exporter, probes are driven by probedriver
case $KIND in
  smokeping)
    BIN=${BIN:-/usr/bin/prometheus-smokeping-prober}; PORT=${PORT:-19374} ;;
  blackbox)
    BIN=${BIN:-/usr/bin/prometheus-blackbox-exporter}; PORT=${PORT:-19115}; DRIVEN=1
    URLT="http://127.0.0.1:$PORT/probe?module=icmp&target=%s" ;;
  cmd)
    [ -n "$TMPL" ] || die "KIND=cmd needs -t TEMPLATE"
    PORT=${PORT:-19400}; BIN=${TMPL%% *}; [ -n "$URLT" ] && DRIVEN=1 ;;
  *) die "unknown KIND $KIND" ;;
esac
[ -x "$BIN" ] || die "binary $BIN not executable"
if [ $DRIVEN = 1 ] && [ ! -x "$DRIVER" ]; then
  (cd "$BENCH_DIR/probedriver" && go build -o probedriver .) || die "cannot build probedriver"
fi
LISTEN="127.0.0.1:$PORT"
LABEL=${LABEL:-$KIND-$MODE-$(basename "$BIN")}
VERSION=$("$BIN" --version 2>&1 | head -1 | tr -d '"\\' || true)

# ---- network namespace and ping_group_range ---------------------------------
if [ "$NETNS" = "-" ]; then
  NSX=()
else
  if ! ip netns list | grep -qw "^$NETNS"; then
    ip netns add "$NETNS" || die "cannot create netns $NETNS"
  fi
  ip netns exec "$NETNS" ip link set lo up
  NSX=(ip netns exec "$NETNS")
fi
OLD_PGR=$("${NSX[@]}" sysctl -n net.ipv4.ping_group_range | tr '\t' ' ')
if [ "$MODE" = unpriv ]; then
  "${NSX[@]}" sysctl -q -w net.ipv4.ping_group_range="0 2147483647"
else
  "${NSX[@]}" sysctl -q -w net.ipv4.ping_group_range="1 0"   # no ping sockets => raw
fi

# ---- scratch dir, targets ------------------------------------------------------
RUN_ID="$(date +%Y%m%d-%H%M%S)-$LABEL-n$N"
TMP=$(mktemp -d "/tmp/peer-scale.XXXXXX")
TARGETS_FILE=$TMP/targets.txt
for ((i = 0; i < N; i++)); do
  echo "127.1.$((i / 254)).$((i % 254 + 1))"
done > "$TARGETS_FILE"
TARGETS=$(tr '\n' ' ' < "$TARGETS_FILE")

EXP_PID="" DRV_PID=""
cleanup() {
  for p in $DRV_PID $EXP_PID; do
    if kill -0 "$p" 2>/dev/null; then
      kill -TERM "$p" 2>/dev/null
      for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$p" 2>/dev/null
      wait "$p" 2>/dev/null
    fi
  done
  "${NSX[@]}" sysctl -q -w net.ipv4.ping_group_range="$OLD_PGR"
  [ $KEEP = 1 ] && echo "peer-scale: kept $TMP" >&2 || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ulimit -n "$(ulimit -Hn)"   # one socket per target for smokeping-style exporters

# ---- helpers -----------------------------------------------------------------------
CLK_TCK=$(getconf CLK_TCK)
now() { date +%s.%N; }
# utime+stime (ticks) of a whole thread group; "pid (comm) state ..." -> fields 12,13
proc_ticks() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $12, $13}'; }
# cpu line of /proc/stat: user nice system idle iowait irq softirq steal
machine_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8, $8, $9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat; }
status_kb() { awk -v k="$2:" '$1==k{print $2}' "/proc/$1/status" 2>/dev/null; }
scrape() { # scrape /metrics into ${1:-$TMP/metrics.txt}, echo "bytes seconds"
  "${NSX[@]}" curl -s -m 60 -o "${1:-$TMP/metrics.txt}" -w '%{size_download} %{time_total}' "http://$LISTEN/metrics"
}
sum_metric() { # sum all series of a metric in $TMP/metrics.txt
  awk -v m="$1" 'index($0, m "{") == 1 || index($0, m " ") == 1 { s += $NF } END { printf "%.0f", s }' "$TMP/metrics.txt"
}
sum_metric6() { # the same with 6 decimals (sums of seconds)
  awk -v m="$1" 'index($0, m "{") == 1 || index($0, m " ") == 1 { s += $NF } END { printf "%.6f", s }' "$TMP/metrics.txt"
}
sockets() { # "raw ping drops" inside the netns (/proc/net/{raw,icmp}; drops = last column)
  "${NSX[@]}" awk 'FNR == 1 { next } FILENAME ~ /raw$/ { r++; d += $NF } FILENAME ~ /icmp$/ { p++ }
      END { printf "%d %d %d\n", r, p, d }' /proc/net/raw /proc/net/icmp
}
f() { awk "BEGIN { printf \"%.${2:-2}f\", $1 }"; }   # float arithmetic

# ---- start the exporter ------------------------------------------------------------
LOG=$TMP/exporter.log
PRIVBOOL=true; [ "$MODE" = unpriv ] && PRIVBOOL=false
case $KIND in
  smokeping)
    PRIVFLAG=--privileged; [ "$MODE" = unpriv ] && PRIVFLAG=--no-privileged
    # --config.file points to a missing file on purpose: Debian ships
    # /etc/prometheus/smokeping_prober.yml which would add "localhost".
    # shellcheck disable=SC2086
    "${NSX[@]}" "$BIN" --config.file=/nonexistent-peer-scale.yml --web.listen-address="$LISTEN" \
      --ping.interval="${INTERVAL}s" $PRIVFLAG $TARGETS > "$LOG" 2>&1 &
    EXP_PID=$! ;;
  blackbox)
    "${NSX[@]}" "$BIN" --config.file="$BLACKBOX_CONFIG" --web.listen-address="$LISTEN" > "$LOG" 2>&1 &
    EXP_PID=$! ;;
  cmd)
    CMDLINE=${TMPL//\{targets\}/$TARGETS}
    CMDLINE=${CMDLINE//\{targets_file\}/$TARGETS_FILE}
    CMDLINE=${CMDLINE//\{listen\}/$LISTEN}
    CMDLINE=${CMDLINE//\{port\}/$PORT}
    CMDLINE=${CMDLINE//\{mode\}/$MODE}
    CMDLINE=${CMDLINE//\{privileged\}/$PRIVBOOL}
    CMDLINE=${CMDLINE//\{interval\}/${INTERVAL}s}
    "${NSX[@]}" bash -c "exec $CMDLINE" > "$LOG" 2>&1 &
    EXP_PID=$! ;;
esac
T_LAUNCH=$(now)
read -r L_U L_S <<< "$(proc_ticks $EXP_PID)"   # ~0 right after exec

# wait until it serves HTTP (smokeping only listens after all pingers started);
# give up after READY_TIMEOUT s of wall clock (an overloaded exporter may never answer)
READY_TIMEOUT=${READY_TIMEOUT:-120}
ready=0
while awk "BEGIN{exit !($(now) - $T_LAUNCH < $READY_TIMEOUT)}"; do
  kill -0 $EXP_PID 2>/dev/null || { tail -20 "$LOG" >&2; die "exporter died during start-up"; }
  # any HTTP answer on "/" counts (a full /metrics scrape can take 15+ s when overloaded)
  if "${NSX[@]}" curl -s -o /dev/null -m 10 "http://$LISTEN/"; then ready=1; break; fi
  sleep 0.1
done
if [ $ready = 0 ]; then
  read -r E_U1 E_S1 <<< "$(proc_ticks $EXP_PID)"
  echo "peer-scale: $LABEL N=$N: exporter did not answer /metrics within ${READY_TIMEOUT}s;" \
    "it used $(f "($E_U1 + $E_S1 - $L_U - $L_S) / $CLK_TCK" 1) CPU-s meanwhile" >&2
  printf '{"run":"%s","label":"%s","kind":"%s","mode":"%s","bin":"%s","n":%d,"error":"not ready after %ss","cpu_total_s":%s}\n' \
    "$RUN_ID" "$LABEL" "$KIND" "$MODE" "$BIN" "$N" "$READY_TIMEOUT" "$(f "($E_U1 + $E_S1 - $L_U - $L_S) / $CLK_TCK" 2)" >> "$OUT.errors"
  exit 1
fi
T_READY=$(now)

if [ $DRIVEN = 1 ]; then
  "${NSX[@]}" "$DRIVER" -targets "$TARGETS_FILE" -url "$URLT" -interval "${INTERVAL}s" \
    -scrape-timeout "$INTERVAL" -concurrency "$CONC" -warmup "${WARMUP}s" -duration "${DURATION}s" \
    > "$TMP/driver.json" 2> "$TMP/driver.err" &
  DRV_PID=$!
fi
sleep "$WARMUP"

# ---- window start ----------------------------------------------------------------------
# Counter snapshots are taken by scraping /metrics just before / just after the
# CPU window. An overloaded exporter can take many seconds to answer a scrape, so
# the sample rate is computed over the span between the *midpoints* of the two
# scrapes, not over the CPU window.
if [ $DRIVEN = 0 ]; then
  TS0A=$(now); read -r MBYTES MSECS0 <<< "$(scrape)"; TS0B=$(now)
  REQ0=$(sum_metric "$SAMPLES_METRIC"); REP0=$(sum_metric "$REPLIES_METRIC")
  RS0=$(sum_metric6 "$RTT_SUM_METRIC"); RC0=$(sum_metric "$RTT_COUNT_METRIC")
fi
read -r _ _ DROPS0 <<< "$(sockets)"
T0=$(now)
read -r E_U0 E_S0 <<< "$(proc_ticks $EXP_PID)"
[ -n "$DRV_PID" ] && read -r D_U0 D_S0 <<< "$(proc_ticks $DRV_PID)"
read -r M_BUSY0 M_SIRQ0 M_STEAL0 M_ALL0 <<< "$(machine_ticks)"

# ---- during the window: periodic /metrics scrapes, socket census -----------------------
RAWMAX=0 PINGMAX=0 NSCRAPES=0 SCRAPE_BG=""
END_AT=$(f "$T0 + $DURATION" 3)
NEXT_SCRAPE=$(f "$T0 + ${SCRAPE_EVERY:-0}" 3)
census_left=10
while :; do
  t=$(now)
  awk "BEGIN{exit !($t >= $END_AT)}" && break
  if [ $census_left -gt 0 ]; then   # sample socket tables 10x early in the window
    read -r r p _ <<< "$(sockets)"
    [ "$r" -gt $RAWMAX ] && RAWMAX=$r; [ "$p" -gt $PINGMAX ] && PINGMAX=$p
    census_left=$((census_left - 1))
  fi
  if [ $DRIVEN = 0 ] && [ "$SCRAPE_EVERY" != 0 ] && awk "BEGIN{exit !($t >= $NEXT_SCRAPE && $t < $END_AT - 1)}"; then
    [ -n "$SCRAPE_BG" ] && wait "$SCRAPE_BG" 2> /dev/null   # never two at once
    scrape "$TMP/metrics-inwindow.txt" > /dev/null &   # async: must not stretch the window
    SCRAPE_BG=$!; NSCRAPES=$((NSCRAPES + 1))
    NEXT_SCRAPE=$(f "$NEXT_SCRAPE + $SCRAPE_EVERY" 3)
  fi
  rem=$(f "$END_AT - $(now)" 3)
  awk "BEGIN{exit !($rem > 0.2)}" && sleep 0.2 || sleep "$(f "($rem > 0) ? $rem : 0" 3)"
done

# ---- window end -------------------------------------------------------------------------
read -r E_U1 E_S1 <<< "$(proc_ticks $EXP_PID)"
[ -n "$DRV_PID" ] && read -r D_U1 D_S1 <<< "$(proc_ticks $DRV_PID)"
read -r M_BUSY1 M_SIRQ1 M_STEAL1 M_ALL1 <<< "$(machine_ticks)"
T1=$(now)
read -r _ _ DROPS1 <<< "$(sockets)"
kill -0 $EXP_PID 2>/dev/null || { tail -20 "$LOG" >&2; die "exporter died during the window"; }
if [ $DRIVEN = 0 ]; then
  [ -n "$SCRAPE_BG" ] && wait "$SCRAPE_BG" 2> /dev/null   # a still running in-window scrape
  TS1A=$(now); read -r MBYTES MSECS <<< "$(scrape)"; TS1B=$(now)
  REQ1=$(sum_metric "$SAMPLES_METRIC"); REP1=$(sum_metric "$REPLIES_METRIC")
  RS1=$(sum_metric6 "$RTT_SUM_METRIC"); RC1=$(sum_metric "$RTT_COUNT_METRIC")
fi
HWM_KB=$(status_kb $EXP_PID VmHWM); RSS_KB=$(status_kb $EXP_PID VmRSS)
THREADS=$(status_kb $EXP_PID Threads); FDS=$(ls /proc/$EXP_PID/fd | wc -l)
if [ -n "$DRV_PID" ]; then
  # the driver finishes its own window a few ms before ours, prints its JSON and
  # then lingers idle (so the CPU read above saw a live process); wait for the
  # JSON, then stop it.
  for _ in $(seq 300); do [ -s "$TMP/driver.json" ] && break; sleep 0.1; done
  sleep 0.2
  D_HWM_KB=$(status_kb $DRV_PID VmHWM)
  kill -TERM $DRV_PID 2> /dev/null; wait $DRV_PID 2> /dev/null; DRV_PID=""
fi

# ---- optional syscall / kernel profile (outside the window) ------------------------
RUN_DIR="$(dirname "$OUT")/runs/$RUN_ID"; mkdir -p "$RUN_DIR"
if [ $DO_PERF = 1 ] && command -v perf > /dev/null; then
  mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing 2> /dev/null
  EV="raw_syscalls:sys_enter,syscalls:sys_enter_recvmsg,syscalls:sys_enter_recvfrom,syscalls:sys_enter_sendto,syscalls:sys_enter_sendmsg,syscalls:sys_enter_epoll_pwait,syscalls:sys_enter_futex,syscalls:sys_enter_nanosleep,syscalls:sys_enter_socket"
  perf stat -x, -e "$EV" -p $EXP_PID -o "$RUN_DIR/perf-syscalls.csv" -- sleep 5 2> /dev/null &
  PS1_PID=$!
  perf stat -x, -a -e skb:kfree_skb,skb:consume_skb,net:netif_rx -o "$RUN_DIR/perf-skb.csv" -- sleep 5 2> /dev/null &
  PS2_PID=$!
  wait $PS1_PID $PS2_PID
  perf record -q -F 499 -g -p $EXP_PID -o "$TMP/perf.data" -- sleep 5 > /dev/null 2>&1
  perf report -i "$TMP/perf.data" --no-children --sort sym --stdio -g none 2> /dev/null \
    | grep -v '^#' | grep -v '^$' | head -40 > "$RUN_DIR/perf-top.txt"
fi
if [ $DO_STRACE = 1 ] && command -v strace > /dev/null; then
  timeout -s INT 5 strace -c -f -p $EXP_PID -o "$RUN_DIR/strace-c.txt" > /dev/null 2>&1
fi

# ---- compute --------------------------------------------------------------------------------
WIN=$(f "$T1 - $T0" 3)
CPU_U=$(f "($E_U1 - $E_U0) / $CLK_TCK" 2); CPU_S=$(f "($E_S1 - $E_S0) / $CLK_TCK" 2)
CPU=$(f "$CPU_U + $CPU_S" 2); CPU_PCT=$(f "100 * $CPU / $WIN" 1)
CPU_TOTAL=$(f "($E_U1 + $E_S1 - $L_U - $L_S) / $CLK_TCK" 2)
START_S=$(f "$T_READY - $T_LAUNCH" 2)
EXPECTED=$(f "$N / $INTERVAL" 1)
DRV_CPU=0 DRV_PCT=0 DRV_JSON="null" D_HWM_KB=${D_HWM_KB:-0}
if [ $DRIVEN = 1 ]; then
  DRV_JSON=$(cat "$TMP/driver.json"); [ -n "$DRV_JSON" ] || DRV_JSON=null
  jget() { echo "$DRV_JSON" | grep -o "\"$1\":[^,}]*" | cut -d: -f2 | tr -d '"'; }
  SAMPLES=$(jget completed); OKS=$(jget success)
  LOSS=$(f "($SAMPLES > 0) ? 100 * ($SAMPLES - $OKS) / $SAMPLES : 100" 2)
  DRV_CPU=$(f "($D_U1 + $D_S1 - $D_U0 - $D_S0) / $CLK_TCK" 2); DRV_PCT=$(f "100 * $DRV_CPU / $WIN" 1)
  KEPT=$(jget kept_up)
  MBYTES=0 MSECS=0
else
  SAMPLES=$((REQ1 - REQ0)); REPLIES=$((REP1 - REP0))
  LOSS=$(f "($SAMPLES > 0) ? 100 * (1 - $REPLIES / $SAMPLES) : 100" 2)
  SPAN=$(f "($TS1A + $TS1B) / 2 - ($TS0A + $TS0B) / 2" 3)
fi
SPAN=${SPAN:-$WIN}
RTT_MS=$(f "(${RC1:-0} - ${RC0:-0} > 0) ? 1000 * (${RS1:-0} - ${RS0:-0}) / (${RC1:-0} - ${RC0:-0}) : 0" 3)
SPS=$(f "$SAMPLES / $SPAN" 1)
# saturated = the exporter used >= 90% of all cores of this machine
NCPU=$(nproc)
SATURATED=$(awk "BEGIN{print ($CPU_PCT >= 90 * $NCPU) ? \"true\" : \"false\"}")
# kept up = rate within 2% of N/interval, |loss| < 1%, and not saturated
[ $DRIVEN = 0 ] && KEPT=$(awk "BEGIN{print ($SPS >= 0.98 * $EXPECTED && $LOSS < 1 && $LOSS > -1 && \"$SATURATED\" == \"false\") ? \"true\" : \"false\"}")
[ "$SATURATED" = true ] && KEPT=false
CPU_PER_1K=$(f "($SPS > 0) ? 1000 * $CPU / ($SPS * $WIN / 1000) : 0" 1)
M_BUSY=$(f "100 * ($M_BUSY1 - $M_BUSY0) / $CLK_TCK / $WIN" 1)
M_SIRQ=$(f "100 * ($M_SIRQ1 - $M_SIRQ0) / $CLK_TCK / $WIN" 1)
M_STEAL=$(f "100 * ($M_STEAL1 - $M_STEAL0) / $CLK_TCK / $WIN" 1)
M_OTHERS=$(f "$M_BUSY - $CPU_PCT - $DRV_PCT" 1)
DROPS_PS=$(f "($DROPS1 - $DROPS0) / $WIN" 1)

# ---- report ------------------------------------------------------------------------------------
cat <<EOF | tee "$RUN_DIR/summary.txt"
== peer-scale: $LABEL  N=$N  interval=${INTERVAL}s  window=${WIN}s  ($RUN_ID)
   binary      $BIN  ($VERSION)
   mode        $MODE   netns=${NETNS}   start-up to HTTP ready: ${START_S}s, warm-up ${WARMUP}s
   exporter    CPU ${CPU}s in window (user ${CPU_U} sys ${CPU_S}) = ${CPU_PCT}% of one core; ${CPU_PER_1K} CPU-ms per 1000 probes
               CPU incl. start-up ${CPU_TOTAL}s; peak RSS $(f "$HWM_KB/1024" 1) MB, RSS now $(f "$RSS_KB/1024" 1) MB; threads $THREADS; fds $FDS
   samples     $SAMPLES over ${SPAN}s = ${SPS}/s (expected ${EXPECTED}/s); loss ${LOSS}%; kept up: $KEPT; saturated: $SATURATED
   rtt         mean reported RTT in the window ${RTT_MS} ms
   sockets     raw ICMP max $RAWMAX, ping(dgram) max $PINGMAX; raw rcvbuf drops ${DROPS_PS}/s
   /metrics    $MBYTES bytes, scrapes at window start/end took ${MSECS0:-0}s/${MSECS}s; $NSCRAPES scrapes inside window (every ${SCRAPE_EVERY}s)
   driver      CPU ${DRV_CPU}s = ${DRV_PCT}% of one core; peak RSS $(f "$D_HWM_KB/1024" 1) MB; $DRV_JSON
   machine     busy ${M_BUSY}% (of one core, 2 cores = 200%), softirq ${M_SIRQ}%, steal ${M_STEAL}%, others ${M_OTHERS}%
EOF
printf '{"run":"%s","label":"%s","kind":"%s","mode":"%s","bin":"%s","version":"%s","n":%d,"interval_s":%s,"window_s":%s,"cpu_s":%s,"cpu_user_s":%s,"cpu_sys_s":%s,"cpu_pct":%s,"cpu_ms_per_1k":%s,"cpu_total_s":%s,"startup_s":%s,"rss_peak_mb":%s,"rss_mb":%s,"threads":%s,"samples":%s,"samples_per_s":%s,"expected_per_s":%s,"loss_pct":%s,"kept_up":%s,"saturated":%s,"samples_span_s":%s,"scrape0_s":%s,"raw_sockets":%s,"ping_sockets":%s,"raw_drops_per_s":%s,"metrics_bytes":%s,"scrape_s":%s,"scrapes_in_window":%s,"driver_cpu_s":%s,"driver_cpu_pct":%s,"driver_rss_peak_mb":%s,"driver":%s,"machine_busy_pct":%s,"machine_softirq_pct":%s,"machine_steal_pct":%s,"machine_others_pct":%s,"rtt_mean_ms":%s}\n' \
  "$RUN_ID" "$LABEL" "$KIND" "$MODE" "$BIN" "$VERSION" "$N" "$INTERVAL" "$WIN" "$CPU" "$CPU_U" "$CPU_S" "$CPU_PCT" "$CPU_PER_1K" \
  "$CPU_TOTAL" "$START_S" "$(f "$HWM_KB/1024" 1)" "$(f "$RSS_KB/1024" 1)" "$THREADS" "$SAMPLES" "$SPS" "$EXPECTED" "$LOSS" "${KEPT:-false}" "$SATURATED" "$SPAN" "${MSECS0:-0}" \
  "$RAWMAX" "$PINGMAX" "$DROPS_PS" "${MBYTES:-0}" "${MSECS:-0}" "$NSCRAPES" "$DRV_CPU" "$DRV_PCT" "$(f "$D_HWM_KB/1024" 1)" "$DRV_JSON" \
  "$M_BUSY" "$M_SIRQ" "$M_STEAL" "$M_OTHERS" "$RTT_MS" | tee -a "$OUT" > "$RUN_DIR/result.json"
for x in perf-syscalls.csv perf-skb.csv perf-top.txt strace-c.txt; do
  [ -s "$RUN_DIR/$x" ] && echo "   saved       $RUN_DIR/$x"
done
exit 0
