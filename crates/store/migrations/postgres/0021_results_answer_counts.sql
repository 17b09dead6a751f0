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
    project_id BIGINT NOT NULL REFERENCES projects(id),
    day        BIGINT NOT NULL,
    question   TEXT   NOT NULL,
    counted    TEXT   NOT NULL CHECK (counted IN ('responses', 'answers', 'value')),
    value      TEXT   NOT NULL,
    n          BIGINT NOT NULL,
    PRIMARY KEY (project_id, day, question, counted, value)
);

-- Backfill from the responses stored before this migration, reading values
-- as the live query does (a string as itself, anything else as its JSON).
INSERT INTO answer_counts (project_id, day, question, counted, value, n)
SELECT project_id, finished_at / 86400000, '', 'responses', '', COUNT(*)
  FROM responses
 GROUP BY 1, 2;

INSERT INTO answer_counts (project_id, day, question, counted, value, n)
SELECT r.project_id, r.finished_at / 86400000, a.key, 'answers', '', COUNT(*)
  FROM responses r, jsonb_each(r.answers::jsonb) a
 GROUP BY 1, 2, 3;

INSERT INTO answer_counts (project_id, day, question, counted, value, n)
SELECT g.project_id, g.day, g.question, 'value',
       CASE jsonb_typeof(o) WHEN 'string' THEN o #>> '{}' ELSE o::text END,
       COUNT(*)
  FROM (SELECT r.project_id, r.finished_at / 86400000 AS day, a.key AS question, a.value
          FROM (SELECT s.project_id, q ->> 'id' AS question
                  FROM surveys s, jsonb_array_elements(s.definition::jsonb -> 'questions') q
                 WHERE q -> 'kind' ->> 'type' NOT IN ('text', 'email')) t
          JOIN responses r ON r.project_id = t.project_id,
               jsonb_each(r.answers::jsonb) a
         WHERE a.key = t.question) g,
       jsonb_array_elements(CASE jsonb_typeof(g.value) WHEN 'array' THEN g.value ELSE jsonb_build_array(g.value) END) o
 GROUP BY 1, 2, 3, 5;
