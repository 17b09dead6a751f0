-- The Bulk API 2.0 ingest job a claimed delivery went out in, once the job
-- is uploaded and closed: a worker that dies while Salesforce processes it
-- leaves the job id behind, and the next worker reads that job's results
-- instead of sending the rows again. Cleared whenever the delivery's lease is.
ALTER TABLE deliveries ADD COLUMN bulk_job TEXT;
CREATE INDEX deliveries_bulk_job ON deliveries(bulk_job) WHERE bulk_job IS NOT NULL;
