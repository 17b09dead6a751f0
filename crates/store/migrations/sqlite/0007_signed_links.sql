-- Signed survey links. Each response records where its embedded data came
-- from, which decides whether a value in it may pick the Salesforce record a
-- mapping updates; responses stored before this came from unsigned links.
-- Values: unsigned, signed_link, tampered_link, expired_link (and, with
-- personal invitations, invitation); no CHECK, so adding one needs no rebuild.
ALTER TABLE responses ADD COLUMN embedded_source TEXT NOT NULL DEFAULT 'unsigned';

-- Each survey's key for signing its links: 32 random bytes, sealed like the
-- Salesforce tokens. Replacing it makes links signed with the old key stop
-- being trusted.
CREATE TABLE survey_link_keys (
    project_id  INTEGER PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    sealed_key  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);
