-- Trigger and Email Survey: a Salesforce outbound message to a survey's
-- trigger becomes a personal survey invitation by mail.

-- A survey's trigger. Salesforce posts to a URL carrying the token; the
-- token is found by its SHA-256 and kept sealed so its owner can copy the
-- URL again. `rules` is the trigger's settings as JSON (domain::trigger).
CREATE TABLE survey_triggers (
    project_id   INTEGER PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    token_hash   TEXT    NOT NULL UNIQUE,
    sealed_token TEXT    NOT NULL,
    rules        TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    updated_by   INTEGER REFERENCES accounts(id) ON DELETE SET NULL
);

-- Every notification a trigger accepted: the invitation log, and the queue
-- the trigger worker works through (status received or held). A
-- notification id is taken once per survey, so Salesforce's retries and
-- replays are acknowledged and never acted on again. An invitation's
-- personal link is found by its token's SHA-256; the token is kept sealed
-- for the reminder's mail.
CREATE TABLE trigger_notifications (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    notification_id TEXT    NOT NULL,
    org_id          TEXT    NOT NULL,
    object          TEXT    NOT NULL,
    record_id       TEXT,
    fields          TEXT    NOT NULL,
    test_recipient  TEXT,
    status          TEXT    NOT NULL CHECK (status IN ('received', 'held', 'invited', 'skipped', 'suppressed', 'opted_out', 'responded')),
    reason          TEXT,
    recipient       TEXT,
    recipient_name  TEXT,
    embedded        TEXT,
    token_hash      TEXT    UNIQUE,
    sealed_token    TEXT,
    received_at     INTEGER NOT NULL,
    not_before      INTEGER NOT NULL,
    lease_until     INTEGER,
    attempts        INTEGER NOT NULL DEFAULT 0,
    invited_at      INTEGER,
    send_at         INTEGER,
    expires_at      INTEGER,
    opened_at       INTEGER,
    responded_at    INTEGER,
    response_id     TEXT,
    remind_at       INTEGER,
    reminded_at     INTEGER,
    UNIQUE (project_id, notification_id)
);
CREATE INDEX trigger_notifications_due ON trigger_notifications(not_before) WHERE status IN ('received', 'held');
CREATE INDEX trigger_notifications_recipient ON trigger_notifications(recipient, invited_at);
CREATE INDEX trigger_notifications_remind ON trigger_notifications(remind_at) WHERE remind_at IS NOT NULL AND reminded_at IS NULL AND responded_at IS NULL;
CREATE INDEX trigger_notifications_log ON trigger_notifications(project_id, id);

-- Addresses that unsubscribed from an account's invitations: that account
-- never mails them again.
CREATE TABLE mail_opt_outs (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    email      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, email)
);

-- An account's contact frequency rule, over all of its surveys (a survey's
-- own rule is part of its trigger's rules).
CREATE TABLE account_contact_rules (
    account_id      INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    max_invitations INTEGER NOT NULL,
    period_days     INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
