-- Mail Insight sends, and what needs it: sign-ups confirmed by mail, and
-- sharing as an invitation to an address.

-- The mail outbox. A mail worker claims due rows with a lease, sends them,
-- and marks them sent; a failure is retried with backoff and given up only
-- after many attempts (the row stays, with its last error). `dedupe_key`
-- names the event a mail is for, so the same event never queues two mails.
-- Bodies carry links that sign people in: they are sealed like the
-- Salesforce tokens.
CREATE TABLE mail_outbox (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    dedupe_key  TEXT    NOT NULL UNIQUE,
    recipient   TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    sealed_text TEXT    NOT NULL,
    sealed_html TEXT,
    status      TEXT    NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    not_before  INTEGER NOT NULL,
    lease_until INTEGER,
    last_error  TEXT,
    created_at  INTEGER NOT NULL,
    sent_at     INTEGER
);
CREATE INDEX mail_outbox_due ON mail_outbox(not_before) WHERE status = 'pending';

-- A sign-up waits here until its address confirms it by the mailed link;
-- only then is the account made. The link's token is kept as its SHA-256.
CREATE TABLE pending_signups (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    token_hash    TEXT    NOT NULL UNIQUE,
    next_path     TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    confirmed_at  INTEGER,
    account_id    INTEGER REFERENCES accounts(id) ON DELETE SET NULL
);
CREATE INDEX pending_signups_email ON pending_signups(email);

-- Sharing a project with an address is an invitation, whether or not an
-- account uses the address; the account with that address accepts it.
CREATE TABLE project_invitations (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id         INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    email              TEXT    NOT NULL,
    role               TEXT    NOT NULL CHECK (role IN ('editor', 'viewer')),
    salesforce_changes INTEGER NOT NULL DEFAULT 0,
    invited_by         INTEGER NOT NULL REFERENCES accounts(id),
    status             TEXT    NOT NULL CHECK (status IN ('invited', 'accepted', 'declined', 'withdrawn')),
    created_at         INTEGER NOT NULL,
    decided_at         INTEGER,
    decided_by         INTEGER REFERENCES accounts(id)
);
CREATE UNIQUE INDEX project_invitations_one_open ON project_invitations(project_id, email) WHERE status = 'invited';
CREATE INDEX project_invitations_to ON project_invitations(email) WHERE status = 'invited';
