// Package alertmanager talks to Alertmanager's API v2 for the chat actions and
// the reconciler: create and expire silences, list silences, and read the
// alerts Alertmanager holds (with their silenced/inhibited state).
//
// It uses the client and models generated from Alertmanager's OpenAPI spec
// that github.com/prometheus/alertmanager ships (api/v2/client, api/v2/models)
// rather than hand-written requests, over an http.Client built from
// prometheus/common's HTTPClientConfig (basic auth, bearer token, OAuth2, TLS).
//
// Several URLs form one HA cluster. Silences gossip between the peers, so a
// silence is created or expired on the first peer that answers. Alerts do not
// gossip (Prometheus sends them to every peer), so Snapshots asks every peer
// and the reconciler decides from all answers.
package alertmanager
