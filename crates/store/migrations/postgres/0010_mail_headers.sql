-- Per-mail headers, for survey invitations sent on a survey's behalf: the
-- sender's display name (the address stays INSIGHT_MAIL_FROM's), and a
-- one-click unsubscribe URL (RFC 8058 List-Unsubscribe). The URL carries a
-- token that unsubscribes its holder, so it is sealed like the bodies.
ALTER TABLE mail_outbox ADD COLUMN from_name TEXT;
ALTER TABLE mail_outbox ADD COLUMN sealed_unsubscribe_url TEXT;
