//! The registry of jobs: the live ones (a `DashMap` of tasks' records), the latest
//! finished ones kept in memory for `/status` and suggestions, and which approval
//! message belongs to which job.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use dashmap::DashMap;
use tokio::sync::Notify;

use super::live::LiveJob;
use crate::job::JobRecord;
use crate::names::JobId;

/// How many finished jobs are kept in memory besides the store.
const RECENT_KEPT: usize = 256;

pub(super) struct Jobs {
    live: DashMap<JobId, Arc<LiveJob>>,
    /// The latest finished jobs, oldest first.
    recent: Mutex<VecDeque<JobRecord>>,
    /// Approval message id → its job.
    approval_messages: DashMap<String, JobId>,
    next_id: AtomicU64,
    /// Starts take turns (an async lock: a start writes its new job before it lets the
    /// next one look for a running equal build).
    pub start_lock: tokio::sync::Mutex<()>,
    /// Rings whenever a job changes, starts or ends.
    pub changed: Notify,
}

impl Jobs {
    /// The registry, numbering on from `next_id`, knowing `recent` (newest first).
    pub fn new(next_id: u64, recent: Vec<JobRecord>) -> Self {
        let mut recent: VecDeque<JobRecord> = recent.into();
        recent.make_contiguous().reverse();
        Jobs {
            live: DashMap::new(),
            recent: Mutex::new(recent),
            approval_messages: DashMap::new(),
            next_id: AtomicU64::new(next_id),
            start_lock: tokio::sync::Mutex::new(()),
            changed: Notify::new(),
        }
    }

    pub fn next_id(&self) -> JobId {
        JobId(self.next_id.fetch_add(1, Ordering::SeqCst))
    }

    pub fn insert(&self, job: Arc<LiveJob>) {
        if let Some(m) = &job.lock().messages.approval {
            self.approval_messages.insert(m.message.clone(), job.id);
        }
        self.live.insert(job.id, job);
        self.changed.notify_waiters();
    }

    pub fn get(&self, id: JobId) -> Option<Arc<LiveJob>> {
        self.live.get(&id).map(|j| j.clone())
    }

    pub fn contains(&self, id: JobId) -> bool {
        self.live.contains_key(&id)
    }

    /// Every live job.
    pub fn all(&self) -> Vec<Arc<LiveJob>> {
        self.live.iter().map(|j| j.clone()).collect()
    }

    pub fn len(&self) -> usize {
        self.live.len()
    }

    /// The live job whose approval request is `message`.
    pub fn by_approval_message(&self, message: &str) -> Option<JobId> {
        self.approval_messages.get(message).map(|id| *id)
    }

    pub fn note_approval_message(&self, message: &str, job: JobId) {
        self.approval_messages.insert(message.to_string(), job);
    }

    /// The live job with the lowest id among those `matches` accepts.
    pub fn first(&self, matches: impl Fn(&JobRecord) -> bool) -> Option<JobId> {
        self.live
            .iter()
            .filter(|j| matches(&j.lock()))
            .map(|j| j.id)
            .min()
    }

    /// A job ended and its final messages are delivered: it leaves the live set.
    pub fn retire(&self, record: JobRecord) {
        if let Some(m) = &record.messages.approval {
            self.approval_messages.remove(&m.message);
        }
        let id = record.id;
        {
            let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
            recent.push_back(record);
            if recent.len() > RECENT_KEPT {
                recent.pop_front();
            }
        }
        self.live.remove(&id);
        self.changed.notify_waiters();
    }

    /// A finished job still in memory.
    pub fn recent(&self, id: JobId) -> Option<JobRecord> {
        self.recent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|r| r.id == id)
            .cloned()
    }

    /// The finished jobs in memory, oldest first.
    pub fn recent_all(&self) -> Vec<JobRecord> {
        self.recent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// What the store says now, for a replica that took over from another: numbering
    /// goes on from `next_id` (never back), and `recent` (newest first) replaces what was
    /// known.
    pub fn catch_up(&self, next_id: u64, recent: Vec<JobRecord>) {
        self.next_id.fetch_max(next_id, Ordering::SeqCst);
        let mut recent: VecDeque<JobRecord> = recent.into();
        recent.make_contiguous().reverse();
        *self.recent.lock().unwrap_or_else(|e| e.into_inner()) = recent;
    }

    /// Forgets every live job (their tasks were aborted).
    pub fn clear(&self) {
        self.live.clear();
        self.approval_messages.clear();
    }
}
