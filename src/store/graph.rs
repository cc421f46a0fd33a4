//! The graph_checks table: Microsoft's record of each claim's incident, as last fetched.

use super::sql::args;

use super::{Store, StoreError};

/// One check's result, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewGraphCheck<'a> {
    /// The claim.
    pub claim_id: i64,
    /// The incident asked for.
    pub incident_id: &'a str,
    /// In this tenant.
    pub tenant_id: &'a str,
    /// found | not_found | denied | throttled | timeout | bad_json | error.
    pub outcome: &'a str,
    /// What went wrong, for a failure.
    pub error: Option<&'a str>,
    /// The serviceHealthIssue JSON, when found.
    pub snapshot: Option<&'a str>,
    /// When to ask again; None: settled.
    pub next_at: Option<&'a str>,
}

/// The newest check of a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphCheck {
    /// The incident asked for.
    pub incident_id: String,
    /// In this tenant.
    pub tenant_id: String,
    /// found | not_found | denied | throttled | timeout | bad_json | error.
    pub outcome: String,
    /// What went wrong.
    pub error: Option<String>,
    /// The last serviceHealthIssue fetched, even when the newest try failed.
    pub snapshot: Option<String>,
    /// When that snapshot was fetched.
    pub fetched_at: Option<String>,
    /// When the newest outcome was had.
    pub checked_at: String,
    /// Failures in a row.
    pub attempts: i64,
    /// When to ask again.
    pub next_at: Option<String>,
}

impl Store {
    /// Records a check: a snapshot replaces the one kept (and is added to the history);
    /// a failure keeps the last snapshot and counts the failures in a row, unless the
    /// claim now names another incident or tenant (the old snapshot is not its record).
    pub fn record_graph_check(&self, c: &NewGraphCheck<'_>, now: &str) -> Result<(), StoreError> {
        let failed = !matches!(c.outcome, "found" | "not_found");
        self.exec(
            "INSERT INTO graph_checks (claim_id, incident_id, tenant_id, outcome, error, snapshot, fetched_at, checked_at, attempts, next_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?11, ?7, ?8, ?9)
             ON CONFLICT (claim_id) DO UPDATE SET
                incident_id = excluded.incident_id, tenant_id = excluded.tenant_id,
                outcome = excluded.outcome, error = excluded.error,
                snapshot = CASE WHEN excluded.outcome = 'not_found' OR excluded.incident_id <> graph_checks.incident_id OR excluded.tenant_id <> graph_checks.tenant_id
                    THEN excluded.snapshot ELSE COALESCE(excluded.snapshot, graph_checks.snapshot) END,
                fetched_at = CASE WHEN excluded.outcome = 'not_found' OR excluded.incident_id <> graph_checks.incident_id OR excluded.tenant_id <> graph_checks.tenant_id
                    THEN excluded.fetched_at ELSE COALESCE(excluded.fetched_at, graph_checks.fetched_at) END,
                checked_at = excluded.checked_at,
                attempts = CASE WHEN ?10 AND excluded.incident_id = graph_checks.incident_id AND excluded.tenant_id = graph_checks.tenant_id
                    THEN graph_checks.attempts + 1 WHEN ?10 THEN 1 ELSE 0 END,
                next_at = excluded.next_at",
            args![
                c.claim_id,
                c.incident_id,
                c.tenant_id,
                c.outcome,
                c.error,
                c.snapshot,
                now,
                i64::from(failed),
                c.next_at,
                failed,
                // Fetched now when there is a snapshot (PostgreSQL cannot type a
                // parameter that is both a value and tested for NULL).
                c.snapshot.map(|_| now)
            ],
        )?;
        if let Some(snapshot) = c.snapshot {
            self.exec(
                "INSERT INTO graph_snapshots (claim_id, fetched_at, snapshot) VALUES (?1, ?2, ?3)",
                args![c.claim_id, now, snapshot],
            )?;
        }
        Ok(())
    }

