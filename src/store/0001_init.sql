-- slaclaim store, version 1.
CREATE TABLE messages (
    id            INTEGER PRIMARY KEY,
    source        TEXT NOT NULL,              -- "file", "maildir", "imap"
    source_key    TEXT UNIQUE,                -- path, Maildir name, or mailbox/UIDVALIDITY/UID
    message_id    TEXT,                       -- Message-ID without brackets
    sha256        TEXT NOT NULL,              -- of the raw bytes
    raw           BLOB NOT NULL,              -- evidence: attached to drafts later
    received_at   TEXT NOT NULL,              -- RFC 3339 UTC, when slaclaim stored it
    sent_at       TEXT,                       -- the Date header, RFC 3339
    sender        TEXT,
    sender_domain TEXT,
    subject       TEXT,
    kind          TEXT,
    extraction    TEXT,                       -- JSON of the extraction
    status        TEXT NOT NULL,              -- processed | quarantined
    error         TEXT,                       -- why it was quarantined
    ticket_id     INTEGER REFERENCES tickets(id)
);
CREATE UNIQUE INDEX messages_identity ON messages(COALESCE(message_id, ''), sha256);
CREATE INDEX messages_message_id ON messages(message_id);

CREATE TABLE tickets (
    id            INTEGER PRIMARY KEY,
    reference     TEXT NOT NULL UNIQUE,       -- "SLA-42"
    sender_domain TEXT,
    created_at    TEXT NOT NULL
);

-- External references a ticket is known by: partner ticket numbers, Microsoft cases.
CREATE TABLE ticket_refs (
    ticket_id     INTEGER NOT NULL REFERENCES tickets(id),
    reference     TEXT NOT NULL,
    PRIMARY KEY (ticket_id, reference)
);
CREATE INDEX ticket_refs_reference ON ticket_refs(reference);

CREATE TABLE claims (
    id            INTEGER PRIMARY KEY,
    ticket_id     INTEGER NOT NULL REFERENCES tickets(id),
    tenant_id     TEXT NOT NULL,              -- "" until known
    incident_id   TEXT NOT NULL,
    status        TEXT NOT NULL,
    incident_start TEXT,                      -- RFC 3339 UTC
    start_assumed INTEGER NOT NULL DEFAULT 0, -- 1: first request's date stood in
    deadline      TEXT,                       -- YYYY-MM-DD
    submit_by     TEXT,
    case_number   TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    UNIQUE (ticket_id, tenant_id, incident_id)
);

-- One row per checklist field: the current value and the message it came from.
CREATE TABLE evidence (
    claim_id      INTEGER NOT NULL REFERENCES claims(id),
    field         TEXT NOT NULL,
    value         TEXT NOT NULL,              -- JSON
    message_id    INTEGER NOT NULL REFERENCES messages(id),
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (claim_id, field)
);

CREATE TABLE claim_messages (
    claim_id      INTEGER NOT NULL REFERENCES claims(id),
    message_id    INTEGER NOT NULL REFERENCES messages(id),
    PRIMARY KEY (claim_id, message_id)
);

CREATE TABLE transitions (
    id            INTEGER PRIMARY KEY,
    claim_id      INTEGER NOT NULL REFERENCES claims(id),
    at            TEXT NOT NULL,
    from_status   TEXT,
    to_status     TEXT NOT NULL,
    reason        TEXT NOT NULL
);

-- Everything slaclaim sends, written before it is sent (drafts, reminders).
CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY,
    claim_id      INTEGER REFERENCES claims(id),
    purpose       TEXT NOT NULL,
    version       INTEGER NOT NULL,
    message_id    TEXT NOT NULL UNIQUE,
    raw           BLOB NOT NULL,
    status        TEXT NOT NULL,              -- pending | sent | failed
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    created_at    TEXT NOT NULL,
    sent_at       TEXT
);

-- Where each mailbox folder was read up to.
CREATE TABLE mailbox_state (
    mailbox       TEXT NOT NULL,
    folder        TEXT NOT NULL,
    uidvalidity   INTEGER NOT NULL,
    last_uid      INTEGER NOT NULL,
    PRIMARY KEY (mailbox, folder)
);
