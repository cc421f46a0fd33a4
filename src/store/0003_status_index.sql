-- Counting messages by status (health, metrics, benchmarks) reads this small index
-- instead of every stored message with its raw bytes.
CREATE INDEX messages_status ON messages(status);
