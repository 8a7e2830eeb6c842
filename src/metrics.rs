//! Counters for operators, rendered in the Prometheus text format at `/metrics`.
//! Hand-written: a handful of counters and one histogram do not need a crate.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the PaaS latency histogram's buckets.
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Upper bounds (seconds) of the store write histogram's buckets: a local file answers
/// in well under a millisecond, a database in another zone in a few.
const STORE_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.0, 2.5, 10.0,
];

struct Histogram {
    bounds: &'static [f64],
    /// Cumulative: observations at most each bound.
    counts: Vec<u64>,
    count: u64,
    sum: f64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram::new(&BUCKETS)
    }
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Histogram {
            bounds,
            counts: vec![0; bounds.len()],
            count: 0,
            sum: 0.0,
        }
    }

    fn observe(&mut self, d: Duration) {
        let secs = d.as_secs_f64();
        for (i, bound) in self.bounds.iter().enumerate() {
            if secs <= *bound {
                self.counts[i] += 1;
            }
        }
        self.count += 1;
        self.sum += secs;
    }

    /// The `q` quantile in seconds, interpolated within its bucket (as Prometheus's
    /// `histogram_quantile` does); `None` before any observation.
    fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let rank = q * self.count as f64;
        let mut below = (0.0, 0u64);
        for (bound, &n) in self.bounds.iter().zip(&self.counts) {
            if n as f64 >= rank {
                let (lower, at_lower) = below;
                let within = (n - at_lower).max(1) as f64;
                return Some(lower + (bound - lower) * (rank - at_lower as f64) / within);
            }
            below = (*bound, n);
        }
        self.bounds.last().copied()
    }

    /// Prometheus exposition lines for histogram `name` with `labels` (`a="b",` or
    /// empty).
    fn lines(&self, name: &str, labels: &str) -> Vec<String> {
        let mut lines: Vec<String> = self
            .bounds
            .iter()
            .zip(&self.counts)
            .map(|(bound, n)| format!("{name}_bucket{{{labels}le=\"{bound}\"}} {n}"))
            .collect();
        lines.push(format!(
            "{name}_bucket{{{labels}le=\"+Inf\"}} {}",
            self.count
        ));
        let labels = labels.trim_end_matches(',');
        lines.push(format!("{name}_sum{{{labels}}} {}", self.sum));
        lines.push(format!("{name}_count{{{labels}}} {}", self.count));
        lines
    }
}

/// Everything counted.
#[derive(Default)]
pub struct Metrics {
    /// PaaS requests by (operation, status); status is the HTTP code or "error".
    paas_requests: Mutex<BTreeMap<(&'static str, String), u64>>,
    paas_latency: Mutex<BTreeMap<&'static str, Histogram>>,
    chat_posts: AtomicU64,
    chat_edits: AtomicU64,
    chat_failures: AtomicU64,
    /// Webhook calls by result.
    webhook_calls: Mutex<BTreeMap<&'static str, u64>>,
    /// HTTP connections open now.
    http_open: AtomicU64,
    /// HTTP connections and requests a limit cut short, by the limit.
    http_cut: Mutex<BTreeMap<&'static str, u64>>,
    /// Subscribe connections: open now, and opened in all.
    subscribe_open: Mutex<BTreeMap<String, bool>>,
    subscribe_connects: AtomicU64,
    pushed_changes: AtomicU64,
    /// Finished jobs by (kind, state).
    jobs_finished: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    /// Times this process took the lease over from another replica.
    takeovers: AtomicU64,
    /// How long the store took to write a job's state, and the writes that failed.
    store_writes: Mutex<Option<Histogram>>,
    store_failures: AtomicU64,
}

/// One app's delivery figures over a period, as plain numbers (`/stats`' four
/// figures), read from the store for `/metrics`.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub app: String,
    /// `7d`, `30d` or `90d`.
    pub period: &'static str,
    pub deployments: usize,
    pub succeeded: usize,
    pub lead_median_s: Option<f64>,
    pub lead_p90_s: Option<f64>,
    /// From 0 to 1.
    pub failure_rate: Option<f64>,
    pub restore_median_s: Option<f64>,
    pub restore_worst_s: Option<f64>,
}

