-- What the last schema check of a survey's mappings found: the org changed
-- under mappings that fit once (a field deleted, made read-only, retyped, a
-- picklist value removed). `drift` is the drifted mappings as JSON, NULL
-- while every mapping fits; `drift_checked_at` is when the owner's org was
-- last described for it (milliseconds), which also spaces the checks out.
ALTER TABLE salesforce_integrations ADD COLUMN drift TEXT;
ALTER TABLE salesforce_integrations ADD COLUMN drift_checked_at BIGINT;
