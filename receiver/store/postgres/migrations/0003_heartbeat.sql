-- Heartbeat (dead man's switch) state per source: store.Heartbeat as JSON,
-- keyed by its source (route and Alertmanager receiver).
CREATE TABLE heartbeats (
	source text PRIMARY KEY,
	state  json NOT NULL
);
