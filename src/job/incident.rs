//! The decisions behind the incident commands, from history alone: which tag a rollback
//! goes back to, and what a promotion copies. Pure, so each rule is a table test.

use super::record::JobRecord;
use super::state::JobState;
use crate::names::{AppName, JobId, VersionTag};

/// Why there is nothing to roll back to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollbackRefusal {
    /// History knows no successful deploy of the app other than what runs now.
    NothingEarlier { app: AppName, live: Option<String> },
    /// The tag named never succeeded on the app, as far as history shows.
    NeverSucceeded { app: AppName, tag: VersionTag },
}

/// Whether a job's deploy reached `app`: an upgrade was asked of the PaaS, so what it
/// deployed may run there now, whatever became of it.
pub fn reached(r: &JobRecord, app: &AppName) -> bool {
    r.spec.app() == Some(app) && r.deploy.as_ref().is_some_and(|d| d.intent_ms().is_some())
}

/// Whether a job's message is still to offer a rollback: its deploy went wrong after
/// reaching its app (failed or timed out once the upgrade was asked for), and no
/// target was found for it yet.
pub fn offers_rollback(r: &JobRecord) -> bool {
    matches!(r.state, JobState::Failed | JobState::TimedOut)
        && r.deploy
            .as_ref()
            .is_some_and(|d| d.intent_ms().is_some() && d.rollback_to.is_none())
}

/// Whether a job's deploy went well: it succeeded, or its rollout is done and only its
/// logs are still being read (the newest good deploy of all, a moment before it ends).
pub fn went_well(r: &JobRecord) -> bool {
    match r.state {
        JobState::Succeeded => true,
        state if state.is_final() => false,
        _ => r
            .deploy
            .as_ref()
            .is_some_and(|d| d.rollout.done && !d.rollout.failed),
    }
}

/// What runs on `app` now: the PaaS's word (`live`), else the tag of the newest deploy
/// in `history` (newest first) that reached the app, however it ended.
pub fn running_now(app: &AppName, live: Option<&str>, history: &[JobRecord]) -> Option<String> {
    live.map(str::to_string).or_else(|| {
        history
            .iter()
            .find(|r| reached(r, app))
            .and_then(|r| r.deploy_tag())
            .map(ToString::to_string)
    })
}

/// The tag a rollback deploys. `live` is what the PaaS says runs now (if it could be
/// read); `history` is the app's jobs, newest first, live ones included. What runs now
/// is the PaaS's word, else the tag of the newest deploy that reached the app, however
/// it ended. With no tag named: the newest deploy that went well whose tag is not what
/// runs now (after a bad deploy, the last good one; after a good one, the one before
/// it). A named tag must be one that went well there.
pub fn rollback_target(
    app: &AppName,
    live: Option<&str>,
    history: &[JobRecord],
    named: Option<&VersionTag>,
) -> Result<VersionTag, RollbackRefusal> {
    let reached: Vec<&JobRecord> = history.iter().filter(|r| reached(r, app)).collect();
    let tags = reached
        .iter()
        .filter(|r| went_well(r))
        .filter_map(|r| r.deploy_tag());
    if let Some(tag) = named {
        return match tags.clone().any(|t| t == tag) {
            true => Ok(tag.clone()),
            false => Err(RollbackRefusal::NeverSucceeded {
                app: app.clone(),
                tag: tag.clone(),
            }),
        };
    }
    let now = running_now(app, live, history);
    tags.clone()
        .find(|t| Some(t.as_str()) != now.as_deref())
        .cloned()
        .ok_or_else(|| RollbackRefusal::NothingEarlier {
            app: app.clone(),
            live: now,
        })
}

/// What a promotion deploys: the tag (and image) live on the source app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promotion {
    pub tag: VersionTag,
    pub image: Option<String>,
    /// The job that put it there.
    pub job: JobId,
}

/// Why the source app has nothing to promote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromoteRefusal {
    /// Nothing was ever deployed to it by releasebot.
    NeverDeployed { from: AppName },
    /// Its latest deploy did not succeed, so what runs there is not known good.
    LastFailed {
        from: AppName,
        job: JobId,
        tag: VersionTag,
        state: JobState,
    },
    /// A deploy to it is under way.
    Deploying { from: AppName, job: JobId },
}

