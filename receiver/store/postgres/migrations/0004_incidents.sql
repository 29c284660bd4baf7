-- The incident log (receiver/incident): one row per outage as a chat saw
-- it. record is incident.Incident as JSON, the source of truth; the other
-- columns repeat what List filters and Prune deletes on.
CREATE TABLE incidents (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	route       text NOT NULL,
	fingerprint text NOT NULL,
	target      text NOT NULL,
	start_at    timestamptz NOT NULL,
	end_at      timestamptz, -- NULL while open
	record      json NOT NULL
);
-- At most one open incident per key: what makes two receivers given the
-- same firing notification open it once.
CREATE UNIQUE INDEX incidents_open_key ON incidents (route, fingerprint) WHERE end_at IS NULL;
-- The latest incident of a key, for the message links of a resolved reply.
CREATE INDEX incidents_key ON incidents (route, fingerprint, id);
CREATE INDEX incidents_end_at ON incidents (end_at);
CREATE INDEX incidents_target ON incidents (target);
