//! The lease as one store sees it, the same on every backend: taken when free, kept,
//! shown, handed over. (Two stores on one database are in `postgres.rs`.)

use super::*;

on_both!(a_lone_store_takes_keeps_and_hands_over_the_lease);

async fn a_lone_store_takes_keeps_and_hands_over_the_lease(db: &Fresh) {
    let ttl = Duration::from_secs(60);
    let store = db.open().await;
    assert_eq!(
        store.leader().await.unwrap(),
        None,
        "nobody leads a new store"
    );
    let lease = store
        .acquire_lease("replica-a", ttl)
        .await
        .unwrap()
        .expect("free");
    assert_eq!(lease.holder, "replica-a");
    assert_eq!(lease.term, 1, "a new store's first term");
    assert!(store.renew_lease(&lease, ttl).await.unwrap());
    let leader = store.leader().await.unwrap().expect("a leader");
    assert_eq!(
        (leader.holder.as_str(), leader.term),
        ("replica-a", lease.term)
    );
    store.save(&record(1)).await.unwrap();
    store
        .add_freeze(&crate::freeze::Freeze {
            id: 0,
            scope: crate::freeze::Scope::All,
            by: Person {
                id: "1".into(),
                name: "ann".into(),
            },
            reason: "fenced, and still the leader".into(),
            at_ms: 1,
            until_ms: 2,
            lifted: None,
            holder: None,
        })
        .await
        .unwrap();

    store.release_lease(&lease).await.unwrap();
    assert_eq!(
        store.leader().await.unwrap(),
        None,
        "released: nobody leads"
    );
    let again = store
        .acquire_lease("replica-b", ttl)
        .await
        .unwrap()
        .expect("free");
    if store.shared() {
        // Fencing rests on this: a write under the old term must not pass for the new
        // holder's.
        assert_eq!(again.term, lease.term + 1, "a new holder, a new term");
    } else {
        assert_eq!(again.term, 1, "SQLite has one holder, under one term");
    }
}
