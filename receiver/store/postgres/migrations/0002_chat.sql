-- Acting from the chat: what each button's callback key stands for
-- (chat.ActionRecord as JSON). The getUpdates offset lives in kv under
-- KeyUpdatesOffset.
CREATE TABLE chat_actions (
	key     text PRIMARY KEY,
	record  json NOT NULL,
	updated timestamptz NOT NULL DEFAULT now()
);
