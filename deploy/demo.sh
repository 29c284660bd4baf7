#!/usr/bin/env bash
# The whole downtime pipeline on loopback, in the foreground, until Ctrl-C:
#
#   downtime_exporter -> Prometheus (rules/) -> Alertmanager -> downtime_receiver -> Telegram
#
# Usage: deploy/demo.sh [HOST ...]      (make demo HOSTS="host1 host2")
# Pings 127.0.0.1, 127.0.0.2, ::1 and the given hosts. With TELEGRAM_BOT_TOKEN
# and TELEGRAM_CHAT_ID set the receiver sends to Telegram; without them it
# runs with --dry-run and prints the messages it would send.
#
# Environment:
#   DEMO_OUTAGE=SECONDS  (root only) also monitor a "demo host" in a network
#                        namespace and take it offline for SECONDS, once,
#                        30 s after start, so a firing and a resolved message
#                        show up without touching anything. Default 0: the
#                        demo host is created (when root) but only goes down
#                        when you run the command the demo prints.
#   KEEP=1               keep the temporary directory (logs, data) on exit.
#   PROMETHEUS, ALERTMANAGER  binaries (default: the Debian packages').
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
EXPORTER=$ROOT/bin/downtime_exporter
RECEIVER=$ROOT/bin/downtime_receiver
PROMETHEUS=${PROMETHEUS:-$(command -v prometheus || echo /usr/bin/prometheus)}
ALERTMANAGER=${ALERTMANAGER:-$(command -v prometheus-alertmanager || command -v alertmanager || echo /usr/bin/prometheus-alertmanager)}
DEMO_OUTAGE=${DEMO_OUTAGE:-0}

# Fixed loopback ports, the same as in the shipped configs.
EXPORTER_ADDR=127.0.0.1:9426
RECEIVER_ADDR=127.0.0.1:9427
PROMETHEUS_ADDR=127.0.0.1:9090
ALERTMANAGER_ADDR=127.0.0.1:9093

say() { printf '%s\n' "demo: $*" >&2; }
die() { say "error: $*"; exit 1; }

