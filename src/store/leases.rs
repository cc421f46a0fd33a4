//! The leases table: which instance holds what, for how long. Several instances on one
//! ledger (PostgreSQL) each renew their own lease ("instance:<id>") and those of the
//! mailboxes they read; a lease not renewed runs out, and another instance takes over.

use std::sync::OnceLock;

use super::sql::args;
use super::{Store, StoreError};

/// This process's name among instances: host, process id and a random part (a process
/// id is reused after a restart; the random part is not).
pub fn instance_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".into());
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let random = super::sha256_hex(format!("{nanos}/{}", std::process::id()).as_bytes());
        format!("{host}/{}/{}", std::process::id(), &random[..8])
    })
}

/// The process id in an instance's name ([`instance_id`]).
pub fn instance_pid(owner: &str) -> Option<u32> {
    owner.split('/').nth(1)?.parse().ok()
}

/// Whether `owner` was an instance on this host whose process is gone (a crash, a kill,
/// a restart). A live process with that id counts as not gone.
pub fn gone_on_this_host(owner: &str) -> bool {
    let host = instance_id().split('/').next();
    owner != instance_id()
        && owner.split('/').next() == host
        && instance_pid(owner)
            .is_some_and(|pid| !std::path::Path::new("/proc").join(pid.to_string()).exists())
}

/// A lease as it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// "instance:<id>", "imap:<name>", "maildir:<path>".
    pub name: String,
    /// The instance holding it.
    pub owner: String,
    /// Until when, RFC 3339.
    pub until: String,
}

impl Store {
    /// Renews this instance's own lease until `until`: the outbox rows it holds stay
    /// its own while it lives (each source's lease is renewed by its own reader, so a
    /// reader that stopped does not keep its source from the others).
    pub fn heartbeat(&self, owner: &str, until: &str, now: &str) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO leases (name, owner, until, taken_at) VALUES ('instance:' || ?1, ?1, ?2, ?3)
             ON CONFLICT (name) DO UPDATE SET until = excluded.until",
            args![owner, until, now],
        )?;
        Ok(())
    }

    /// Takes or keeps the lease `name` for `owner` until `until`: granted when nobody
    /// holds it, `owner` does, or the holder's ran out by `now`. Returns whether it is
    /// held, and the instance it was taken over from, if another's ran out.
    pub fn take_lease(
        &self,
        name: &str,
        owner: &str,
        until: &str,
        now: &str,
    ) -> Result<(bool, Option<String>), StoreError> {
        let before: Option<String> = self.opt(
            "SELECT owner FROM leases WHERE name = ?1",
            args![name],
            |r| r.get(0),
        )?;
        // One statement decides: of two instances asking at once, one gets it.
        let granted = self.exec(
            "INSERT INTO leases (name, owner, until, taken_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until,
                 taken_at = CASE WHEN leases.owner = excluded.owner THEN leases.taken_at ELSE excluded.taken_at END
             WHERE leases.owner = excluded.owner OR leases.until <= ?4",
            args![name, owner, until, now],
        )? == 1;
        let from = before.filter(|b| granted && b != owner);
        Ok((granted, from))
    }

    /// Gives up every lease of `owner` (a clean stop: others take over at once).
    pub fn release_leases(&self, owner: &str) -> Result<(), StoreError> {
        self.exec("DELETE FROM leases WHERE owner = ?1", args![owner])?;
        Ok(())
    }

    /// Every lease, by name.
    pub fn leases(&self) -> Result<Vec<Lease>, StoreError> {
        self.all(
            "SELECT name, owner, until FROM leases ORDER BY name",
            &[],
            |r| {
                Ok(Lease {
                    name: r.get(0)?,
                    owner: r.get(1)?,
                    until: r.get(2)?,
                })
            },
        )
    }
}
