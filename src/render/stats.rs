//! The words of `/stats` and of the weekly digest: each app's four delivery figures
//! over a period, with the period before and the change.

use crate::job::stats::{AppStats, Figures, Spread};

/// A duration as people read a delivery figure: `45s`, `12m`, `2h 05m`, `3d 4h`.
pub fn span(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d {}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// A signed change of a duration: `+1h 10m`, `−5m`, `±0s`.
fn span_change(now: i64, before: i64) -> String {
    // Under a second either way reads as no change, as the figures are shown.
    let d = (now - before) / 1000 * 1000;
    match d.signum() {
        1 => format!("+{}", span(d)),
        -1 => format!("−{}", span(-d)),
        _ => "±0s".into(),
    }
}

fn count_change(now: usize, before: usize) -> String {
    match now.cmp(&before) {
        std::cmp::Ordering::Greater => format!("+{}", now - before),
        std::cmp::Ordering::Less => format!("−{}", before - now),
        std::cmp::Ordering::Equal => "±0".into(),
    }
}

fn percent(rate: f64) -> String {
    format!("{:.0}%", rate * 100.0)
}

fn deployments(now: &Figures, before: &Figures) -> String {
    format!(
        "deployments: {} ({} succeeded, {} rollback{}), {:.1} a week; before {} ({})",
        now.deployments,
        now.succeeded,
        now.rollbacks,
        if now.rollbacks == 1 { "" } else { "s" },
        now.per_week,
        before.deployments,
        count_change(now.deployments, before.deployments),
    )
}

/// The period before: its figure, and how the median changed since.
fn was(
    now: Option<&Spread>,
    before: Option<&Spread>,
    figure: impl Fn(&Spread) -> String,
) -> String {
    match (now, before) {
        (Some(n), Some(b)) => format!(
            "before {} ({})",
            figure(b),
            span_change(n.median_ms, b.median_ms)
        ),
        (_, Some(b)) => format!("before {}", figure(b)),
        (_, None) => "before none".into(),
    }
}

fn lead(now: &Figures, before: &Figures) -> String {
    let unknown = match now.unknown_builds {
        0 => String::new(),
        n => format!(
            "; {n} deploy{} of a tag no known build made left out",
            if n == 1 { "" } else { "s" }
        ),
    };
    let figure = |s: &Spread| format!("median {}, p90 {}", span(s.median_ms), span(s.high_ms));
    let was = was(now.lead.as_ref(), before.lead.as_ref(), figure);
    match &now.lead {
        Some(s) => format!(
            "lead time (build → live): {} over {} deploy{}{unknown}; {was}",
            figure(s),
            s.count,
            if s.count == 1 { "" } else { "s" }
        ),
        None => format!("lead time (build → live): none{unknown}; {was}"),
    }
}

fn failure_rate(now: &Figures, before: &Figures) -> String {
    let figure = |f: &Figures| match f.failure_rate() {
        Some(r) => format!("{} ({} of {})", percent(r), f.failures, f.changes),
        None => "none".into(),
    };
    let change = match (now.failure_rate(), before.failure_rate()) {
        (Some(n), Some(b)) => {
            let points = ((n - b) * 100.0).round() as i64;
            match points.signum() {
                1 => format!(" (+{points} points)"),
                -1 => format!(" (−{} points)", -points),
                _ => " (±0 points)".into(),
            }
        }
        _ => String::new(),
    };
    format!(
        "change failure rate: {}; before {}{change}",
        figure(now),
        figure(before)
    )
}

fn restore(now: &Figures, before: &Figures) -> String {
    let open = match now.unrestored {
        0 => String::new(),
        n => format!("; {n} not restored yet"),
    };
    let figure = |s: &Spread| format!("median {}, worst {}", span(s.median_ms), span(s.high_ms));
    let was = was(now.restore.as_ref(), before.restore.as_ref(), figure);
    match &now.restore {
        Some(s) => format!("time to restore: {}{open}; {was}", figure(s)),
        None => format!("time to restore: none{open}; {was}"),
    }
}

/// One app's block: its name and period, then the four figures, one a line.
pub fn app_block(s: &AppStats) -> String {
    let (now, before) = (&s.current, &s.previous);
    format!(
        "{} (last {} days)\n• {}\n• {}\n• {}\n• {}",
        s.app,
        s.period.days(),
        deployments(now, before),
        lead(now, before),
        failure_rate(now, before),
        restore(now, before),
    )
}

/// The answer to `/stats` (and the digest's text): a title, then one block per app.
pub fn stats(title: &str, all: &[AppStats]) -> String {
    if all.is_empty() {
        return format!("{title}: no app to show.");
    }
    let blocks: Vec<String> = all.iter().map(app_block).collect();
    format!("{title}\n{}", blocks.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_as_people_write_them() {
        let cases = [
            (0, "0s"),
            (45_000, "45s"),
            (12 * 60_000, "12m"),
            (2 * 3_600_000 + 5 * 60_000, "2h 05m"),
            (3 * 86_400_000 + 4 * 3_600_000, "3d 4h"),
            (-5, "0s"),
        ];
        for (ms, want) in cases {
            assert_eq!(span(ms), want);
        }
        assert_eq!(span_change(3_600_000, 600_000), "+50m");
        assert_eq!(span_change(0, 600_000), "−10m");
        assert_eq!(span_change(120_400, 120_000), "±0s");
    }
}
