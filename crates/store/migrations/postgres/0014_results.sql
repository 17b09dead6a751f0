-- The results report reads a project's responses by finish time (its date
-- range, and the most recent text answers first).
CREATE INDEX responses_project_finished ON responses(project_id, finished_at);
