-- What a survey says around its questions: an introduction above them and a
-- message on its thank-you page (plain text; empty means none).
ALTER TABLE surveys ADD COLUMN introduction TEXT NOT NULL DEFAULT '';
ALTER TABLE surveys ADD COLUMN thank_you_message TEXT NOT NULL DEFAULT '';
