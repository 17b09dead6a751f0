-- A Bulk API 2.0 ingest job, from the moment Salesforce gives it an id (before
-- its upload) until its deliveries are settled: the org and object it writes,
-- how far it got (created, uploaded, closed), and which worker waits for it,
-- heard from at heartbeat_at. The deliveries it carries name it in
-- deliveries.bulk_job. A job whose worker falls silent is taken over at once
-- (its deliveries' lease is not waited out): the next worker reads a finished
-- job's results, aborts one never closed and sends its rows again.
CREATE TABLE bulk_jobs (
    job_id        TEXT    PRIMARY KEY,
    project_id    INTEGER NOT NULL REFERENCES projects(id),
    -- NULL: unknown, for a job noted on its deliveries before this table.
    org_id        TEXT,
    object        TEXT,
    operation     TEXT,
    state         TEXT    NOT NULL,
    worker        TEXT    NOT NULL,
    heartbeat_at  INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX bulk_jobs_heartbeat ON bulk_jobs(heartbeat_at);
CREATE INDEX bulk_jobs_project ON bulk_jobs(project_id);
-- Jobs noted on deliveries by an earlier version (closed ones only): taken
-- over once their deliveries' lease runs out, as that version did.
INSERT INTO bulk_jobs (job_id, project_id, org_id, object, operation, state, worker, heartbeat_at, created_at, updated_at)
SELECT bulk_job, MIN(project_id), NULL, NULL, NULL, 'closed', '', COALESCE(MAX(lease_until), 0), MIN(updated_at), MIN(updated_at)
  FROM deliveries WHERE bulk_job IS NOT NULL AND status = 'pending' GROUP BY bulk_job;
UPDATE deliveries SET bulk_job = NULL WHERE bulk_job IS NOT NULL AND status <> 'pending';
