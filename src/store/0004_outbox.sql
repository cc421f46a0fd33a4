-- Mail out: who gets each message, the draft's checklist fingerprint (a new draft only
-- when it changes), and when the next send attempt is due.
ALTER TABLE outbox ADD COLUMN recipients TEXT NOT NULL DEFAULT '';   -- comma-separated
ALTER TABLE outbox ADD COLUMN fingerprint TEXT;
ALTER TABLE outbox ADD COLUMN next_attempt_at TEXT;                  -- RFC 3339 UTC
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
CREATE INDEX outbox_claim ON outbox(claim_id, purpose);

-- Small named values the scheduler keeps across restarts (the last digest's fire time).
CREATE TABLE schedule_state (
    name          TEXT PRIMARY KEY,
    value         TEXT NOT NULL
);
