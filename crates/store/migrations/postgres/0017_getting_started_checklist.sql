-- The getting-started checklist on My Projects ticks itself off from what
-- an account has done; the account may hide it before then. When it did
-- (milliseconds since the epoch), NULL while it is shown.
ALTER TABLE accounts ADD COLUMN getting_started_hidden_at BIGINT;