pids=() names=() tmp="" demo_ns="" demo_if=""

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	set +e
	if ((${#pids[@]})); then
		say "stopping ${names[*]}"
		local i
		for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
			kill -TERM "${pids[i]}" 2>/dev/null
		done
		# Give in-flight work (a Telegram send, a TSDB flush) up to 15 s.
		local deadline=$((SECONDS + 15))
		for i in "${!pids[@]}"; do
			while kill -0 "${pids[i]}" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
			if kill -0 "${pids[i]}" 2>/dev/null; then
				say "${names[i]} did not stop in time, killing it"
				kill -KILL "${pids[i]}" 2>/dev/null
			fi
			wait "${pids[i]}" 2>/dev/null
		done
	fi
	[[ -n $demo_if ]] && ip link del "$demo_if" 2>/dev/null
	[[ -n $demo_ns ]] && ip netns del "$demo_ns" 2>/dev/null
	if [[ -n $tmp ]]; then
		if [[ ${KEEP:-0} == 1 ]]; then say "kept $tmp"; else rm -rf "$tmp"; fi
	fi
	say "stopped"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

# start NAME LOGFILE CMD...: runs CMD in the background and records its pid.
# Only the receiver gets the Telegram variables in its environment.
start() {
	local name=$1 log=$2
	shift 2
	[[ $name == receiver ]] || set -- env -u TELEGRAM_BOT_TOKEN -u TELEGRAM_CHAT_ID "$@"
	"$@" >>"$log" 2>&1 &
	pids+=($!)
	names+=("$name")
}

# wait_ready NAME URL: polls URL until it answers 2xx (30 s at most).
wait_ready() {
	local name=$1 url=$2 deadline=$((SECONDS + 30))
	until curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; do
		((SECONDS < deadline)) || die "$name not ready at $url after 30 s; log: $tmp/logs/$name.log"
		local i
		for i in "${!pids[@]}"; do
			kill -0 "${pids[i]}" 2>/dev/null || die "${names[i]} exited; log: $tmp/logs/${names[i]}.log:
$(tail -n 20 "$tmp/logs/${names[i]}.log" 2>/dev/null)"
		done
		sleep 0.3
	done
}

check_prerequisites() {
	local b
	for b in "$EXPORTER" "$RECEIVER"; do
		[[ -x $b ]] || die "$b is missing: run 'make demo' (it builds first) or 'make build'"
	done
	[[ -x $PROMETHEUS ]] || die "prometheus not found: run 'make deps' (Debian package prometheus)"
	[[ -x $ALERTMANAGER ]] || die "alertmanager not found: run 'make deps' (Debian package prometheus-alertmanager)"
	command -v curl >/dev/null || die "curl not found"
	local addr
	for addr in "$EXPORTER_ADDR" "$RECEIVER_ADDR" "$PROMETHEUS_ADDR" "$ALERTMANAGER_ADDR"; do
		if ss -Hltn "sport = :${addr##*:}" 2>/dev/null | grep -q .; then
			die "port ${addr##*:} is already in use (another demo, or the Debian services: systemctl stop prometheus prometheus-alertmanager)"
		fi
	done
}

# make_configs: the shipped configs, copied into $tmp in the repository's
# layout so their relative paths (../../rules, ../receiver/webhook_password)
# work unchanged; only the webhook password is generated.
make_configs() {
	mkdir -p "$tmp"/deploy/{prometheus,alertmanager,receiver} "$tmp"/logs "$tmp"/data/{prometheus,alertmanager,receiver}
	ln -s "$ROOT/rules" "$tmp/rules"
	cp "$ROOT/deploy/prometheus/prometheus.yml" "$tmp/deploy/prometheus/"
	cp "$ROOT/deploy/alertmanager/alertmanager.yml" "$tmp/deploy/alertmanager/"
	cp "$ROOT/deploy/receiver/receiver.yml" "$tmp/deploy/receiver/"
	(umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/deploy/receiver/webhook_password")
}

# demo_host: a namespace answering pings at 198.18.254.2 (benchmarking
# space, never routed), reached over a veth pair from the root namespace.
demo_host() {
	[[ $(id -u) == 0 ]] && command -v ip >/dev/null || return 1
	demo_ns=dtdemo-$$
	demo_if=dtdemo$$
	ip netns add "$demo_ns" &&
		ip link add "$demo_if" type veth peer name eth0 netns "$demo_ns" &&
		ip addr add 198.18.254.1/30 dev "$demo_if" &&
		ip link set "$demo_if" up &&
		ip -n "$demo_ns" addr add 198.18.254.2/30 dev eth0 &&
		ip -n "$demo_ns" link set eth0 up &&
		ip -n "$demo_ns" link set lo up
}

exporter_args() {
	local -n out=$1
	out=(--web.listen-address="$EXPORTER_ADDR")
	# Raw ICMP sockets need root or CAP_NET_RAW; otherwise use ICMP datagram
	# sockets (allowed by net.ipv4.ping_group_range).
	if [[ $(id -u) != 0 ]] && ! getcap "$EXPORTER" 2>/dev/null | grep -q cap_net_raw; then
		out+=(--no-ping.privileged)
		say "not root: unprivileged ICMP (if the exporter refuses: sudo setcap cap_net_raw+ep $EXPORTER)"
	fi
	out+=(127.0.0.1 127.0.0.2)
	grep -q ' lo$' /proc/net/if_inet6 2>/dev/null && out+=(::1)
	out+=("${HOSTS[@]}")
}

receiver_args() {
	local -n out=$1
	out=(--config.file="$tmp/deploy/receiver/receiver.yml" --web.listen-address="$RECEIVER_ADDR"
		--storage.path="$tmp/data/receiver" --alertmanager.url="http://$ALERTMANAGER_ADDR")
	if [[ -z ${TELEGRAM_BOT_TOKEN:-} || -z ${TELEGRAM_CHAT_ID:-} ]]; then
		# Prints the messages instead; needs neither a token nor a chat.
		out+=(--dry-run)
		MODE="dry run: messages are printed below (set TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID to send)"
		# Button presses reach a dry-run receiver as Telegram's webhook
		# would post them (schedule_press simulates one).
		PRESS_SECRET=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
		printf '\nchat:\n  updates: webhook\n  webhook_secret_token: %s\n' "$PRESS_SECRET" >>"$tmp/deploy/receiver/receiver.yml"
	else
		MODE="sending to Telegram chat $TELEGRAM_CHAT_ID"
	fi
}

schedule_outage() {
	((DEMO_OUTAGE > 0)) && [[ -n $demo_if ]] || return 0
	(
		# Stopped with SIGTERM by cleanup: take the sleep along.
		trap 'kill "$nap" 2>/dev/null; exit 0' TERM
		nap_for() { sleep "$1" & nap=$!; wait "$nap"; }
		nap_for 30
		echo "demo: $(date +%T) taking 198.18.254.2 offline for ${DEMO_OUTAGE}s" >&2
		ip link set "$demo_if" down
		nap_for "$DEMO_OUTAGE"
		ip link set "$demo_if" up
		echo "demo: $(date +%T) 198.18.254.2 is back" >&2
	) &
	pids+=($!)
	names+=(outage)
}

# schedule_press: in a dry run with DEMO_OUTAGE, once the demo host's
# firing message is printed, press its "🔕 1h" button as a user would: the
# update goes to the receiver's /telegram/updates like Telegram's webhook,
# the receiver creates a real silence in the demo's Alertmanager, answers
# and edits the message, and the host's recovery is still reported (by the
# reconciler: Alertmanager sends no resolved notification for a silenced
# alert).
schedule_press() {
	((DEMO_OUTAGE > 0)) && [[ -n $demo_if && -n ${PRESS_SECRET:-} ]] || return 0
	(
		trap 'exit 0' TERM
		local data="" deadline=$((SECONDS + 30 + DEMO_OUTAGE + 120))
		while [[ -z $data ]] && ((SECONDS < deadline)); do
			sleep 1
			data=$(grep -A8 '198.18.254.2</b> is down' "$tmp/logs/receiver.log" 2>/dev/null |
				sed -n 's/^    callback_data 🔕 1h = //p' | head -n 1) || true # not printed yet
		done
		[[ -n $data ]] || exit 0
		sleep 3
		echo "demo: $(date +%T) pressing [🔕 1h] on that message as @demo_user" >&2
		curl -fsS -o /dev/null --max-time 10 -H "X-Telegram-Bot-Api-Secret-Token: $PRESS_SECRET" \
			--data-binary @- "http://$RECEIVER_ADDR/telegram/updates" <<JSON || echo "demo: the press failed" >&2
{"update_id": 1, "callback_query": {"id": "demo-press-1", "data": "$data",
 "from": {"id": 1, "is_bot": false, "first_name": "Demo", "username": "demo_user"},
 "message": {"message_id": 1, "date": 1, "chat": {"id": 0, "type": "group"}}}}
JSON
	) &
	pids+=($!)
	names+=(press)
}

main() {
	HOSTS=("$@")
	check_prerequisites
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/downtime-demo.XXXXXX")
	make_configs
	if demo_host 2>"$tmp/logs/demo-host.log"; then
		HOSTS+=(198.18.254.2)
	elif [[ -n $demo_ns ]]; then
		say "no demo host: $(cat "$tmp/logs/demo-host.log")"
		ip link del "$demo_if" 2>/dev/null || true
		ip netns del "$demo_ns" 2>/dev/null || true
		demo_ns="" demo_if=""
	fi
	local eargs rargs
	exporter_args eargs
	receiver_args rargs

	start exporter "$tmp/logs/exporter.log" "$EXPORTER" "${eargs[@]}"
	start receiver "$tmp/logs/receiver.log" "$RECEIVER" "${rargs[@]}"
	start alertmanager "$tmp/logs/alertmanager.log" "$ALERTMANAGER" \
		--config.file="$tmp/deploy/alertmanager/alertmanager.yml" \
		--storage.path="$tmp/data/alertmanager" \
		--web.listen-address="$ALERTMANAGER_ADDR" --cluster.listen-address=
	start prometheus "$tmp/logs/prometheus.log" "$PROMETHEUS" \
		--config.file="$tmp/deploy/prometheus/prometheus.yml" \
		--storage.tsdb.path="$tmp/data/prometheus" \
		--web.listen-address="$PROMETHEUS_ADDR"

	wait_ready exporter "http://$EXPORTER_ADDR/-/ready"
	wait_ready receiver "http://$RECEIVER_ADDR/-/ready"
	wait_ready alertmanager "http://$ALERTMANAGER_ADDR/-/ready"
	wait_ready prometheus "http://$PROMETHEUS_ADDR/-/ready"
	schedule_outage
	schedule_press
	print_banner
	# Show what the receiver logs and prints (dry-run messages) live.
	tail -n +1 -F "$tmp/logs/receiver.log" 2>/dev/null &
	pids+=($!)
	names+=(tail)
	# Until Ctrl-C, or until a component dies.
	local rc=0
	wait -n "${pids[@]:0:4}" || rc=$?
	local i
	for i in 0 1 2 3; do
		kill -0 "${pids[i]}" 2>/dev/null || die "${names[i]} exited (status $rc); log: $tmp/logs/${names[i]}.log:
$(tail -n 20 "$tmp/logs/${names[i]}.log")"
	done
}

print_banner() {
	cat >&2 <<EOF

downtime demo is running (Ctrl-C stops everything):
  targets:       ${eargs[*]:1}
  exporter:      http://$EXPORTER_ADDR/metrics
  Prometheus:    http://$PROMETHEUS_ADDR/alerts   (graph: ping_up, rules: /rules)
  Alertmanager:  http://$ALERTMANAGER_ADDR/
  receiver:      http://$RECEIVER_ADDR/metrics   $MODE
  status page:   http://$RECEIVER_ADDR/   (down now, incidents, availability; JSON: /api/v1/status)
                 login: alertmanager, password in $tmp/deploy/receiver/webhook_password
  logs, data:    $tmp
EOF
	if [[ -n $demo_if ]]; then
		cat >&2 <<EOF
  demo host:     198.18.254.2 in namespace $demo_ns
                 outage:   ip link set $demo_if down    (message in under a minute)
                 recovery: ip link set $demo_if up
EOF
	fi
	echo >&2
}

main "$@"
