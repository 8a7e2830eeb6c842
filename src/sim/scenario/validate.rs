//! What serde cannot check in a scenario: ids, durations, rates, URLs.

use super::{Faults, Scenario, ScenarioError};

impl Scenario {
    /// Checks what serde cannot: ids, durations, rates.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        use crate::ids::{AppId, ClusterId, PipelineId, ProjectId};
        if !(self.speed.is_finite() && self.speed > 0.0) {
            return Err(knob("speed must be a positive number"));
        }
        if !(self.subscribe_max_seconds.is_finite() && self.subscribe_max_seconds > 0.0) {
            return Err(knob("subscribe_max_seconds must be a positive number"));
        }
        if self.page_size == 0 {
            return Err(knob("page_size must be at least 1"));
        }
        if let Some(url) = &self.next_base_url
            && !is_base_url(url)
        {
            return Err(knob(format!(
                "next_base_url must be http(s)://host[:port] without a path ({url:?})"
            )));
        }
        self.faults.validate("faults")?;
        for p in &self.pipelines {
            let at = format!("pipeline {}", p.pipeline);
            ClusterId::parse(&p.cluster).map_err(|e| invalid(&at, e))?;
            ProjectId::parse(&p.project).map_err(|e| invalid(&at, e))?;
            PipelineId::parse(&p.pipeline).map_err(|e| invalid(&at, e))?;
            let all = p.stages.iter().map(|s| s.seconds).chain([
                p.clone_seconds,
                p.provision_seconds,
                p.fields_delay_seconds,
                p.run_delay_seconds,
            ]);
            if all.clone().any(|s| !(s.is_finite() && s >= 0.0)) {
                return Err(invalid(
                    &at,
                    "stage durations and delays must be zero or more seconds",
                ));
            }
            if let Some(f) = &p.fail_at
                && f != "Clone"
                && !p.stages.iter().any(|s| &s.name == f)
            {
                return Err(invalid(&at, format!("fail_at names no stage ({f:?})")));
            }
            if p.unknown_state
                .as_ref()
                .is_some_and(|s| s.trim().is_empty())
            {
                return Err(invalid(&at, "unknown_state must not be empty"));
            }
            p.faults.validate(&at)?;
        }
        for a in &self.apps {
            let at = format!("app {}", a.app);
            ClusterId::parse(&a.cluster).map_err(|e| invalid(&at, e))?;
            ProjectId::parse(&a.project).map_err(|e| invalid(&at, e))?;
            AppId::parse(&a.app).map_err(|e| invalid(&at, e))?;
            for (name, s) in [
                ("install_seconds", a.install_seconds),
                ("rollout_seconds", a.rollout_seconds),
                ("pickup_seconds", a.pickup_seconds),
                ("blip_seconds", a.blip_seconds),
            ] {
                if !(s.is_finite() && s >= 0.0) {
                    return Err(invalid(&at, format!("{name} must be zero or more seconds")));
                }
            }
            a.faults.validate(&at)?;
        }
        Ok(())
    }
}

/// A scenario-wide setting the simulator cannot serve.
fn knob(problem: impl Into<String>) -> ScenarioError {
    ScenarioError::Invalid {
        at: None,
        problem: problem.into(),
    }
}

/// A setting of one pipeline, app or set of faults (`at`) the simulator cannot serve.
fn invalid(at: &str, problem: impl ToString) -> ScenarioError {
    ScenarioError::Invalid {
        at: Some(at.to_string()),
        problem: problem.to_string(),
    }
}

/// `http(s)://host[:port]`, a trailing `/` allowed: nothing that would change the
/// path or query of the links built on it.
fn is_base_url(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return false;
    };
    let host = rest.strip_suffix('/').unwrap_or(rest);
    !host.is_empty()
        && !host
            .chars()
            .any(|c| matches!(c, '/' | '?' | '#' | '@') || c.is_whitespace())
}

impl Faults {
    fn validate(&self, at: &str) -> Result<(), ScenarioError> {
        for (name, rate) in [
            ("error_rate", self.error_rate),
            ("html_502_rate", self.html_502_rate),
            ("rate_limit_rate", self.rate_limit_rate),
            ("truncated_rate", self.truncated_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(invalid(at, format!("{name} must be between 0 and 1")));
            }
        }
        if let Some(s) = self.retry_after_seconds
            && !(s.is_finite() && s >= 0.0)
        {
            return Err(invalid(at, "retry_after_seconds must be zero or more"));
        }
        Ok(())
    }
}
