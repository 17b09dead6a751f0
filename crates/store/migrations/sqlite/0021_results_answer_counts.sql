-- The results report's counts: per project, UTC day of the finish time
-- (days since 1970-01-01), question and value, how many. Written in the same
-- commit as the responses they count (store::answer_counts), so a report of
-- whole days adds up a few thousand rows instead of every answer.
--   counted = 'responses': the day's responses (question and value '');
--   counted = 'answers':   the day's responses answering the question (value '');
--   counted = 'value':     how often the question was given the value (an
--                          option of a multiple choice each), for questions
--                          that are neither text nor email.
CREATE TABLE answer_counts (
    project_id INTEGER NOT NULL REFERENCES projects(id),
    day        INTEGER NOT NULL,
    question   TEXT    NOT NULL,
    counted    TEXT    NOT NULL CHECK (counted IN ('responses', 'answers', 'value')),
    value      TEXT    NOT NULL,
    n          INTEGER NOT NULL,
    PRIMARY KEY (project_id, day, question, counted, value)
) WITHOUT ROWID;

-- Backfill from the responses stored before this migration, reading values
-- as the live query does (a string as itself, anything else as its JSON).
INSERT INTO answer_counts (project_id, day, question, counted, value, n)
SELECT project_id, finished_at / 86400000, '', 'responses', '', COUNT(*)
  FROM responses
 GROUP BY 1, 2;

INSERT INTO answer_counts (project_id, day, question, counted, value, n)
SELECT r.project_id, r.finished_at / 86400000, a.key, 'answers', '', COUNT(*)
  FROM responses r, json_each(r.answers) a
 GROUP BY 1, 2, 3;

INSERT INTO answer_counts (project_id, day, question, counted, value, n)
SELECT g.project_id, g.day, g.question, 'value',
       CASE o.type WHEN 'text' THEN o.value ELSE json_quote(o.value) END,
       COUNT(*)
  FROM (SELECT r.project_id, r.finished_at / 86400000 AS day, a.key AS question, a.type, a.value
          FROM (SELECT s.project_id, json_extract(q.value, '$.id') AS question
                  FROM surveys s, json_each(s.definition, '$.questions') q
                 WHERE json_extract(q.value, '$.kind.type') NOT IN ('text', 'email')) t
          JOIN responses r ON r.project_id = t.project_id,
               json_each(r.answers) a
         WHERE a.key = t.question) g,
       json_each(CASE g.type WHEN 'array' THEN g.value ELSE json_array(g.value) END) o
 GROUP BY 1, 2, 3, 5;
