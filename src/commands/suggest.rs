//! What to offer a person while they type a command: the projects and apps they may
//! use, the branches and version tags worth deploying, the jobs a command could name.
//!
//! Chat platforms with completion (Discord's autocomplete) ask for these; the answers
//! come from the configuration and the engine's jobs, never from the PaaS, so they are
//! instant. Nothing here knows a platform: a suggestion is a label to show and the
//! value to put in the command line, which the one grammar then parses as if typed.

use super::access::{self, Action};
use crate::chat::Actor;
use crate::config::Config;
use crate::job::{JobKind, JobRecord, JobState};
use crate::names::VersionTag;
use crate::render;

/// The most suggestions offered at once (Discord shows at most 25).
pub const MAX: usize = 25;

/// One thing to offer: what the person sees and what the command line gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    pub label: String,
    pub value: String,
}

impl Suggestion {
    fn plain(value: impl Into<String>) -> Self {
        let value = value.into();
        Suggestion {
            label: value.clone(),
            value,
        }
    }
}

/// Which jobs a command can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobsFor {
    /// `/status`: running jobs first, then recent ones.
    Status,
    /// `/cancel`: running jobs.
    Cancel,
    /// `/approve` and `/reject`: jobs waiting for an approval.
    Vote,
}

/// The projects `actor` may build (or release) from `channel`.
pub fn projects(
    config: &Config,
    actor: &Actor,
    channel: &str,
    action: Action,
    typed: &str,
) -> Vec<Suggestion> {
    let names = config
        .projects
        .values()
        .filter(|p| access::project(config, actor, channel, p, action).is_ok())
        .filter(|p| action != Action::Release || !p.deploys.is_empty())
        .map(|p| Suggestion::plain(p.name.as_str()));
    matching(names, typed)
}

/// What to offer for `option` of a command while `typed` is being typed; `given` reads
/// the other options already filled in.
pub fn complete(
    engine: &crate::engine::Engine,
    actor: &Actor,
    channel: &str,
    option: &super::OptionSpec,
    given: impl Fn(&str) -> Option<String>,
    typed: &str,
) -> Vec<Suggestion> {
    use super::Completion;
    let config = engine.config();
    // Suggestions show jobs, branches and tags: only those of what the person may
    // read from here, as `/status` and `/history` would.
    let recent = || {
        let mut recent = engine.recent_jobs();
        recent.retain(|r| access::read_job(config, actor, channel, r).is_ok());
        recent
    };
    match option.completion {
        Completion::Nothing => Vec::new(),
        Completion::Project(action) => projects(config, actor, channel, action, typed),
        Completion::App(action) => apps(config, actor, channel, action, typed),
        Completion::HistoryTarget => {
            let mut names = history_targets(config, typed);
            names.retain(|s| access::read_history(config, actor, channel, &s.value).is_ok());
            names
        }
        Completion::FreezeTarget => {
            let mut all = apps(config, actor, channel, Action::Freeze, typed);
            if access::all_apps(config, actor, Action::Freeze).is_ok() && "all".starts_with(typed) {
                all.insert(0, Suggestion::plain("all"));
            }
            all.truncate(MAX);
            all
        }
        Completion::PromoteFrom => promote_sources(config, given("to").as_deref(), typed),
        Completion::Branch => match given("project") {
            Some(project) => branches(config, project.trim(), &recent(), typed),
            None => Vec::new(),
        },
        Completion::BuiltTag => match given("app") {
            Some(app) => version_tags(config, app.trim(), &recent(), typed),
            None => Vec::new(),
        },
        Completion::DeployedTag => match given("app") {
            Some(app) => deployed_tags(&recent(), app.trim(), typed),
            None => Vec::new(),
        },
        Completion::Job(which) => jobs(&recent(), which, typed),
    }
}