    /// The newest check of a claim.
    pub fn graph_check(&self, claim: i64) -> Result<Option<GraphCheck>, StoreError> {
        self
            .opt(
                "SELECT incident_id, tenant_id, outcome, error, snapshot, fetched_at, checked_at, attempts, next_at
                 FROM graph_checks WHERE claim_id = ?1",
                args![claim],
                |r| {
                    Ok(GraphCheck {
                        incident_id: r.get(0)?,
                        tenant_id: r.get(1)?,
                        outcome: r.get(2)?,
                        error: r.get(3)?,
                        snapshot: r.get(4)?,
                        fetched_at: r.get(5)?,
                        checked_at: r.get(6)?,
                        attempts: r.get(7)?,
                        next_at: r.get(8)?,
                    })
                },
            )
    }

    /// Open claims with a tenant and an incident that are due a check at `now`: never
    /// checked, asked for another incident or tenant since, or past their `next_at`.
    pub fn claims_due_graph_check(&self, now: &str) -> Result<Vec<i64>, StoreError> {
        self.all("SELECT c.id FROM claims c LEFT JOIN graph_checks g ON g.claim_id = c.id
             WHERE c.tenant_id <> '' AND c.incident_id <> ''
               AND c.status NOT IN ('submitted', 'ineligible', 'withdrawn', 'expired')
               AND (g.claim_id IS NULL OR g.incident_id <> c.incident_id OR g.tenant_id <> c.tenant_id
                    OR (g.next_at IS NOT NULL AND g.next_at <= ?1))
             ORDER BY c.id", args![now], |r| r.get(0))
    }

    /// Checks by outcome, for metrics.
    pub fn graph_outcomes(&self) -> Result<Vec<(String, i64)>, StoreError> {
        self.all(
            "SELECT outcome, COUNT(*) FROM graph_checks GROUP BY outcome ORDER BY outcome",
            &[],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    /// A domain's tenant as last discovered: (tenant, when); the tenant is None when
    /// Microsoft's login did not know the domain.
    pub fn tenant_of_domain(
        &self,
        domain: &str,
    ) -> Result<Option<(Option<String>, String)>, StoreError> {
        self.opt(
            "SELECT tenant_id, fetched_at FROM tenant_domains WHERE domain = ?1",
            args![domain],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    /// Records what discovery said of a domain.
    pub fn set_tenant_of_domain(
        &self,
        domain: &str,
        tenant: Option<&str>,
        now: &str,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO tenant_domains (domain, tenant_id, fetched_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (domain) DO UPDATE SET tenant_id = excluded.tenant_id, fetched_at = excluded.fetched_at",
            args![domain, tenant, now],
        )?;
        Ok(())
    }

    /// Open claims without a tenant whose request came from a customer domain (not a
    /// personal mailbox): (claim, domain).
    pub fn claims_without_tenant(&self) -> Result<Vec<(i64, String)>, StoreError> {
        // The evidence value is JSON text; each backend reads a member its own way.
        let sql = if self.is_postgres() {
            "SELECT c.id, e.value::jsonb ->> 'domain' FROM claims c JOIN evidence e ON e.claim_id = c.id AND e.field = 'customer_domain'
             WHERE c.tenant_id = '' AND c.incident_id <> ''
               AND c.status NOT IN ('submitted', 'ineligible', 'withdrawn', 'expired')
               AND e.value::jsonb ->> 'domain' IS NOT NULL
               AND COALESCE(e.value::jsonb ->> 'personal_mailbox', 'false') IN ('false', '0')
             ORDER BY c.id"
        } else {
            "SELECT c.id, json_extract(e.value, '$.domain') FROM claims c JOIN evidence e ON e.claim_id = c.id AND e.field = 'customer_domain'
             WHERE c.tenant_id = '' AND c.incident_id <> ''
               AND c.status NOT IN ('submitted', 'ineligible', 'withdrawn', 'expired')
               AND json_extract(e.value, '$.domain') IS NOT NULL
               AND COALESCE(json_extract(e.value, '$.personal_mailbox'), 0) = 0
             ORDER BY c.id"
        };
        self.all(sql, &[], |r| Ok((r.get(0)?, r.get(1)?)))
    }
}