/// The delivery gauges in the Prometheus text format, a series for each app and
/// period (a figure with nothing to measure, such as a lead time with no deploy, is
/// left out rather than shown as 0).
pub fn render_delivery(all: &[Delivery]) -> String {
    type Pick = fn(&Delivery) -> Option<f64>;
    let series: [(&str, &str, &str, Pick); 7] = [
        (
            "releasebot_deployments",
            "",
            "Deployments that reached the PaaS in the period (rollbacks included).",
            |d| Some(d.deployments as f64),
        ),
        (
            "releasebot_deployments_succeeded",
            "",
            "Deployments in the period that succeeded.",
            |d| Some(d.succeeded as f64),
        ),
        (
            "releasebot_lead_time_seconds",
            ",quantile=\"0.5\"",
            "Lead time from the start of the build of the deployed tag to the deploy's success.",
            |d| d.lead_median_s,
        ),
        (
            "releasebot_lead_time_seconds",
            ",quantile=\"0.9\"",
            "",
            |d| d.lead_p90_s,
        ),
        (
            "releasebot_change_failure_rate",
            "",
            "Share of deployments (rollbacks excluded) that failed or were rolled back, from 0 to 1.",
            |d| d.failure_rate,
        ),
        (
            "releasebot_time_to_restore_seconds",
            ",stat=\"median\"",
            "Time from a failed or rolled-back deployment's end to the app's next successful deployment.",
            |d| d.restore_median_s,
        ),
        (
            "releasebot_time_to_restore_seconds",
            ",stat=\"worst\"",
            "",
            |d| d.restore_worst_s,
        ),
    ];
    let mut out = String::new();
    for (name, extra, help, pick) in series {
        if !help.is_empty() {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        }
        for d in all {
            if let Some(v) = pick(d) {
                let _ = writeln!(
                    out,
                    "{name}{{app=\"{}\",period=\"{}\"{extra}}} {v}",
                    d.app, d.period
                );
            }
        }
    }
    out
}

