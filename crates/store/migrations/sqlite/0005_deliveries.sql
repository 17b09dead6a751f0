-- The delivery outbox: one row per response of a survey that maps responses
-- into Salesforce, written in the same commit as the response itself, so an
-- accepted response is never without its delivery. Workers claim rows with a
-- lease; a crashed worker's rows are taken over when the lease runs out.
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER NOT NULL REFERENCES projects(id),
    response_id     INTEGER NOT NULL UNIQUE REFERENCES responses(id),
    public_id       TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'held', 'delivered', 'failed', 'discarded')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    org_id          TEXT,
    outcome         TEXT,
    last_error      TEXT,
    note            TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX deliveries_due ON deliveries(status, next_attempt_at);
CREATE INDEX deliveries_project ON deliveries(project_id, status, id);
