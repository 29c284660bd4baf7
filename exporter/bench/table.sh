#!/usr/bin/env bash
# table.sh RESULTS.jsonl - print the runs of scale.sh as a Markdown table.
set -eu
awk '
function get(k,   m) {
  if (match($0, "\"" k "\":\"?[^,}\"]*")) { m = substr($0, RSTART, RLENGTH); sub(/^"[^"]*":"?/, "", m); return m }
  return "?"
}
BEGIN {
  print "| exporter | N | CPU % of one core | CPU us/probe | peak RSS MB | probes/s (expected) | loss % | mean loopback RTT ms | /metrics MB, scrape s | kept up |"
  print "|---|---|---|---|---|---|---|---|---|---|"
}
/^\{/ {
  printf "| %s | %s | %s | %s | %s | %s (%s) | %s | %s | %.1f, %.2f | %s |\n", get("label"), get("n"), get("cpu_pct"),
    get("cpu_ms_per_1k"), get("rss_peak_mb"), get("samples_per_s"), get("expected_per_s"), get("loss_pct"),
    get("rtt_mean_ms"), get("metrics_bytes") / 1e6, get("scrape_s"), get("kept_up")
}' "$1"
