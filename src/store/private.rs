//! Files and directories that only the service's user may read: the ledger holds
//! customers' mail, the outbox drafts of it. Created with modes 0700 and 0600 whatever
//! the umask (a umask can only take permissions away from these, never add).

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

/// Creates `dir` and any missing parents with mode 0700; an existing one is left as is.
pub fn create_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Creates `path` empty with mode 0600 if it does not exist. An existing file is not
/// opened at all: for an SQLite database that matters, since closing any descriptor of
/// a file drops every POSIX lock this process holds on it, including those of the open
/// connections of other tasks (and a lost lock can corrupt the database).
pub fn create_empty(path: &Path) -> std::io::Result<()> {
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Writes `path` anew with mode 0600 (a file that existed keeps its mode).
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn created_private_whatever_the_permissions_asked_elsewhere() {
        let root = std::env::temp_dir().join(format!("slaclaim-private-{}", std::process::id()));
        let dir = root.join("a/b");
        create_dir(&dir).unwrap();
        let mode = |p: &Path| {
            std::fs::metadata(p)
                .map(|m| m.permissions().mode() & 0o777)
                .unwrap_or(0)
        };
        assert_eq!(mode(&root.join("a")), 0o700);
        assert_eq!(mode(&dir), 0o700);
        write(&dir.join("f"), b"x").unwrap();
        create_empty(&dir.join("g")).unwrap();
        assert_eq!(mode(&dir.join("f")), 0o600);
        assert_eq!(mode(&dir.join("g")), 0o600);
        let _ = std::fs::remove_dir_all(&root);
    }
}
