-- A new API token is shown once, on the page its creation redirects to (so a
-- reload never creates another): until then it waits here sealed with the
-- secret key, for ten minutes at most, and is cleared when shown or swept.
ALTER TABLE api_tokens ADD COLUMN reveal_sealed TEXT;
ALTER TABLE api_tokens ADD COLUMN reveal_until INTEGER;
