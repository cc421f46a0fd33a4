-- Each recipient's outcome for an outgoing message. A recipient of outbox.recipients
-- without a row here is still owed the message (never tried, or refused for now with a
-- 4xx) and is the only kind an attempt sends to. 'unconfirmed': the message's last byte
-- went out to the server for this recipient and no answer came (a crash, a dropped
-- connection, the final-reply wait ran out): the server may have it, so it is never
-- sent again by itself, only on purpose (`slaclaim outbox resend`).
CREATE TABLE outbox_delivery (
    outbox_id  INTEGER NOT NULL REFERENCES outbox(id),
    recipient  TEXT NOT NULL,
    status     TEXT NOT NULL,       -- accepted | refused | unconfirmed
    reply      TEXT,                -- the server's words, for refused
    at         TEXT NOT NULL,       -- RFC 3339 UTC
    PRIMARY KEY (outbox_id, recipient)
);
CREATE INDEX outbox_delivery_status ON outbox_delivery(status);