/// Gauges read from the engine when `/metrics` is rendered.
pub struct Gauges {
    /// Live jobs by (kind, state).
    pub jobs: BTreeMap<(&'static str, &'static str), u64>,
    pub queue_depth: usize,
    pub approvals_pending: usize,
    pub executions_watched: usize,
    pub apps_watched: usize,
    pub polls: u64,
    /// Whether this process may act (leads, or is alone on its store).
    pub leader: bool,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Metrics {
    /// A PaaS request `operation` answered with `status` (`None`: no response) in
    /// `elapsed`.
    pub fn paas_request(&self, operation: &'static str, status: Option<u16>, elapsed: Duration) {
        let status = status.map_or_else(|| "error".to_string(), |s| s.to_string());
        *lock(&self.paas_requests)
            .entry((operation, status))
            .or_default() += 1;
        lock(&self.paas_latency)
            .entry(operation)
            .or_default()
            .observe(elapsed);
    }

    /// A job's state written (`ok`) or not, in `elapsed`.
    pub fn store_write(&self, elapsed: Duration, ok: bool) {
        lock(&self.store_writes)
            .get_or_insert_with(|| Histogram::new(&STORE_BUCKETS))
            .observe(elapsed);
        if !ok {
            self.store_failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// How many job writes were made, and their latency's 50th and 99th percentiles.
    pub fn store_writes(&self) -> (u64, Option<Duration>, Option<Duration>) {
        let h = lock(&self.store_writes);
        let Some(h) = h.as_ref() else {
            return (0, None, None);
        };
        let at = |q| h.quantile(q).map(Duration::from_secs_f64);
        (h.count, at(0.5), at(0.99))
    }

    pub fn chat_post(&self) {
        self.chat_posts.fetch_add(1, Ordering::Relaxed);
    }

    pub fn chat_edit(&self) {
        self.chat_edits.fetch_add(1, Ordering::Relaxed);
    }

    pub fn chat_failure(&self) {
        self.chat_failures.fetch_add(1, Ordering::Relaxed);
    }

    pub fn webhook_call(&self, result: &'static str) {
        *lock(&self.webhook_calls).entry(result).or_default() += 1;
    }

    /// An HTTP connection opened (`true`) or closed.
    pub fn http_connection(&self, open: bool) {
        if open {
            self.http_open.fetch_add(1, Ordering::Relaxed);
        } else {
            self.http_open.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// An HTTP connection or request cut short by a limit (`connection_limit`,
    /// `evicted`, `header_timeout`, `header_too_large`, `request_timeout`).
    pub fn http_cut(&self, limit: &'static str) {
        *lock(&self.http_cut).entry(limit).or_default() += 1;
    }

    pub fn subscribe_state(&self, project: &str, open: bool) {
        if open {
            self.subscribe_connects.fetch_add(1, Ordering::Relaxed);
        }
        lock(&self.subscribe_open).insert(project.to_string(), open);
    }

    pub fn subscribe_forget(&self, project: &str) {
        lock(&self.subscribe_open).remove(project);
    }

    pub fn pushed_change(&self) {
        self.pushed_changes.fetch_add(1, Ordering::Relaxed);
    }

    pub fn takeover(&self) {
        self.takeovers.fetch_add(1, Ordering::Relaxed);
    }

    pub fn job_finished(&self, kind: &'static str, state: &'static str) {
        *lock(&self.jobs_finished).entry((kind, state)).or_default() += 1;
    }

    /// The Prometheus text exposition.
    pub fn render(&self, g: &Gauges) -> String {
        let mut out = String::new();
        let emit = |out: &mut String, name: &str, kind: &str, help: &str, lines: Vec<String>| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for l in lines {
                out.push_str(&l);
                out.push('\n');
            }
        };
        emit(
            &mut out,
            "releasebot_jobs",
            "gauge",
            "Live jobs by kind and state.",
            g.jobs
                .iter()
                .map(|((kind, state), n)| {
                    format!("releasebot_jobs{{kind=\"{kind}\",state=\"{state}\"}} {n}")
                })
                .collect(),
        );
        emit(
            &mut out,
            "releasebot_jobs_finished_total",
            "counter",
            "Jobs that ended, by kind and final state.",
            lock(&self.jobs_finished)
                .iter()
                .map(|((k, s), n)| {
                    format!("releasebot_jobs_finished_total{{kind=\"{k}\",state=\"{s}\"}} {n}")
                })
                .collect(),
        );
        emit(
            &mut out,
            "releasebot_leader",
            "gauge",
            "1 while this replica leads (or runs alone on a SQLite file), 0 on standby.",
            vec![format!("releasebot_leader {}", u8::from(g.leader))],
        );
        emit(
            &mut out,
            "releasebot_takeovers_total",
            "counter",
            "Times this replica took the lease over from another.",
            vec![format!(
                "releasebot_takeovers_total {}",
                self.takeovers.load(Ordering::Relaxed)
            )],
        );
        emit(
            &mut out,
            "releasebot_deploy_queue_depth",
            "gauge",
            "Deploys waiting behind another deploy of the same app.",
            vec![format!("releasebot_deploy_queue_depth {}", g.queue_depth)],
        );
        emit(
            &mut out,
            "releasebot_approvals_pending",
            "gauge",
            "Approval requests waiting for votes.",
            vec![format!(
                "releasebot_approvals_pending {}",
                g.approvals_pending
            )],
        );
        emit(
            &mut out,
            "releasebot_watched_objects",
            "gauge",
            "PaaS objects followed by a watcher.",
            vec![
                format!(
                    "releasebot_watched_objects{{type=\"execution\"}} {}",
                    g.executions_watched
                ),
                format!(
                    "releasebot_watched_objects{{type=\"app\"}} {}",
                    g.apps_watched
                ),
            ],
        );
        emit(
            &mut out,
            "releasebot_polls_total",
            "counter",
            "Polls made by the watchers.",
            vec![format!("releasebot_polls_total {}", g.polls)],
        );
        emit(
            &mut out,
            "releasebot_paas_requests_total",
            "counter",
            "PaaS requests by operation and HTTP status (error: no response).",
            lock(&self.paas_requests)
                .iter()
                .map(|((op, status), n)| format!("releasebot_paas_requests_total{{operation=\"{op}\",status=\"{status}\"}} {n}"))
                .collect(),
        );
        let mut latency = Vec::new();
        for (op, h) in lock(&self.paas_latency).iter() {
            latency.extend(h.lines(
                "releasebot_paas_request_duration_seconds",
                &format!("operation=\"{op}\","),
            ));
        }
        emit(
            &mut out,
            "releasebot_paas_request_duration_seconds",
            "histogram",
            "PaaS request latency by operation.",
            latency,
        );
        emit(
            &mut out,
            "releasebot_store_write_duration_seconds",
            "histogram",
            "How long the store took to write a job's state.",
            lock(&self.store_writes)
                .get_or_insert_with(|| Histogram::new(&STORE_BUCKETS))
                .lines("releasebot_store_write_duration_seconds", ""),
        );
        emit(
            &mut out,
            "releasebot_store_write_failures_total",
            "counter",
            "Writes of a job's state the store did not take (the database away, a full disk).",
            vec![format!(
                "releasebot_store_write_failures_total {}",
                self.store_failures.load(Ordering::Relaxed)
            )],
        );
        emit(
            &mut out,
            "releasebot_chat_requests_total",
            "counter",
            "Chat calls by kind (failures: calls the platform refused).",
            vec![
                format!(
                    "releasebot_chat_requests_total{{kind=\"post\"}} {}",
                    self.chat_posts.load(Ordering::Relaxed)
                ),
                format!(
                    "releasebot_chat_requests_total{{kind=\"edit\"}} {}",
                    self.chat_edits.load(Ordering::Relaxed)
                ),
                format!(
                    "releasebot_chat_requests_total{{kind=\"failure\"}} {}",
                    self.chat_failures.load(Ordering::Relaxed)
                ),
            ],
        );
        emit(
            &mut out,
            "releasebot_subscribe_connected",
            "gauge",
            "Whether the subscribe WebSocket of a Rancher project is connected.",
            lock(&self.subscribe_open)
                .iter()
                .map(|(p, open)| {
                    format!(
                        "releasebot_subscribe_connected{{project=\"{p}\"}} {}",
                        u8::from(*open)
                    )
                })
                .collect(),
        );
        emit(
            &mut out,
            "releasebot_subscribe_connects_total",
            "counter",
            "Subscribe connections opened.",
            vec![format!(
                "releasebot_subscribe_connects_total {}",
                self.subscribe_connects.load(Ordering::Relaxed)
            )],
        );
        emit(
            &mut out,
            "releasebot_pushed_changes_total",
            "counter",
            "Changes received over the subscribe WebSocket.",
            vec![format!(
                "releasebot_pushed_changes_total {}",
                self.pushed_changes.load(Ordering::Relaxed)
            )],
        );
        emit(
            &mut out,
            "releasebot_webhook_calls_total",
            "counter",
            "Webhook calls by result.",
            lock(&self.webhook_calls)
                .iter()
                .map(|(r, n)| format!("releasebot_webhook_calls_total{{result=\"{r}\"}} {n}"))
                .collect(),
        );
        emit(
            &mut out,
            "releasebot_http_connections",
            "gauge",
            "HTTP connections open now.",
            vec![format!(
                "releasebot_http_connections {}",
                self.http_open.load(Ordering::Relaxed)
            )],
        );
        emit(
            &mut out,
            "releasebot_http_cut_total",
            "counter",
            "HTTP connections and requests cut short by a limit, by the limit.",
            lock(&self.http_cut)
                .iter()
                .map(|(l, n)| format!("releasebot_http_cut_total{{limit=\"{l}\"}} {n}"))
                .collect(),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quantile_is_read_within_its_bucket() {
        let mut h = Histogram::new(&STORE_BUCKETS);
        assert_eq!(h.quantile(0.99), None);
        for _ in 0..98 {
            h.observe(Duration::from_micros(300));
        }
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_millis(50));
        let p50 = h.quantile(0.5).unwrap();
        assert!(p50 > 0.0 && p50 <= 0.0005, "{p50}");
        let p99 = h.quantile(0.99).unwrap();
        assert!((0.002..=0.004).contains(&p99), "{p99}");
        assert!(h.quantile(1.0).unwrap() <= 0.064);
    }

    #[test]
    fn the_exposition_has_each_family_and_counts() {
        let m = Metrics::default();
        m.paas_request("get_execution", Some(200), Duration::from_millis(20));
        m.chat_edit();
        m.job_finished("build", "succeeded");
        let gauges = Gauges {
            jobs: BTreeMap::from([(("deploy", "queued"), 2)]),
            queue_depth: 1,
            approvals_pending: 0,
            executions_watched: 3,
            apps_watched: 1,
            polls: 9,
            leader: true,
        };
        m.takeover();
        let text = m.render(&gauges);
        for want in [
            "releasebot_leader 1",
            "releasebot_takeovers_total 1",
            "releasebot_jobs{kind=\"deploy\",state=\"queued\"} 2",
            "releasebot_jobs_finished_total{kind=\"build\",state=\"succeeded\"} 1",
            "releasebot_paas_requests_total{operation=\"get_execution\",status=\"200\"} 1",
            "releasebot_paas_request_duration_seconds_bucket{operation=\"get_execution\",le=\"0.025\"} 1",
            "releasebot_paas_request_duration_seconds_bucket{operation=\"get_execution\",le=\"0.01\"} 0",
            "releasebot_chat_requests_total{kind=\"edit\"} 1",
            "# TYPE releasebot_paas_request_duration_seconds histogram",
        ] {
            assert!(text.contains(want), "missing {want}\n{text}");
        }
    }
}
