-- The receiver's state, one table per bbolt bucket plus what two or more
-- receivers sharing the database need (key/value state, leases).

-- Outbox of Telegram jobs in queue order. job is store.Job as JSON (its id
-- is the id column). claimed_by/claimed_until are set by Claim.
CREATE TABLE queue (
	id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	job           json NOT NULL,
	claimed_by    text,
	claimed_until timestamptz
);

-- Idempotency keys already accepted; the primary key is what makes two
-- receivers given the same notification queue it once.
CREATE TABLE seen_keys (
	key       text PRIMARY KEY,
	seen_unix bigint NOT NULL -- last marked, Unix seconds (Prune)
);
CREATE INDEX seen_keys_seen_unix ON seen_keys (seen_unix);

-- Per-alert state, keyed by store.AlertRef.Key(); state is store.AlertState
-- as JSON (json, not jsonb: the alert inside is kept byte for byte).
CREATE TABLE alert_states (
	key     text PRIMARY KEY,
	state   json NOT NULL,
	updated timestamptz NOT NULL
);
CREATE INDEX alert_states_updated ON alert_states (updated);

-- Jobs Telegram refused permanently, by job id.
CREATE TABLE dead_letters (
	id     bigint PRIMARY KEY,
	letter json NOT NULL
);

-- Telegram group -> supergroup upgrades (migrate_to_chat_id).
CREATE TABLE chat_migrations (
	from_chat text PRIMARY KEY,
	to_chat   text NOT NULL
);

-- Small named values: the Telegram updates offset, heartbeat state.
CREATE TABLE kv (
	key     text PRIMARY KEY,
	value   bytea NOT NULL,
	updated timestamptz NOT NULL DEFAULT now()
);

-- Named leases: one holder at a time (who polls Telegram, who drains the queue).
CREATE TABLE leases (
	name    text PRIMARY KEY,
	holder  text NOT NULL,
	expires timestamptz NOT NULL
);