/// Tags that recent history shows succeeded on `app`, newest first.
pub fn deployed_tags(recent: &[JobRecord], app: &str, typed: &str) -> Vec<Suggestion> {
    let mut out: Vec<Suggestion> = Vec::new();
    let deployed = recent.iter().filter(|r| {
        r.state == JobState::Succeeded && r.spec.app().is_some_and(|a| a.as_str() == app)
    });
    for r in deployed {
        let Some(tag) = r.deploy_tag() else { continue };
        if out.iter().any(|s| s.value == tag.as_str()) {
            continue;
        }
        out.push(Suggestion {
            label: format!("{tag} ({} {})", r.spec.verb(), r.id),
            value: tag.to_string(),
        });
    }
    matching(out, typed)
}

/// The apps `actor` may run `action` on from `channel`.
pub fn apps(
    config: &Config,
    actor: &Actor,
    channel: &str,
    action: Action,
    typed: &str,
) -> Vec<Suggestion> {
    let names = config
        .apps
        .values()
        .filter(|a| access::app(config, actor, channel, a, action).is_ok())
        .map(|a| Suggestion::plain(a.name.as_str()));
    matching(names, typed)
}

/// The apps some app may be promoted from (into `to`, when named).
pub fn promote_sources(config: &Config, to: Option<&str>, typed: &str) -> Vec<Suggestion> {
    let mut names: Vec<&str> = config
        .apps
        .values()
        .filter(|a| to.is_none_or(|t| a.name.as_str() == t))
        .flat_map(|a| a.promote_from.iter().map(|f| f.as_str()))
        .collect();
    names.sort();
    names.dedup();
    matching(names.into_iter().map(Suggestion::plain), typed)
}

/// The projects and apps `/history` knows.
pub fn history_targets(config: &Config, typed: &str) -> Vec<Suggestion> {
    let names = config.project_and_app_names();
    matching(names.into_iter().map(Suggestion::plain), typed)
}

/// Branches of `project`: its default branch first, then those built lately.
pub fn branches(
    config: &Config,
    project: &str,
    recent: &[JobRecord],
    typed: &str,
) -> Vec<Suggestion> {
    let Some(p) = config
        .projects
        .values()
        .find(|p| p.name.as_str() == project)
    else {
        return Vec::new();
    };
    let mut seen = vec![p.branch.as_str().to_string()];
    let mut out = vec![Suggestion {
        label: format!("{} (default)", p.branch),
        value: p.branch.to_string(),
    }];
    for r in recent {
        if !r.spec.builds() || r.spec.project() != Some(&p.name) {
            continue;
        }
        if let Some(b) = r.spec.branch()
            && !seen.iter().any(|s| s == b.as_str())
        {
            seen.push(b.to_string());
            out.push(Suggestion::plain(b.as_str()));
        }
    }
    matching(out, typed)
}

/// Version tags worth deploying to `app`: those of the latest successful builds of the
/// projects that deploy it, newest first.
pub fn version_tags(
    config: &Config,
    app: &str,
    recent: &[JobRecord],
    typed: &str,
) -> Vec<Suggestion> {
    let projects: Vec<_> = config
        .projects
        .values()
        .filter(|p| p.deploys.iter().any(|a| a.as_str() == app))
        .map(|p| &p.name)
        .collect();
    let mut out: Vec<Suggestion> = Vec::new();
    for r in recent {
        if !r.spec.project().is_some_and(|p| projects.contains(&p)) {
            continue;
        }
        let Some(tag) = built_tag(r) else { continue };
        if out.iter().any(|s| s.value == tag) {
            continue;
        }
        let branch = r.spec.branch().map_or("?", |b| b.as_str());
        out.push(Suggestion {
            label: format!("{tag} ({branch}, {} {})", r.kind().as_str(), r.id),
            value: tag,
        });
    }
    matching(out, typed)
}

/// The tag a job's build produced, if the build succeeded with a deployable tag.
fn built_tag(r: &JobRecord) -> Option<String> {
    let tag = match r.kind() {
        JobKind::Build if r.state == JobState::Succeeded => r.build.as_ref()?.tag.clone()?,
        // A release records the tag only once its build succeeded.
        JobKind::Release => r.deploy_tag()?.to_string(),
        _ => return None,
    };
    VersionTag::parse(&tag).ok().map(|t| t.to_string())
}

