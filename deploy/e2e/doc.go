// Package e2e holds the end-to-end test of the whole pipeline: the real
// downtime_exporter, Prometheus with rules/, Alertmanager and
// downtime_receiver, all inside a network namespace, monitoring a host in a
// second namespace, with the project's fake Telegram Bot API as the sink.
//
// The test uses the shipped configurations (deploy/prometheus,
// deploy/alertmanager, deploy/receiver, rules/) with only the intervals
// shortened, so a broken shipped file fails it. It needs root, iproute2,
// nft, prometheus and prometheus-alertmanager (make deps); without them it
// skips, and under CI=true it fails instead. deploy/README.md explains the
// detection bound it asserts.
package e2e
