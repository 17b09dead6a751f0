-- The responses table reads a project's responses a page at a time, sought by
-- (finish time, id) in either direction, so a page deep in costs what the
-- first does. This index gives that order whole; it also serves every read
-- of the one it replaces (the results report's date ranges).
CREATE INDEX responses_table_keyset ON responses(project_id, finished_at, id);
DROP INDEX responses_project_finished;