/// Jobs a command can name, by number, labelled with their status line.
pub fn jobs(recent: &[JobRecord], which: JobsFor, typed: &str) -> Vec<Suggestion> {
    let wanted = |r: &JobRecord| match which {
        JobsFor::Status => true,
        JobsFor::Cancel => !r.state.is_final(),
        JobsFor::Vote => r.state == JobState::AwaitingApproval,
    };
    // Running jobs come before finished ones, each newest first.
    let (live, ended): (Vec<&JobRecord>, Vec<&JobRecord>) = recent
        .iter()
        .filter(|r| wanted(r))
        .partition(|r| !r.state.is_final());
    let all = live.into_iter().chain(ended).map(|r| Suggestion {
        label: render::status_line(r, &render::View::default()),
        value: r.id.0.to_string(),
    });
    let typed = typed.trim_start_matches('#');
    matching(all, typed)
}

/// The suggestions that fit what was typed: those starting with it first, then those
/// containing it, each in their given order, at most [`MAX`], labels cut to 100
/// characters (Discord's limit).
fn matching(items: impl IntoIterator<Item = Suggestion>, typed: &str) -> Vec<Suggestion> {
    let typed = typed.trim().to_lowercase();
    let (mut starts, mut contains) = (Vec::new(), Vec::new());
    for s in items {
        let value = s.value.to_lowercase();
        if value.starts_with(&typed) {
            starts.push(s);
        } else if value.contains(&typed) || s.label.to_lowercase().contains(&typed) {
            contains.push(s);
        }
    }
    starts.append(&mut contains);
    starts.truncate(MAX);
    for s in &mut starts {
        if s.label.chars().count() > 100 {
            s.label = s.label.chars().take(99).chain(['…']).collect();
        }
    }
    starts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::parse(
            r#"
            [projects.web]
            cluster = "c-1"
            project = "p-1"
            pipeline = "p-2"
            deploys = "web"
            build = ["developer"]
            [projects.api]
            cluster = "c-1"
            project = "p-1"
            pipeline = "p-3"
            [apps.web]
            cluster = "c-1"
            project = "p-1"
            app = "web"
            deploy = ["deployer"]
            [apps.api]
            cluster = "c-1"
            project = "p-1"
            app = "api"
            "#,
            "test",
        )
        .unwrap()
    }

    fn actor(roles: &[&str]) -> Actor {
        Actor::new("1", "alice", roles.iter().map(|r| r.to_string()).collect())
    }

    fn job(id: u64, kind: JobKind, branch: &str, state: JobState, tag: Option<&str>) -> JobRecord {
        let project = crate::names::ProjectName::parse("web").unwrap();
        let branch = crate::names::Branch::parse(branch).unwrap();
        let spec = match kind {
            JobKind::Release => crate::job::JobSpec::Release {
                project,
                branch,
                app: crate::names::AppName::parse("web").unwrap(),
                more: Vec::new(),
                parallel: false,
            },
            _ => crate::job::JobSpec::Build { project, branch },
        };
        let requester = crate::job::Person {
            id: "1".into(),
            name: "alice".into(),
        };
        let mut r = JobRecord::new(crate::names::JobId(id), spec, requester, "c", 0);
        r.state = state;
        match kind {
            JobKind::Release => {
                r.deploy = tag.map(|t| {
                    crate::job::DeployProgress::new(
                        crate::paas::AppId::parse("web").unwrap(),
                        VersionTag::parse(t).unwrap(),
                    )
                })
            }
            _ => r.build.as_mut().unwrap().tag = tag.map(str::to_string),
        }
        r
    }

    fn values(s: &[Suggestion]) -> Vec<&str> {
        s.iter().map(|s| s.value.as_str()).collect()
    }

    #[test]
    fn only_the_projects_and_apps_a_person_may_use_are_offered() {
        let c = config();
        assert_eq!(
            values(&projects(&c, &actor(&[]), "x", Action::Build, "")),
            ["api"]
        );
        assert_eq!(
            values(&projects(
                &c,
                &actor(&["developer"]),
                "x",
                Action::Build,
                ""
            )),
            ["api", "web"]
        );
        // Only projects that deploy something can be released.
        assert_eq!(
            values(&projects(&c, &actor(&[]), "x", Action::Release, "")),
            ["web"]
        );
        assert_eq!(
            values(&apps(&c, &actor(&[]), "x", Action::Deploy, "")),
            ["api"]
        );
        assert_eq!(
            values(&apps(&c, &actor(&["deployer"]), "x", Action::Deploy, "w")),
            ["web"]
        );
        assert_eq!(values(&history_targets(&c, "")), ["api", "web"]);
    }

    #[test]
    fn the_default_branch_comes_first_then_recent_ones() {
        let c = config();
        let recent = [
            job(4, JobKind::Build, "feature/x", JobState::Failed, None),
            job(3, JobKind::Release, "master", JobState::Succeeded, None),
            job(2, JobKind::Build, "fix-1", JobState::Succeeded, None),
        ];
        let all = branches(&c, "web", &recent, "");
        assert_eq!(values(&all), ["master", "feature/x", "fix-1"]);
        assert_eq!(all[0].label, "master (default)");
        assert_eq!(values(&branches(&c, "web", &recent, "fi")), ["fix-1"]);
        assert_eq!(values(&branches(&c, "web", &recent, "/X")), ["feature/x"]);
        assert!(branches(&c, "nope", &recent, "").is_empty());
    }

    #[test]
    fn version_tags_come_from_successful_builds_newest_first() {
        let c = config();
        let recent = [
            job(
                5,
                JobKind::Build,
                "master",
                JobState::Building,
                Some("master-5-aaa"),
            ),
            job(
                4,
                JobKind::Build,
                "master",
                JobState::Failed,
                Some("master-4-bbb"),
            ),
            job(
                3,
                JobKind::Release,
                "master",
                JobState::Rejected,
                Some("master-3-ccc"),
            ),
            job(
                2,
                JobKind::Build,
                "fix",
                JobState::Succeeded,
                Some("fix-2-ddd"),
            ),
            job(
                1,
                JobKind::Build,
                "fix",
                JobState::Succeeded,
                Some("fix-2-ddd"),
            ),
        ];
        let tags = version_tags(&c, "web", &recent, "");
        assert_eq!(values(&tags), ["master-3-ccc", "fix-2-ddd"]);
        assert_eq!(tags[1].label, "fix-2-ddd (fix, build #2)");
        assert!(version_tags(&c, "api", &recent, "").is_empty());
        assert_eq!(
            values(&version_tags(&c, "web", &recent, "FIX")),
            ["fix-2-ddd"]
        );
    }

    #[test]
    fn jobs_are_offered_for_what_the_command_can_do() {
        let recent = [
            job(3, JobKind::Build, "master", JobState::Succeeded, None),
            job(
                2,
                JobKind::Release,
                "master",
                JobState::AwaitingApproval,
                None,
            ),
            job(1, JobKind::Build, "fix", JobState::Building, None),
        ];
        assert_eq!(values(&jobs(&recent, JobsFor::Status, "")), ["2", "1", "3"]);
        assert_eq!(values(&jobs(&recent, JobsFor::Cancel, "")), ["2", "1"]);
        assert_eq!(values(&jobs(&recent, JobsFor::Vote, "#")), ["2"]);
        assert!(
            jobs(&recent, JobsFor::Status, "#2")[0]
                .label
                .contains("#2 release web@master")
        );
    }

    #[test]
    fn at_most_twenty_five_suggestions_with_short_labels() {
        let many = (0..40).map(|i| Suggestion {
            label: format!("{i} {}", "x".repeat(120)),
            value: i.to_string(),
        });
        let out = matching(many, "");
        assert_eq!(out.len(), MAX);
        assert!(out.iter().all(|s| s.label.chars().count() <= 100));
    }
}
