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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::NewMail;

    #[test]
    fn a_lease_is_held_while_renewed_and_taken_over_once_it_runs_out() {
        let store = Store::open_in_memory().unwrap();
        let t = |s: u32| format!("2026-12-06T10:00:{s:02}.000Z");
        assert_eq!(
            store
                .take_lease("imap:support", "a", &t(30), &t(0))
                .unwrap(),
            (true, None)
        );
        // b is refused while a's lease runs; a keeps it and renews it.
        assert_eq!(
            store
                .take_lease("imap:support", "b", &t(40), &t(10))
                .unwrap(),
            (false, None)
        );
        assert_eq!(
            store
                .take_lease("imap:support", "a", &t(40), &t(10))
                .unwrap(),
            (true, None)
        );
        // The instance heartbeat is not the source's: only its reader renews that.
        store.heartbeat("a", &t(59), &t(20)).unwrap();
        assert_eq!(
            store
                .take_lease("imap:support", "a", &t(50), &t(20))
                .unwrap(),
            (true, None)
        );
        assert_eq!(
            store
                .take_lease("imap:support", "b", &t(59), &t(45))
                .unwrap(),
            (false, None)
        );
        // a stops renewing: after its lease runs out b takes over, and says from whom.
        assert_eq!(
            store
                .take_lease("imap:support", "b", &t(59), &t(50))
                .unwrap(),
            (true, Some("a".to_string()))
        );
        let held: Vec<(String, String)> = store
            .leases()
            .unwrap()
            .into_iter()
            .map(|l| (l.name, l.owner))
            .collect();
        assert!(
            held.contains(&("imap:support".into(), "b".into())),
            "{held:?}"
        );
        store.release_leases("b").unwrap();
        assert_eq!(
            store
                .take_lease("imap:support", "c", &t(59), &t(51))
                .unwrap(),
            (true, None)
        );
    }

    #[test]
    fn an_outbox_row_is_taken_by_one_live_instance_at_a_time() {
        let store = Store::open_in_memory().unwrap();
        let t = |s: u32| format!("2026-12-06T10:00:{s:02}.000Z");
        let to = ["helpdesk@partner.example".to_string()];
        let mail = NewMail {
            claim_id: None,
            purpose: "digest",
            version: 1,
            message_id: "d1@partner.example",
            recipients: &to,
            raw: b"Subject: x\r\n\r\nx\r\n",
            fingerprint: None,
            summary: None,
        };
        assert!(store.enqueue_mail(&mail, &t(0)).unwrap());
        let id = store.due_mail(&t(1), 10).unwrap()[0].id;
        store.heartbeat("a", &t(30), &t(1)).unwrap();
        assert!(store.take_mail(id, "a", &t(1)).unwrap());
        // b sees it due but a is alive and holds it.
        assert!(!store.take_mail(id, "b", &t(2)).unwrap());
        // a dies (no heartbeat after 30): b may try it.
        assert!(store.take_mail(id, "b", &t(31)).unwrap());
        store.mail_sent(id, &t(32)).unwrap();
        // Sent is sent, for anyone.
        assert!(!store.take_mail(id, "a", &t(33)).unwrap());
        assert!(!store.take_mail(id, "b", &t(33)).unwrap());
    }
}
