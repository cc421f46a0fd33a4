-- Microsoft's own record of each claim's incident (Graph service health), kept because
-- Microsoft's history is short: the newest check per claim, and every snapshot fetched.
CREATE TABLE graph_checks (
    claim_id    INTEGER PRIMARY KEY REFERENCES claims(id),
    incident_id TEXT NOT NULL,              -- what was asked, in which tenant
    tenant_id   TEXT NOT NULL,
    outcome     TEXT NOT NULL,              -- found | not_found | denied | throttled | timeout | bad_json | error
    error       TEXT,                       -- what went wrong; NULL when found or not found
    snapshot    TEXT,                       -- the last serviceHealthIssue fetched (JSON)
    fetched_at  TEXT,                       -- when that snapshot was fetched
    checked_at  TEXT NOT NULL,              -- when this outcome was had
    attempts    INTEGER NOT NULL DEFAULT 0, -- failures in a row, for the backoff
    next_at     TEXT                        -- when to ask again; NULL: settled (resolved)
);
CREATE INDEX graph_checks_next ON graph_checks(next_at);

CREATE TABLE graph_snapshots (
    id          INTEGER PRIMARY KEY,
    claim_id    INTEGER NOT NULL REFERENCES claims(id),
    fetched_at  TEXT NOT NULL,
    snapshot    TEXT NOT NULL
);

-- A changed check is news for the claim's draft.
CREATE TRIGGER graph_checks_insert_revision AFTER INSERT ON graph_checks
BEGIN
    UPDATE claims SET revision = revision + 1 WHERE id = NEW.claim_id;
END;
CREATE TRIGGER graph_checks_update_revision AFTER UPDATE OF outcome, snapshot ON graph_checks
BEGIN
    UPDATE claims SET revision = revision + 1 WHERE id = NEW.claim_id;
END;

-- A customer domain's tenant, from Microsoft's OpenID discovery (no sign-in needed):
-- for a claim that names a domain but no tenant GUID.
CREATE TABLE tenant_domains (
    domain      TEXT PRIMARY KEY,
    tenant_id   TEXT,                       -- NULL: Microsoft's login does not know it
    fetched_at  TEXT NOT NULL
);
