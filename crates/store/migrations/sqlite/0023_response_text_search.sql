-- The responses table's text search reads candidates from this index instead
-- of every response of the project. Each response is one document: its rowid
-- is responses.id, its body the answers' values (never the question ids)
-- joined by newlines. Trigrams make a quoted phrase a case-folded substring
-- search, so its matches are a superset of the table's LIKE over each answer,
-- which the search still applies to every candidate. Contentless: the text
-- stays in `responses` alone.
--
-- Filled by a background step (Store::index_response_text), never in the
-- commit that stores a response, so ingest costs what it did; the step
-- records the highest response id it has indexed, and the search also reads
-- every response past it. This migration indexes nothing: the step catches
-- up, and until it has, a search reads the responses as before.
--
-- Responses are never deleted, so an indexed row never points at another
-- response. (Rows can be deleted from this table, contentless_delete, should
-- that change; SQLite reuses a deleted highest rowid, so such a change must
-- also keep ids from coming back at or below the watermark.)
CREATE VIRTUAL TABLE response_text USING fts5(body, tokenize = 'trigram', content = '', contentless_delete = 1);

-- How far the index goes: every response with id <= indexed_through is in it.
CREATE TABLE response_text_progress (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    indexed_through INTEGER NOT NULL
);
INSERT INTO response_text_progress (id, indexed_through) VALUES (1, 0);
