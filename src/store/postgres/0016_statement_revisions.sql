-- A claim's evidence is written many fields in one statement (an INSERT of every field
-- a message gave, or an upsert of the changed ones). Fired once per row, the revision
-- triggers updated the claim's row once per field, each update a new row version:
-- 0.7 ms of the server's time per request mail. Once per statement, they bump each
-- claim the statement touched once. The revision only has to move (see 0013); by how
-- much does not matter. SQLite's triggers stay per row (it has no other kind), and cost
-- it little: its update of a row is in place.
DROP TRIGGER evidence_insert_revision ON evidence;
DROP TRIGGER evidence_update_revision ON evidence;
DROP TRIGGER evidence_delete_revision ON evidence;
DROP TRIGGER claim_messages_insert_revision ON claim_messages;
DROP TRIGGER claim_messages_delete_revision ON claim_messages;

-- One function for every statement trigger below: each names only the transition
-- tables its own operation has (PL/pgSQL plans a statement when it first runs it).
CREATE FUNCTION slaclaim_bump_claims_of_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE claims SET revision = revision + 1
         WHERE id IN (SELECT claim_id FROM new_rows);
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE claims SET revision = revision + 1
         WHERE id IN (SELECT claim_id FROM old_rows);
    ELSE
        UPDATE claims SET revision = revision + 1
         WHERE id IN (SELECT claim_id FROM old_rows UNION SELECT claim_id FROM new_rows);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER evidence_insert_revision AFTER INSERT ON evidence
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION slaclaim_bump_claims_of_rows();
CREATE TRIGGER evidence_update_revision AFTER UPDATE ON evidence
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION slaclaim_bump_claims_of_rows();
CREATE TRIGGER evidence_delete_revision AFTER DELETE ON evidence
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION slaclaim_bump_claims_of_rows();
CREATE TRIGGER claim_messages_insert_revision AFTER INSERT ON claim_messages
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION slaclaim_bump_claims_of_rows();
CREATE TRIGGER claim_messages_delete_revision AFTER DELETE ON claim_messages
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION slaclaim_bump_claims_of_rows();
