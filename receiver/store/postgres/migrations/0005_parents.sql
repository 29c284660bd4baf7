-- Down parents whose firing message the receiver keeps current with the
-- hosts behind them (receiver/behind): store.Parent as JSON, keyed by the
-- parent alert's store.AlertRef.Key(); updated is Parent.Updated (Prune).
CREATE TABLE parents (
	key     text PRIMARY KEY,
	state   json NOT NULL,
	updated timestamptz NOT NULL
);
CREATE INDEX parents_updated ON parents (updated);
