-- Backfills: a person sends a survey's earlier responses through its
-- current mappings. Each delivery it made due names the run, so its
-- progress is counted from the outbox itself.
CREATE TABLE backfills (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES projects(id),
    started_by  INTEGER NOT NULL REFERENCES accounts(id),
    started_at  INTEGER NOT NULL,
    total       INTEGER NOT NULL
);
CREATE INDEX backfills_project ON backfills(project_id, id);
ALTER TABLE deliveries ADD COLUMN backfill_id INTEGER REFERENCES backfills(id);
CREATE INDEX deliveries_backfill ON deliveries(backfill_id, status);
