-- The API calls Insight makes into each org, per hour (ms since the epoch
-- / 3,600,000): its share of an org's daily limit is counted over the last
-- 24 of them.
CREATE TABLE api_calls (
    org_id  TEXT    NOT NULL,
    hour    BIGINT NOT NULL,
    calls   BIGINT NOT NULL,
    PRIMARY KEY (org_id, hour)
);
-- An org whose deliveries wait for API budget, until when and why; with
-- `probe` set, the org's /limits is read once before they go on.
CREATE TABLE api_pauses (
    org_id      TEXT    PRIMARY KEY,
    until_ms    BIGINT NOT NULL,
    reason      TEXT    NOT NULL,
    probe       BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);
-- Who gave up on a delivery, and when: a person's choice, recorded.
ALTER TABLE deliveries ADD COLUMN given_up_by BIGINT REFERENCES accounts(id);
ALTER TABLE deliveries ADD COLUMN given_up_at BIGINT;
-- The delivery log pages through a project's deliveries newest first.
CREATE INDEX deliveries_log ON deliveries(project_id, id);
