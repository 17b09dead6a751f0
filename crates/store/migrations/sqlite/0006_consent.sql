-- The owner's consent to what is written into their Salesforce org.

-- An editor may change what the project writes into the owner's org (its
-- mappings, its transition) only when the owner granted that on the share.
ALTER TABLE project_shares ADD COLUMN salesforce_changes INTEGER NOT NULL DEFAULT 0;

-- A validation holds for the owner whose link was checked: after a transfer
-- the survey is pinned until the new owner's transition validates it.
ALTER TABLE salesforce_integrations ADD COLUMN validated_owner_id INTEGER REFERENCES accounts(id);
UPDATE salesforce_integrations
   SET validated_owner_id = (SELECT owner_id FROM projects WHERE projects.id = salesforce_integrations.project_id)
 WHERE validated_org_id IS NOT NULL;

-- A transfer is an offer to an email address, which the account with that
-- address accepts or declines; until then nothing changes.
CREATE TABLE project_transfers (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id      INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    from_account_id INTEGER NOT NULL REFERENCES accounts(id),
    to_email        TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('offered', 'accepted', 'declined', 'withdrawn')),
    created_at      INTEGER NOT NULL,
    decided_at      INTEGER,
    decided_by      INTEGER REFERENCES accounts(id)
);
CREATE UNIQUE INDEX project_transfers_one_open ON project_transfers(project_id) WHERE status = 'offered';
CREATE INDEX project_transfers_to ON project_transfers(to_email) WHERE status = 'offered';

-- Every change to what a project writes into Salesforce: who, what, when.
CREATE TABLE salesforce_history (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    account_id  INTEGER REFERENCES accounts(id),
    actor_name  TEXT    NOT NULL,
    actor_email TEXT    NOT NULL,
    by_owner    INTEGER NOT NULL,
    change      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX salesforce_history_project ON salesforce_history(project_id, id);
