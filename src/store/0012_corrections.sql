-- Staff corrections: a value staff set for one field of a claim, by reply or from the
-- command line, with who, where from and the value it replaced. The newest applied row
-- of a (claim, field) stands over what mail says; a row without a value ends it. A line
-- that could not be read or may not change the claim is kept with why, and changes
-- nothing; `unreadable` ones are answered to the staff member once.
CREATE TABLE corrections (
    id          INTEGER PRIMARY KEY,
    claim_id    INTEGER NOT NULL REFERENCES claims(id),
    field       TEXT NOT NULL,              -- users, locations, downtime, incident, ...
    value       TEXT,                       -- JSON; NULL: unset (mail's value again)
    line        TEXT NOT NULL,              -- as staff wrote it
    set_by      TEXT NOT NULL,
    message_id  INTEGER REFERENCES messages(id), -- the reply; NULL from the command line
    overrides   TEXT,                       -- JSON: the value it replaced
    error       TEXT,                       -- why it changes nothing; NULL: applied
    unreadable  INTEGER NOT NULL DEFAULT 0, -- 1: the line could not be read
    at          TEXT NOT NULL
);
CREATE INDEX corrections_claim ON corrections(claim_id, field);

CREATE TRIGGER corrections_revision AFTER INSERT ON corrections
BEGIN
    UPDATE claims SET revision = revision + 1 WHERE id = NEW.claim_id;
END;

-- What each draft said, line by line, so the next version can list what changed.
ALTER TABLE outbox ADD COLUMN summary TEXT;
