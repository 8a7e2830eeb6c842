//! What only the SQLite file has: its lock, its refusal of a file that is not its own,
//! and its schema version in the file's header.

use super::*;

#[tokio::test]
async fn an_in_memory_store_keeps_a_job() {
    let store = Store::open_in_memory().await.unwrap();
    store.save(&record(7)).await.unwrap();
    assert_eq!(store.load(JobId(7)).await.unwrap(), Some(record(7)));
}

#[tokio::test]
async fn a_second_releasebot_on_the_same_file_is_refused() {
    let path = temp_path("locked");
    let first = Store::open(&path).await.unwrap();
    let second = Store::open(&path).await.unwrap_err();
    assert!(matches!(second, StoreError::Locked { .. }), "{second}");
    drop(first);
    assert!(
        Store::open(&path).await.is_ok(),
        "the lock goes with the first process"
    );
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

#[tokio::test]
async fn a_damaged_or_foreign_file_is_refused_not_replaced() {
    let path = temp_path("corrupt");
    std::fs::write(
        &path,
        b"this is not an SQLite database, it is a text file that someone left here",
    )
    .unwrap();
    let e = Store::open(&path).await.unwrap_err();
    assert!(matches!(e, StoreError::Damaged { .. }), "{e}");
    assert!(
        std::fs::read(&path).unwrap().starts_with(b"this is not"),
        "the file was left alone"
    );
    let _ = std::fs::remove_file(&path);

    let e = Store::open(std::path::Path::new("/nonexistent-dir/releasebot.db"))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::CannotOpen { .. }), "{e}");
}

#[tokio::test]
async fn a_newer_schema_is_refused() {
    let path = temp_path("newer");
    {
        use sqlx::{ConnectOptions, Connection};
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .connect()
            .await
            .unwrap();
        sqlx::query("PRAGMA user_version = 99")
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    }
    let e = Store::open(&path).await.unwrap_err();
    assert!(matches!(e, StoreError::Newer { version: 99, .. }), "{e}");
    let _ = std::fs::remove_file(&path);
}

#[cfg(unix)]
fn mode(path: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    format!(
        "{:o}",
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    )
}

/// The file and whichever of its `-wal` and `-shm` files exist.
#[cfg(unix)]
fn state_files(path: &std::path::Path) -> Vec<String> {
    ["", "-wal", "-shm"]
        .iter()
        .map(|suffix| format!("{}{suffix}", path.display()))
        .filter(|p| std::path::Path::new(p).exists())
        .collect()
}

#[cfg(unix)]
#[tokio::test]
async fn the_state_file_and_its_wal_are_the_owners_alone() {
    let path = temp_path("private");
    let store = Store::open(&path).await.unwrap();
    store.save(&record(1)).await.unwrap();
    let files = state_files(&path);
    assert!(files.len() >= 2, "the file and its WAL: {files:?}");
    for file in &files {
        assert_eq!(mode(file), "600", "{file}");
    }
    drop(store);
    for file in files {
        let _ = std::fs::remove_file(file);
    }
}

#[cfg(unix)]
#[tokio::test]
async fn a_state_file_readable_by_others_is_made_private() {
    use std::os::unix::fs::PermissionsExt;
    let path = temp_path("readable");
    let store = Store::open(&path).await.unwrap();
    store.save(&record(1)).await.unwrap();
    let files = state_files(&path);
    for file in &files {
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let store = {
        drop(store);
        Store::open(&path).await.unwrap()
    };
    assert_eq!(store.load(JobId(1)).await.unwrap(), Some(record(1)));
    for file in state_files(&path) {
        assert_eq!(mode(&file), "600", "{file}");
        let _ = std::fs::remove_file(file);
    }
}