/// What runs on `from` according to history: the tag of its latest deploy that
/// reached the app (an upgrade was sent), which must have succeeded. `jobs` are its
/// jobs, newest first, live ones included.
pub fn promotion(from: &AppName, jobs: &[JobRecord]) -> Result<Promotion, PromoteRefusal> {
    let reached = |r: &&JobRecord| {
        r.spec.app() == Some(from) && r.deploy.as_ref().is_some_and(|d| d.intent_ms().is_some())
    };
    let Some(last) = jobs.iter().find(reached) else {
        return Err(PromoteRefusal::NeverDeployed { from: from.clone() });
    };
    let tag = last
        .deploy_tag()
        .cloned()
        .ok_or_else(|| PromoteRefusal::NeverDeployed { from: from.clone() })?;
    match last.state {
        JobState::Succeeded => Ok(Promotion {
            tag,
            image: last.image().map(str::to_string),
            job: last.id,
        }),
        state if state.is_final() => Err(PromoteRefusal::LastFailed {
            from: from.clone(),
            job: last.id,
            tag,
            state,
        }),
        _ => Err(PromoteRefusal::Deploying {
            from: from.clone(),
            job: last.id,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::AppId;
    use crate::job::rollout::{DeployProgress, Upgrade};
    use crate::job::{DeployOrigin, JobSpec, Person};

    fn app(name: &str) -> AppName {
        AppName::parse(name).unwrap()
    }

    fn tag(t: &str) -> VersionTag {
        VersionTag::parse(t).unwrap()
    }

    /// A deploy of `t` to `a` that reached the app and ended in `state`.
    fn deploy(id: u64, a: &str, t: &str, state: JobState) -> JobRecord {
        let spec = JobSpec::Deploy {
            app: app(a),
            tag: tag(t),
            origin: DeployOrigin::Request,
        };
        let who = Person {
            id: "1".into(),
            name: "alice".into(),
        };
        let mut r = JobRecord::new(JobId(id), spec, who, "releases", 0);
        let mut d = DeployProgress::new(AppId::parse("web").unwrap(), tag(t));
        d.upgrade = Upgrade::Sent {
            intent_ms: 1,
            at_ms: 2,
        };
        r.deploy = Some(d);
        r.state = state;
        r
    }

    #[test]
    fn a_rollback_goes_back_to_the_newest_success_that_is_not_live() {
        let web = app("web");
        let ok = |id, t| deploy(id, "web", t, JobState::Succeeded);
        let history = [ok(3, "v1.2.3"), ok(2, "v1.2.2"), ok(1, "v1.2.1")];
        // After a good deploy: the one before it.
        assert_eq!(
            rollback_target(&web, Some("v1.2.3"), &history, None),
            Ok(tag("v1.2.2"))
        );
        // The PaaS unreadable: history's newest is taken as live.
        assert_eq!(
            rollback_target(&web, None, &history, None),
            Ok(tag("v1.2.2"))
        );
        // A bad deploy left v1.2.4 running (its job failed, so not in the successes).
        assert_eq!(
            rollback_target(&web, Some("v1.2.4"), &history, None),
            Ok(tag("v1.2.3"))
        );
        // A named tag must have succeeded there.
        assert_eq!(
            rollback_target(&web, Some("v1.2.3"), &history, Some(&tag("v1.2.1"))),
            Ok(tag("v1.2.1"))
        );
        assert_eq!(
            rollback_target(&web, Some("v1.2.3"), &history, Some(&tag("v0.9"))),
            Err(RollbackRefusal::NeverSucceeded {
                app: web.clone(),
                tag: tag("v0.9")
            })
        );
        // The PaaS shows no tag and the newest deploy failed after reaching the app:
        // that is what runs now, so the last good one is where a rollback goes.
        let failed = deploy(4, "web", "v1.2.4", JobState::Failed);
        let with_failure = [failed.clone(), ok(3, "v1.2.3"), ok(2, "v1.2.2")];
        assert_eq!(
            rollback_target(&web, None, &with_failure, None),
            Ok(tag("v1.2.3"))
        );
        // A deploy whose rollout is done while its logs are read went well already.
        let mut reading_logs = deploy(5, "web", "v1.2.5", JobState::FetchingLogs);
        reading_logs.deploy.as_mut().unwrap().rollout.done = true;
        assert!(went_well(&reading_logs));
        assert!(!went_well(&failed));
        // A deploy that never reached the app (rejected) is not what runs there.
        let mut rejected = deploy(6, "web", "v1.2.6", JobState::Rejected);
        rejected.deploy.as_mut().unwrap().upgrade = Upgrade::NotSent;
        assert_eq!(
            rollback_target(
                &web,
                None,
                &[rejected, ok(3, "v1.2.3"), ok(2, "v1.2.2")],
                None
            ),
            Ok(tag("v1.2.2"))
        );
        // Only what runs now ever succeeded.
        assert_eq!(
            rollback_target(&web, Some("v1.2.3"), &history[..1], None),
            Err(RollbackRefusal::NothingEarlier {
                app: web.clone(),
                live: Some("v1.2.3".into())
            })
        );
        assert!(rollback_target(&web, None, &[], None).is_err());
    }

    #[test]
    fn a_promotion_copies_the_source_s_last_deploy_only_if_it_succeeded() {
        let staging = app("staging");
        let ok = deploy(5, "staging", "v1.3.0", JobState::Succeeded);
        let failed = deploy(6, "staging", "v1.3.1", JobState::Failed);
        let live = deploy(7, "staging", "v1.3.2", JobState::Deploying);
        let mut rejected = deploy(8, "staging", "v1.3.3", JobState::Rejected);
        rejected.deploy.as_mut().unwrap().upgrade = Upgrade::NotSent;
        let other = deploy(9, "web", "v9", JobState::Succeeded);

        let p = promotion(&staging, &[other.clone(), rejected.clone(), ok.clone()]).unwrap();
        assert_eq!(
            (p.tag, p.job),
            (tag("v1.3.0"), JobId(5)),
            "a rejected deploy changed nothing"
        );
        assert_eq!(
            promotion(&staging, &[failed.clone(), ok.clone()]),
            Err(PromoteRefusal::LastFailed {
                from: staging.clone(),
                job: JobId(6),
                tag: tag("v1.3.1"),
                state: JobState::Failed
            })
        );
        assert_eq!(
            promotion(&staging, &[live, ok]),
            Err(PromoteRefusal::Deploying {
                from: staging.clone(),
                job: JobId(7)
            })
        );
        assert_eq!(
            promotion(&staging, &[other]),
            Err(PromoteRefusal::NeverDeployed { from: staging })
        );
    }
}
