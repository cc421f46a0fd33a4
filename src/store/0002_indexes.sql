-- Lookups made for every ingested message.
CREATE INDEX claims_key ON claims(tenant_id, incident_id);
CREATE INDEX claims_ticket ON claims(ticket_id);
CREATE INDEX messages_ticket ON messages(ticket_id);
CREATE INDEX evidence_message ON evidence(message_id);
