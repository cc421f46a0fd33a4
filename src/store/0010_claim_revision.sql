-- A counter that moves whenever anything a claim's mail is made from changes: its row,
-- its ticket, its evidence, its messages. The scheduler re-reads and re-renders only the
-- claims whose counter (or the date) moved since its last pass, instead of every open
-- claim for every new mail. Triggers, so that no write path can forget it.
ALTER TABLE claims ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER claims_revision AFTER UPDATE OF ticket_id, tenant_id, incident_id, status,
    incident_start, start_assumed, deadline, submit_by, case_number ON claims
BEGIN
    UPDATE claims SET revision = revision + 1 WHERE id = NEW.id;
END;

CREATE TRIGGER tickets_revision AFTER UPDATE ON tickets
BEGIN
    UPDATE claims SET revision = revision + 1 WHERE ticket_id = NEW.id;
END;

CREATE TRIGGER evidence_insert_revision AFTER INSERT ON evidence
BEGIN
    UPDATE claims SET revision = revision + 1 WHERE id = NEW.claim_id;
END;

CREATE TRIGGER evidence_update_revision AFTER UPDATE ON evidence
BEGIN
    UPDATE claims SET revision = revision + 1 WHERE id IN (OLD.claim_id, NEW.claim_id);
END;

CREATE TRIGGER evidence_delete_revision AFTER DELETE ON evidence
BEGIN
    UPDATE claims SET revision = revision + 1 WHERE id = OLD.claim_id;
END;

CREATE TRIGGER claim_messages_insert_revision AFTER INSERT ON claim_messages
BEGIN
    UPDATE claims SET revision = revision + 1 WHERE id = NEW.claim_id;
END;

CREATE TRIGGER claim_messages_delete_revision AFTER DELETE ON claim_messages
BEGIN
    UPDATE claims SET revision = revision + 1 WHERE id = OLD.claim_id;
END;
