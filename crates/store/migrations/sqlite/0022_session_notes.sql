-- What an action did, shown once on the page it redirects to (so a reload
-- never repeats the action): one note per sign-in session, for one path,
-- sealed with the secret key since a note may hold a secret shown once
-- (a new signing key). Taken when that page is shown; gone with the session.
ALTER TABLE sessions ADD COLUMN note_path TEXT;
ALTER TABLE sessions ADD COLUMN note_sealed TEXT;
