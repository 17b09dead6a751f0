-- A sign-in to a different org than the account's current link waits here
-- until the person confirms the switch (or cancels it). The whole pending
-- link, tokens included, is one sealed value.
CREATE TABLE pending_links (
    account_id  BIGINT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    sealed      TEXT    NOT NULL,
    org_id      TEXT    NOT NULL,
    org_name    TEXT    NOT NULL,
    environment TEXT    NOT NULL,
    sf_username TEXT    NOT NULL,
    return_to   TEXT    NOT NULL,
    created_at  BIGINT NOT NULL
);
