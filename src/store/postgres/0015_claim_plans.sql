-- What was last planned for each claim, by whichever instance (see SQLite's migration
-- 0015): its revision, the day and the fingerprint of the settings it was planned with.
CREATE TABLE claim_plans (
    claim_id BIGINT PRIMARY KEY REFERENCES claims(id),
    revision BIGINT NOT NULL,
    day      TEXT NOT NULL,
    settings TEXT NOT NULL
);
