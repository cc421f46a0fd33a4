-- Who may change a claim. Each message keeps our receiving servers' verdict on it and,
-- when it may not change its claims, why; such mail is linked to its claims as
-- unverified (shown to staff, read for nothing). A claim that mail could not decide is
-- flagged for staff with the reason.
ALTER TABLE messages ADD COLUMN trust TEXT;          -- JSON verdict; NULL: no trusted server
ALTER TABLE messages ADD COLUMN standing TEXT;       -- why it changes nothing; NULL: it may
ALTER TABLE claim_messages ADD COLUMN verified INTEGER NOT NULL DEFAULT 1;
ALTER TABLE claims ADD COLUMN review TEXT;           -- why staff must look; NULL: nothing to

CREATE TRIGGER claims_review_revision AFTER UPDATE OF review ON claims
BEGIN
    UPDATE claims SET revision = revision + 1 WHERE id = NEW.id;
END;
