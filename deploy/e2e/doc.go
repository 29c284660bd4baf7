// Package e2e holds the end-to-end test of the whole pipeline: the real
// downtime_exporter, Prometheus with rules/, Alertmanager and
// downtime_receiver, all inside a network namespace, monitoring a host in a
// second namespace, with the project's fake Telegram Bot API as the sink.
//
// The test uses the shipped configurations (deploy/prometheus,
// deploy/alertmanager, deploy/receiver, rules/) with only the intervals
// shortened, so a broken shipped file fails it. It runs once per stack, at
// the same time: Debian's prometheus and prometheus-alertmanager from PATH,
// and the Prometheus 3 and Alertmanager pinned in deploy/versions.env,
// built into .tools/ by make deps; TestNativeHistograms runs the pinned
// Prometheus with native histograms. It needs root, iproute2, nft and those
// binaries; without them it skips, and under CI=true it fails instead.
// deploy/README.md explains the detection bound it asserts.
//
// The same run evaluates every PromQL expression of the Grafana dashboard
// (deploy/grafana/dashboards) in its Prometheus, with the host up and with
// the host down; TestDashboard, TestDashboardPromQL and
// TestGrafanaProvisioning check the dashboard's structure, datasources,
// variables and syntax without root.
package e2e
