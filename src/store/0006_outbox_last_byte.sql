-- When the last byte of a message (the "." ending DATA) was about to go out. Set before
-- that write, cleared when the outcome is known: a pending row that still has it was cut
-- off by a crash after the server got the whole message, and counts as sent.
ALTER TABLE outbox ADD COLUMN last_byte_at TEXT;
