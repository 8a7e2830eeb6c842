//! The wait between polls: when a poke, a nudge and a back-off let the next poll come.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use super::{Observed, Slot, nudge_floor, wait};

fn slot() -> (Arc<Slot<u32>>, watch::Receiver<Observed<u32>>) {
    let (tx, rx) = watch::channel(Observed::Pending);
    let slot = Arc::new(Slot {
        tx,
        poke: Notify::new(),
        nudge: Notify::new(),
        readings: AtomicU64::new(0),
        read_at: std::sync::Mutex::new(None),
    });
    (slot, rx)
}

const SECOND: Duration = Duration::from_secs(1);

/// How long `wait` took, with `during` run alongside it from the start.
async fn waited(
    slot: &Arc<Slot<u32>>,
    due: Duration,
    floor: Option<Duration>,
    during: impl std::future::Future<Output = ()>,
) -> Duration {
    let start = Instant::now();
    let (_, ()) = tokio::join!(wait(slot, start + due, floor.map(|f| start + f)), during);
    start.elapsed()
}

#[test]
fn the_floor_is_a_fifth_of_the_interval_between_one_and_five_seconds() {
    assert_eq!(nudge_floor(Duration::from_millis(100)), SECOND);
    assert_eq!(nudge_floor(5 * SECOND), SECOND);
    assert_eq!(nudge_floor(10 * SECOND), 2 * SECOND);
    assert_eq!(nudge_floor(60 * SECOND), 5 * SECOND);
    assert_eq!(nudge_floor(3600 * SECOND), 5 * SECOND);
}

#[tokio::test(start_paused = true)]
async fn without_news_the_poll_waits_for_its_time() {
    let (slot, _rx) = slot();
    let took = waited(&slot, 5 * SECOND, Some(SECOND), async {}).await;
    assert_eq!(took, 5 * SECOND);
}

#[tokio::test(start_paused = true)]
async fn a_flood_of_nudges_brings_the_poll_to_the_floor_and_no_sooner() {
    let (slot, _rx) = slot();
    let flood = async {
        for _ in 0..100 {
            slot.nudge.notify_one();
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    let took = waited(&slot, 5 * SECOND, Some(SECOND), flood).await;
    assert_eq!(took, SECOND);
}

#[tokio::test(start_paused = true)]
async fn a_nudge_taken_while_polling_counts_at_the_next_wait() {
    let (slot, _rx) = slot();
    slot.nudge.notify_one();
    let took = waited(&slot, 5 * SECOND, Some(SECOND), async {}).await;
    assert_eq!(took, SECOND);
    // Past the floor already (a nudge long after the last poll): at once.
    slot.nudge.notify_one();
    let took = waited(&slot, 5 * SECOND, Some(Duration::ZERO), async {}).await;
    assert_eq!(took, Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn a_nudge_does_not_cut_a_back_off_short() {
    let (slot, _rx) = slot();
    let flood = async {
        for _ in 0..10 {
            slot.nudge.notify_one();
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let took = waited(&slot, 40 * SECOND, None, flood).await;
    assert_eq!(took, 40 * SECOND);
}

#[tokio::test(start_paused = true)]
async fn a_poke_polls_at_once() {
    let (slot, _rx) = slot();
    let poke = async {
        tokio::time::sleep(Duration::from_millis(10)).await;
        slot.poke.notify_one();
    };
    let took = waited(&slot, 40 * SECOND, None, poke).await;
    assert_eq!(took, Duration::from_millis(10));
}
