-- The responses table's text search reads candidates from this index instead
-- of every response of the project: one row per response, its body the
-- answers' values (never the question ids) joined by newlines, under a
-- trigram index that answers ILIKE '%…%' (rechecked exactly, so its matches
-- are a superset of the table's ILIKE over each answer, which the search
-- still applies to every candidate).
--
-- Filled by a background step (Store::index_response_text), never in the
-- commit that stores a response, so ingest costs what it did; the step
-- records the highest response id it has indexed, and the search also reads
-- every response past it. This migration indexes nothing: the step catches
-- up, and until it has, a search reads the responses as before.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE response_text (
    response_id BIGINT PRIMARY KEY REFERENCES responses(id) ON DELETE CASCADE,
    body        TEXT   NOT NULL
);
-- Written to at once (no pending list, which every search would read until
-- a vacuum): the step that fills it is in the background, searches are not.
CREATE INDEX response_text_body ON response_text USING gin (body gin_trgm_ops) WITH (fastupdate = off);

-- How far the index goes: every response with id <= indexed_through is in it.
CREATE TABLE response_text_progress (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    indexed_through BIGINT  NOT NULL
);
INSERT INTO response_text_progress (id, indexed_through) VALUES (1, 0);
