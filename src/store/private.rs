//! The state file is its owner's alone (mode 0600): it holds the webhook's secret,
//! who approved what, and the deploy logs' excerpts.
//!
//! SQLite would create the file 0644 under the usual umask, so it is created here
//! first, owner-only; SQLite then gives the `-wal` and `-shm` files beside it the same
//! mode as the file itself. A file an earlier releasebot made readable by others is
//! tightened, and the log says so once.

use std::path::{Path, PathBuf};

/// Creates the file at `path` owner-only if it does not exist, and takes group and
/// other permissions off it and its `-wal` and `-shm` files if it does. Anything that
/// fails here fails again, and is told, when SQLite opens the file.
#[cfg(unix)]
pub(super) fn make_private(path: &Path) {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    if path.as_os_str().is_empty() || path.as_os_str() == ":memory:" {
        return;
    }
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .is_ok();
    if created {
        return;
    }
    let mut tightened = Vec::new();
    for file in with_companions(path) {
        let Ok(meta) = std::fs::metadata(&file) else {
            continue;
        };
        let mode = meta.permissions().mode();
        if mode & 0o077 == 0 {
            continue;
        }
        let private = std::fs::Permissions::from_mode(mode & 0o700);
        match std::fs::set_permissions(&file, private) {
            Ok(()) => tightened.push(format!("{:o}", mode & 0o777)),
            Err(e) => tracing::warn!(
                path = %file.display(),
                error = %e,
                "the state file is readable by other users and cannot be made private"
            ),
        }
    }
    if !tightened.is_empty() {
        tracing::warn!(
            path = %path.display(),
            was = %tightened.join(", "),
            "the state file was readable by other users; it is now its owner's alone (0600)"
        );
    }
}

#[cfg(not(unix))]
pub(super) fn make_private(_path: &Path) {}

/// The file and the `-wal` and `-shm` files SQLite keeps beside it.
fn with_companions(path: &Path) -> [PathBuf; 3] {
    let named = |suffix: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    [path.to_path_buf(), named("-wal"), named("-shm")]
}
