-- A ticket's id (its reference, SLA-<id>, is what customers see) is the highest id so
-- far plus one, given by the writer under the ledger's write lock, as SQLite numbers a
-- row: no gaps after a rollback, and a batch numbers the tickets it opens without a
-- round trip. The identity is dropped so that nothing takes a number from it any more:
-- an older build, which did, is refused by this version before it could write a ticket
-- under a number already given.
ALTER TABLE tickets ALTER COLUMN id DROP IDENTITY;
