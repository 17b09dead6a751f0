-- The Salesforce link: one per account. Tokens are sealed (AEAD) by the
-- application before they reach these columns.

CREATE TABLE salesforce_links (
    account_id            INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    environment           TEXT    NOT NULL CHECK (environment IN ('production', 'sandbox')),
    requested_environment TEXT    NOT NULL CHECK (requested_environment IN ('production', 'sandbox')),
    login_url             TEXT    NOT NULL,
    org_id                TEXT    NOT NULL,
    org_name              TEXT    NOT NULL,
    instance_url          TEXT    NOT NULL,
    sf_user_id            TEXT    NOT NULL,
    sf_username           TEXT    NOT NULL,
    sf_display_name       TEXT    NOT NULL,
    identity_url          TEXT    NOT NULL,
    refresh_token         TEXT    NOT NULL,
    access_token          TEXT,
    status                TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'needs_reauth')),
    linked_at             INTEGER NOT NULL,
    linked_by             INTEGER NOT NULL REFERENCES accounts(id),
    api_used              INTEGER,
    api_max               INTEGER,
    api_seen_at           INTEGER
);

CREATE TABLE link_events (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL,
    detail     TEXT    NOT NULL,
    actor_id   INTEGER REFERENCES accounts(id),
    at         INTEGER NOT NULL
);
CREATE INDEX link_events_account ON link_events(account_id, id);

-- A sign-in to Salesforce under way: its `state` (hashed), bound to the
-- browser session that started it, and its PKCE verifier (sealed). Used once.
CREATE TABLE oauth_flows (
    state_hash            TEXT    PRIMARY KEY,
    session_hash          TEXT    NOT NULL,
    account_id            INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    pkce_verifier         TEXT    NOT NULL,
    login_url             TEXT    NOT NULL,
    requested_environment TEXT    NOT NULL,
    return_to             TEXT    NOT NULL,
    created_at            INTEGER NOT NULL,
    used_at               INTEGER
);

-- Facts about the installation, e.g. a value sealed under the secret key so a
-- wrong key is caught at start rather than at the first token use.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
