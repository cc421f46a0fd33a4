-- What was last planned for each claim, by whichever instance: the claim's revision, the
-- day (in the deadline zone) and a fingerprint of the settings and templates it was
-- planned with. Instances on one ledger each used to plan every claim that changed;
-- now one that finds a claim planned at its revision, on that day, with the same
-- settings, leaves it. Written in the transaction that queues the claim's mail.
CREATE TABLE claim_plans (
    claim_id INTEGER PRIMARY KEY REFERENCES claims(id),
    revision INTEGER NOT NULL,
    day      TEXT NOT NULL,
    settings TEXT NOT NULL
);
