-- What the last schema check of a survey's mappings found: the org changed
-- under mappings that fit once (a field deleted, made read-only, retyped, a
-- picklist value removed). `drift` is the drifted mappings as JSON, NULL
-- while every mapping fits; `drift_checked_at` is when the last check that
-- completed described the owner's org (milliseconds); `drift_claimed_at` is
-- when the last one started, which spaces the checks out and keeps two
-- servers from making the same one.
ALTER TABLE salesforce_integrations ADD COLUMN drift TEXT;
ALTER TABLE salesforce_integrations ADD COLUMN drift_checked_at BIGINT;
ALTER TABLE salesforce_integrations ADD COLUMN drift_claimed_at BIGINT;
