//! What only PostgreSQL has: replicas sharing one database, the lease passing between
//! them and fencing the one that lost it, migrations shared by replicas, and a server
//! that cannot be reached. Each test is skipped (and passes) without a server.

use std::time::Instant;

use super::*;

/// A short lease, so taking over after it expires costs a fraction of a second.
const SHORT: Duration = Duration::from_millis(300);
const LONG: Duration = Duration::from_secs(60);

/// Takes the lease for `holder` as soon as it is free, within two seconds.
async fn take_over(store: &Store, holder: &str) -> Lease {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        if let Some(lease) = store.acquire_lease(holder, LONG).await.unwrap() {
            return lease;
        }
        assert!(Instant::now() < deadline, "the lease never came free");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn freeze() -> crate::freeze::Freeze {
    crate::freeze::Freeze {
        id: 0,
        scope: crate::freeze::Scope::All,
        by: Person {
            id: "3".into(),
            name: "carol".into(),
        },
        reason: "incident".into(),
        at_ms: 100,
        until_ms: 1000,
        lifted: None,
        holder: None,
    }
}

#[tokio::test]
async fn while_one_store_leads_another_cannot() {
    let Some(db) = Fresh::postgres() else { return };
    let (a, b) = (db.open().await, db.open().await);
    let lease = a.acquire_lease("a", LONG).await.unwrap().expect("free");
    assert_eq!(lease.term, 1);
    assert_eq!(b.acquire_lease("b", LONG).await.unwrap(), None);
    assert_eq!(
        a.acquire_lease("a", LONG).await.unwrap(),
        None,
        "held: renewed, not retaken"
    );
    let leader = b.leader().await.unwrap().expect("a leads");
    assert_eq!((leader.holder.as_str(), leader.term), ("a", 1));
    assert_eq!(leader.expires_at_ms, lease.expires_at_ms);
    assert!(a.renew_lease(&lease, LONG).await.unwrap());
    assert_eq!(
        b.acquire_lease("b", LONG).await.unwrap(),
        None,
        "renewed: still a's"
    );
}

#[tokio::test]
async fn after_the_ttl_another_takes_over_and_the_first_is_deposed() {
    let Some(db) = Fresh::postgres() else { return };
    let (a, b) = (db.open().await, db.open().await);
    let first = a.acquire_lease("a", SHORT).await.unwrap().expect("free");
    let kept = record(1);
    a.save(&kept).await.unwrap();
    let web = crate::freeze::Scope::App(AppName::parse("web").unwrap());
    a.add_freeze(&crate::freeze::Freeze {
        scope: web.clone(),
        ..freeze()
    })
    .await
    .unwrap();

    let second = take_over(&b, "b").await;
    assert!(second.term > first.term, "{second:?} after {first:?}");
    assert!(!a.renew_lease(&first, LONG).await.unwrap(), "a lost it");

    let mut changed = kept.clone();
    changed.state = JobState::Succeeded;
    changed.audit(3000, Some("a"), AuditAction::Approve, "too late");
    let deposed = StoreError::Deposed { term: first.term };
    assert_eq!(a.save(&changed).await, Err(deposed.clone()));
    assert_eq!(a.save(&record(2)).await, Err(deposed.clone()));
    assert_eq!(a.add_freeze(&freeze()).await, Err(deposed.clone()));
    let carol = freeze().by;
    assert_eq!(
        a.lift_freezes(&web, false, &carol, 200).await,
        Err(deposed.clone())
    );
    assert_eq!(a.meta("new", || "value".into()).await, Err(deposed.clone()));

    assert_eq!(
        b.load(JobId(1)).await.unwrap(),
        Some(kept),
        "the row is unchanged"
    );
    assert_eq!(b.load(JobId(2)).await.unwrap(), None);
    assert_eq!(
        b.holding_freezes(200).await.unwrap().len(),
        1,
        "nothing lifted"
    );
    assert_eq!(
        a.load(JobId(1)).await.unwrap(),
        Some(record(1)),
        "a still reads"
    );
    b.save(&changed).await.unwrap();
    assert_eq!(b.load(JobId(1)).await.unwrap(), Some(changed));
    assert_eq!(b.meta("new", || "b's".into()).await.unwrap(), "b's");
}

#[tokio::test]
async fn a_lease_that_lapsed_unnoticed_is_taken_again_by_its_holder_only() {
    let Some(db) = Fresh::postgres() else { return };
    let (a, b) = (db.open().await, db.open().await);
    let first = a.acquire_lease("a", SHORT).await.unwrap().expect("free");
    tokio::time::sleep(SHORT + Duration::from_millis(100)).await;
    // Expired while a could not renew, and nobody took it: a write waits, not deposed.
    assert_eq!(
        a.save(&record(1)).await,
        Err(StoreError::Lapsed { term: first.term })
    );
    assert!(StoreError::Lapsed { term: first.term }.is_outage());
    assert!(!a.renew_lease(&first, LONG).await.unwrap());
    let again = a
        .retake_lease(&first, LONG)
        .await
        .unwrap()
        .expect("nobody took it");
    assert_eq!((again.holder.as_str(), again.term), ("a", first.term + 1));
    a.save(&record(1)).await.unwrap();
    assert_eq!(b.acquire_lease("b", LONG).await.unwrap(), None, "a leads");
    assert_eq!(
        a.retake_lease(&first, LONG).await.unwrap(),
        None,
        "an older term is not taken again"
    );

    // Once another replica has taken it, its old holder cannot.
    let (c, d) = (db.open().await, db.open().await);
    a.release_lease(&again).await.unwrap();
    let taken = c.acquire_lease("c", SHORT).await.unwrap().expect("free");
    tokio::time::sleep(SHORT + Duration::from_millis(100)).await;
    let by_d = take_over(&d, "d").await;
    assert_eq!(c.retake_lease(&taken, LONG).await.unwrap(), None);
    assert_eq!(
        c.save(&record(2)).await,
        Err(StoreError::Deposed { term: taken.term })
    );
    assert_eq!(b.leader().await.unwrap(), Some(by_d));
}

#[tokio::test]
async fn a_released_lease_is_taken_over_at_once() {
    let Some(db) = Fresh::postgres() else { return };
    let (a, b) = (db.open().await, db.open().await);
    let first = a.acquire_lease("a", LONG).await.unwrap().expect("free");
    a.release_lease(&first).await.unwrap();
    let second = b
        .acquire_lease("b", LONG)
        .await
        .unwrap()
        .expect("released: free at once");
    assert_eq!(second.term, first.term + 1);
    assert_eq!(
        a.save(&record(1)).await,
        Err(StoreError::Deposed { term: first.term })
    );
    a.release_lease(&first).await.unwrap();
    assert_eq!(
        b.leader().await.unwrap().map(|l| l.holder),
        Some("b".into()),
        "releasing a lost lease leaves the new one alone"
    );
}

#[tokio::test]
async fn a_job_saved_by_one_store_is_loaded_identically_by_another() {
    let Some(db) = Fresh::postgres() else { return };
    let (a, b) = (db.open().await, db.open().await);
    let r = record(5);
    a.save(&r).await.unwrap();
    assert_eq!(b.load(JobId(5)).await.unwrap(), Some(r.clone()));

    // b carries the job on, then a again: a's own count of the audit entries it wrote
    // is behind, and the trail still comes out whole, each entry once.
    let mut r2 = b.load(JobId(5)).await.unwrap().unwrap();
    r2.audit(1600, Some("carol"), AuditAction::Approve, "approved");
    r2.approval.as_mut().unwrap().approve(
        &Actor::new("u3", "carol", vec!["lead".into()]),
        1600,
        Via::Button,
    );
    b.save(&r2).await.unwrap();
    let mut r3 = a.load(JobId(5)).await.unwrap().unwrap();
    assert_eq!(r3, r2);
    r3.audit(1700, None, AuditAction::Vote, "one more");
    a.save(&r3).await.unwrap();
    let loaded = b.load(JobId(5)).await.unwrap().unwrap();
    assert_eq!(loaded, r3);
    assert_eq!(loaded.audit.len(), r.audit.len() + 2, "each entry once");
    assert_eq!(b.next_job_id().await.unwrap(), 6);
    assert_eq!(b.unfinished().await.unwrap(), [r3]);
}

#[tokio::test]
async fn a_newer_schema_is_refused() {
    let Some(db) = Fresh::postgres() else { return };
    drop(db.open().await);
    let Fresh::Postgres(pg) = &db else {
        unreachable!("a PostgreSQL database")
    };
    pg.execute("UPDATE meta SET value = '99' WHERE key = 'schema'");
    let e = Store::open(&db.location()).await.unwrap_err();
    assert!(matches!(e, StoreError::Newer { version: 99, .. }), "{e}");
}

#[tokio::test]
async fn a_database_of_another_program_is_refused_and_left_alone() {
    let Some(db) = Fresh::postgres() else { return };
    let Fresh::Postgres(pg) = &db else {
        unreachable!("a PostgreSQL database")
    };
    pg.execute("CREATE TABLE jobs (title TEXT); INSERT INTO jobs VALUES ('keep me')");
    let e = Store::open(&db.location()).await.unwrap_err();
    assert!(matches!(e, StoreError::Damaged { .. }), "{e}");
    pg.execute("DO $$ BEGIN PERFORM 1 FROM jobs WHERE title = 'keep me'; IF NOT FOUND THEN RAISE 'gone'; END IF; END $$");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_starting_together_migrate_once() {
    let Some(db) = Fresh::postgres() else { return };
    let location = db.location();
    let opened: Vec<_> = (0..3)
        .map(|_| {
            let location = location.clone();
            tokio::spawn(async move { Store::open(&location).await.map(|_| ()) })
        })
        .collect();
    for o in opened {
        o.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn an_unreachable_server_is_told_without_its_password() {
    let url = std::path::Path::new("postgres://bot:s3cret@127.0.0.1:1/releasebot");
    let e = Store::open(url).await.unwrap_err();
    assert!(matches!(e, StoreError::Unreachable { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("cannot reach the database postgres://bot@127.0.0.1:1/releasebot ("),
        "{e}"
    );
    assert!(!format!("{e} {e:?}").contains("s3cret"), "{e:?}");

    let tls = std::path::Path::new("postgres://bot:s3cret@127.0.0.1:1/rb?sslmode=require");
    let e = Store::open(tls).await.unwrap_err();
    assert!(matches!(e, StoreError::Unreachable { .. }), "{e}");
    assert!(!format!("{e} {e:?}").contains("s3cret"), "{e:?}");
}

#[tokio::test]
async fn a_password_holding_url_characters_is_never_told() {
    use crate::config::Database;
    use crate::secret::Secret;
    for (url, secret) in [
        ("postgres://bot:pa/ss-store1@127.0.0.1:1/rb", "pa/ss-store1"),
        ("postgres://bot:pa?ss-store2@127.0.0.1:1/rb", "pa?ss-store2"),
        ("postgres://bot:p@ss-store3@127.0.0.1:1/rb", "p@ss-store3"),
        ("postgres://bot:pa#ss-store4@127.0.0.1:1/rb", "pa#ss-store4"),
        ("postgres://bot:pa%2Fss-store5@127.0.0.1:1/rb", "ss-store5"),
        (
            "postgres://bot@127.0.0.1:1/rb?password=pa/ss-store6",
            "ss-store6",
        ),
    ] {
        for e in [
            Store::open(std::path::Path::new(url)).await.unwrap_err(),
            Store::inspect(std::path::Path::new(url)).await.unwrap_err(),
        ] {
            assert!(matches!(e, StoreError::Unreachable { .. }), "{e}");
            assert!(
                e.to_string().contains("postgres://bot@127.0.0.1:1/rb"),
                "{e}"
            );
            let told = format!("{e} {e:?}");
            assert!(!told.contains(secret), "{url}: {told}");
            assert!(!told.contains("ss-store"), "{url}: {told}");
        }
    }
    // From RELEASEBOT_DB_PASSWORD, the URL holding none.
    let db = Database::from_env(
        "postgres://bot@127.0.0.1:1/rb",
        Some(Secret::new("pa/ss-store7")),
        None,
    );
    let e = Store::open_at(&db).await.unwrap_err();
    assert!(matches!(e, StoreError::Unreachable { .. }), "{e}");
    assert!(!format!("{e} {e:?} {db:?}").contains("store7"), "{e:?}");
    // Two different passwords: refused before connecting, naming neither.
    let db = Database::from_env(
        "postgres://bot:old-store8@127.0.0.1:1/rb",
        Some(Secret::new("new-store8")),
        None,
    );
    let e = Store::open_at(&db).await.unwrap_err();
    assert!(matches!(e, StoreError::CannotOpen { .. }), "{e}");
    assert!(e.to_string().contains("RELEASEBOT_DB_PASSWORD"), "{e}");
    assert!(!format!("{e} {e:?}").contains("store8"), "{e:?}");
    // A URL that cannot be read is named by a placeholder.
    let e = Store::open(std::path::Path::new("postgres://bot:s3cret-store9@[db]/rb"))
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "cannot open the state file postgres://[unreadable] (not a usable PostgreSQL URL: its host 1 is neither a host name nor an IP address in brackets)"
    );
}

#[tokio::test]
async fn the_password_reaches_the_server_from_the_variable_or_a_passfile() {
    let Some(db) = Fresh::postgres() else { return };
    let url = db.location().display().to_string();
    // The test server trusts its clients, so any password is taken: what is checked is
    // that a store given its password these ways opens and works.
    let with_variable = crate::config::Database::from_env(
        &url,
        Some(crate::secret::Secret::new("variable-store10")),
        None,
    );
    let store = Store::open_at(&with_variable).await.unwrap();
    store.save(&record(1)).await.unwrap();
    store.close();
    let passfile = std::env::temp_dir().join(format!(
        "releasebot-pgpass-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::write(&passfile, "*:*:*:*:passfile-store10\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&passfile, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let with_passfile = crate::config::Database::from_env(&url, None, Some(passfile.clone()));
    let store = Store::open_at(&with_passfile).await.unwrap();
    assert_eq!(store.load(JobId(1)).await.unwrap(), Some(record(1)));
    store.close();
    let _ = std::fs::remove_file(&passfile);
}

#[tokio::test]
async fn a_closed_store_says_so() {
    let Some(db) = Fresh::postgres() else { return };
    let store = db.open().await;
    store.close();
    let e = store.load(JobId(1)).await.unwrap_err();
    assert!(matches!(e, StoreError::Closed { .. }), "{e}");
}

/// The store is called from tokio tasks; its calls must not need (or stall) the
/// caller's runtime, even one whose clock is paused.
#[tokio::test(start_paused = true)]
async fn the_store_answers_inside_a_paused_current_thread_runtime() {
    let Some(db) = Fresh::postgres() else { return };
    let store = db.open().await;
    store.save(&record(8)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(store.load(JobId(8)).await.unwrap(), Some(record(8)));
    let lease = store
        .acquire_lease("a", SHORT)
        .await
        .unwrap()
        .expect("free");
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert!(
        store.renew_lease(&lease, SHORT).await.unwrap(),
        "the paused clock is not the database's"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_answers_inside_a_multi_thread_runtime() {
    let Some(db) = Fresh::postgres() else { return };
    let store = std::sync::Arc::new(db.open().await);
    let tasks: Vec<_> = (1..=4)
        .map(|id| {
            let store = store.clone();
            tokio::spawn(async move { store.save(&record(id)).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(store.next_job_id().await.unwrap(), 5);
}
