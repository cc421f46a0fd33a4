-- Several instances on one ledger: who holds what, until when (as SQLite 0014).
-- An outbox row is taken by one instance for one attempt: lease_owner is set in the same
-- statement that counts the attempt, and cleared when it settles. The hold lasts while
-- that instance's own lease ("instance:<owner>") is renewed by its heartbeat.
ALTER TABLE outbox ADD COLUMN lease_owner TEXT;
-- A message in custody is processed by the instance that took it in (the mailbox's
-- reader), or by any once that instance's lease ran out.
ALTER TABLE inbox ADD COLUMN lease_owner TEXT;
-- Named leases with a heartbeat: each instance's, and each mailbox's (read by one
-- instance at a time).
CREATE TABLE leases (
    name     TEXT PRIMARY KEY,   -- "instance:<owner>", "imap:<name>", "maildir:<path>"
    owner    TEXT NOT NULL,      -- the instance (host, process, random)
    until    TEXT NOT NULL,      -- RFC 3339 UTC, to the millisecond
    taken_at TEXT NOT NULL       -- when this owner took it
);
