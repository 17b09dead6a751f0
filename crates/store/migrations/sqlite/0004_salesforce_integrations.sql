-- A survey's Salesforce integration: its response mappings, and the org they
-- were last validated against. Nothing is ever written to an org a survey
-- was not validated against: when the owner's link points elsewhere, the
-- survey is disrupted until its transition re-validates it.
CREATE TABLE salesforce_integrations (
    project_id       INTEGER PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    mappings         TEXT    NOT NULL,
    validated_org_id TEXT,
    validated_at     INTEGER,
    version          INTEGER NOT NULL DEFAULT 1,
    updated_at       INTEGER NOT NULL
);
