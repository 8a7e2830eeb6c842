//! What a deploy changes: the builds between the tag running on an app and the tag it
//! is deployed to, as approvers read them before they vote. A rollback lists what it
//! takes away. Where the builds do not tell (the running tag is unknown, or no build
//! produced one of the tags), the list says what is known rather than guess.
//!
//! Commit messages and authors are outside input: they reach here redacted, and are
//! cut to their first line and a length here; the renderer escapes them for the chat.

use serde::{Deserialize, Serialize};

use crate::ids::ExecutionId;

/// The most builds a change list names; the rest are counted ("and 3 more").
pub const MAX_LINES: usize = 10;

/// The longest subject shown, in characters, before it is cut with `…`.
pub const MAX_SUBJECT: usize = 72;

/// The longest author shown, in characters.
const MAX_AUTHOR: usize = 40;

/// How many hex digits of a commit are shown.
const SHORT_COMMIT: usize = 7;

/// One build of a pipeline as the change list needs it; the PaaS client makes it from
/// the execution it read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineBuild {
    pub execution: ExecutionId,
    pub branch: Option<String>,
    /// When the execution started, as the PaaS says.
    pub started_ms: Option<i64>,
    /// The tag it produced, for a build that succeeded with one.
    pub tag: Option<String>,
    pub commit: Option<String>,
    /// The whole commit message, redacted.
    pub message: Option<String>,
    pub author: Option<String>,
    /// The commit's page at the git provider, when it says (`htmlLink`).
    pub link: Option<String>,
}

/// One build in a change list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeLine {
    pub execution: ExecutionId,
    /// The full commit id, for links; shown short ([`ChangeLine::short_commit`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The first line of the commit message, length-capped.
    #[serde(default)]
    pub subject: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

impl ChangeLine {
    fn of(b: &PipelineBuild) -> Self {
        ChangeLine {
            execution: b.execution.clone(),
            commit: b.commit.clone().filter(|c| is_commit(c)),
            subject: b.message.as_deref().map(subject).unwrap_or_default(),
            author: b.author.as_deref().map(author).filter(|a| !a.is_empty()),
            link: b.link.clone(),
        }
    }

    /// The commit's first seven hex digits.
    pub fn short_commit(&self) -> Option<&str> {
        self.commit.as_deref().map(|c| &c[..SHORT_COMMIT])
    }
}

/// What the list says about the builds it names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChangeKind {
    /// The builds the deploy brings, newest first.
    Brings,
    /// The builds a rollback takes away, newest first.
    TakesAway,
    /// The tag already runs: nothing changes.
    Same,
    /// No known build produced the tag deployed: its contents cannot be shown.
    UnknownTarget,
    /// What runs now is unknown; the line is the deployed tag's own build.
    UnknownRunning,
    /// No known build produced what runs now; the line is the deployed tag's build.
    RunningNotBuilt { running: String },
    /// The two tags were built from different branches; the line is the deployed
    /// tag's build.
    OtherBranch { running: String },
    /// The builds could not tell.
    Unknown { reason: Unknowable },
}

/// Why the builds could not tell what a deploy changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "why", rename_all = "snake_case")]
pub enum Unknowable {
    /// No configured project builds the app.
    NoBuilder { app: String },
    /// The PaaS did not answer the listing of the project's builds.
    Unreadable { project: String },
    /// No build of the project produced a tag yet.
    NoTagYet { project: String },
}

/// What a deploy changes, kept on the job for its messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changes {
    pub kind: ChangeKind,
    /// The tag running before, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The tag deployed.
    pub to: String,
    /// The project whose pipeline built the tags, for its commit links.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// At most [`MAX_LINES`] builds, newest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<ChangeLine>,
    /// How many more builds there are than `lines` names.
    #[serde(default)]
    pub more: usize,
}

impl Changes {
    /// The builds could not be read: say so, and why.
    pub fn unknown(to: &str, reason: Unknowable) -> Self {
        Changes {
            kind: ChangeKind::Unknown { reason },
            from: None,
            to: to.to_string(),
            project: None,
            lines: Vec::new(),
            more: 0,
        }
    }

    /// The project whose commits the lines are; with its `commit_url` template
    /// (`{commit}` standing for the commit id), each commit links there instead of to
    /// the page the PaaS named.
    pub fn of_project(mut self, project: &str, commit_url: Option<&str>) -> Self {
        self.project = Some(project.to_string());
        if let Some(template) = commit_url {
            for line in &mut self.lines {
                if let Some(commit) = &line.commit {
                    line.link = Some(template.replace("{commit}", commit));
                }
            }
        }
        self
    }
}

/// What deploying `to` onto an app running `running` changes, from the builds of the
/// pipeline that builds the app (in any order).
pub fn between(running: Option<&str>, to: &str, builds: &[PipelineBuild]) -> Changes {
    let mut builds: Vec<&PipelineBuild> = builds.iter().collect();
    builds.sort_by_key(|b| b.execution.run);
    let produced = |tag: &str| {
        builds
            .iter()
            .copied()
            .find(|b| b.tag.as_deref() == Some(tag))
    };
    let changes = |kind, lines: Vec<&PipelineBuild>| Changes {
        from: running.map(str::to_string),
        ..listed(kind, to, lines)
    };
    let Some(target) = produced(to) else {
        return changes(ChangeKind::UnknownTarget, Vec::new());
    };
    let Some(running) = running else {
        return changes(ChangeKind::UnknownRunning, vec![target]);
    };
    if running == to {
        return changes(ChangeKind::Same, Vec::new());
    }
    let Some(current) = produced(running) else {
        let kind = ChangeKind::RunningNotBuilt {
            running: running.to_string(),
        };
        return changes(kind, vec![target]);
    };
    if current.branch != target.branch {
        let kind = ChangeKind::OtherBranch {
            running: running.to_string(),
        };
        return changes(kind, vec![target]);
    }
    let (low, high, kind) = match current.execution.run < target.execution.run {
        true => (current, target, ChangeKind::Brings),
        false => (target, current, ChangeKind::TakesAway),
    };
    let lines = builds
        .iter()
        .copied()
        .filter(|b| b.execution.run > low.execution.run && b.execution.run <= high.execution.run)
        .filter(|b| b.branch == target.branch && b.tag.is_some())
        .rev()
        .collect();
    changes(kind, lines)
}

/// The change list naming `builds` (newest first), at most [`MAX_LINES`] of them.
fn listed(kind: ChangeKind, to: &str, builds: Vec<&PipelineBuild>) -> Changes {
    Changes {
        kind,
        from: None,
        to: to.to_string(),
        project: None,
        more: builds.len().saturating_sub(MAX_LINES),
        lines: builds
            .into_iter()
            .take(MAX_LINES)
            .map(ChangeLine::of)
            .collect(),
    }
}

/// The newest build of `branch` that produced a tag: what `/changes` shows when no
/// tag is named.
pub fn newest_tag<'a>(builds: &'a [PipelineBuild], branch: &str) -> Option<&'a str> {
    builds
        .iter()
        .filter(|b| b.branch.as_deref() == Some(branch))
        .filter_map(|b| Some((b.execution.run, b.tag.as_deref()?)))
        .max_by_key(|(run, _)| *run)
        .map(|(_, tag)| tag)
}

/// The commit a build's own message shows: short commit, subject and author.
pub fn commit_line(b: &PipelineBuild) -> ChangeLine {
    ChangeLine::of(b)
}

/// The first line of a commit message, cut to [`MAX_SUBJECT`] characters.
pub fn subject(message: &str) -> String {
    cap(first_line(message), MAX_SUBJECT)
}

/// An author's name on one line, cut to a length.
pub fn author(name: &str) -> String {
    cap(first_line(name), MAX_AUTHOR)
}

fn first_line(s: &str) -> &str {
    s.trim().lines().next().unwrap_or_default().trim()
}

fn cap(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", s[..cut].trim_end()),
        None => s.to_string(),
    }
}

/// Whether `c` is a commit id worth shortening: seven or more hex digits.
fn is_commit(c: &str) -> bool {
    c.len() >= SHORT_COMMIT && c.chars().all(|c| c.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{PipelineId, ProjectId};

    fn build(run: u64, tag: Option<&str>) -> PipelineBuild {
        PipelineBuild {
            started_ms: None,
            execution: ExecutionId::new(
                ProjectId::parse("p-1").unwrap(),
                PipelineId::parse("p-2").unwrap(),
                run,
            ),
            branch: Some("master".into()),
            tag: tag.map(str::to_string),
            commit: Some(format!("{run:0>7}abcdef0123456789")),
            message: Some(format!("change {run}\n\nbody")),
            author: Some(format!("dev{run}")),
            link: None,
        }
    }

    /// Builds 1..=n, each tagging `t<run>`, except failed runs.
    fn builds(n: u64, failed: &[u64]) -> Vec<PipelineBuild> {
        (1..=n)
            .map(|r| {
                build(
                    r,
                    (!failed.contains(&r)).then(|| format!("t{r}")).as_deref(),
                )
            })
            .collect()
    }

    fn runs(c: &Changes) -> Vec<u64> {
        c.lines.iter().map(|l| l.execution.run).collect()
    }

    /// A case: its name, the running tag, the tag deployed, what the list says and
    /// the runs it names.
    type Case = (
        &'static str,
        Option<&'static str>,
        &'static str,
        ChangeKind,
        &'static [u64],
    );

    #[test]
    fn the_list_follows_the_tags() {
        let cases: &[Case] = &[
            ("forward", Some("t1"), "t3", ChangeKind::Brings, &[3, 2]),
            (
                "rollback",
                Some("t5"),
                "t2",
                ChangeKind::TakesAway,
                &[5, 4, 3],
            ),
            (
                "failed runs left out",
                Some("t1"),
                "t7",
                ChangeKind::Brings,
                &[7, 5, 4, 3, 2],
            ),
            ("same", Some("t3"), "t3", ChangeKind::Same, &[]),
            (
                "unknown target",
                Some("t1"),
                "v9.9.9",
                ChangeKind::UnknownTarget,
                &[],
            ),
            (
                "unknown running",
                None,
                "t3",
                ChangeKind::UnknownRunning,
                &[3],
            ),
            (
                "running not built",
                Some("hotfix-1"),
                "t3",
                ChangeKind::RunningNotBuilt {
                    running: "hotfix-1".into(),
                },
                &[3],
            ),
        ];
        let all = builds(7, &[6]);
        for (name, running, to, kind, want) in cases {
            let c = between(*running, to, &all);
            assert_eq!(&c.kind, kind, "{name}");
            assert_eq!(runs(&c), *want, "{name}");
            assert_eq!(c.more, 0, "{name}");
        }
    }

    #[test]
    fn builds_of_another_branch_say_so() {
        let mut all = builds(4, &[]);
        all[3].branch = Some("feature".into());
        let c = between(Some("t1"), "t4", &all);
        assert_eq!(
            c.kind,
            ChangeKind::OtherBranch {
                running: "t1".into()
            }
        );
        assert_eq!(runs(&c), [4]);
        // Builds of other branches between two of the same are not listed.
        let c = between(
            Some("t1"),
            "t3",
            &[all[3].clone(), all[2].clone(), all[0].clone()],
        );
        assert_eq!(runs(&c), [3]);
    }

    #[test]
    fn at_most_ten_builds_then_how_many_more() {
        let c = between(Some("t1"), "t14", &builds(14, &[]));
        assert_eq!(runs(&c), (5..=14).rev().collect::<Vec<_>>());
        assert_eq!(c.more, 3);
    }

    #[test]
    fn a_line_is_short_commit_first_line_and_author() {
        let mut b = build(2, Some("t2"));
        b.message = Some(format!("  {}\nsecond line", "x".repeat(100)));
        b.author = Some("Alice\nEvil".into());
        let line = ChangeLine::of(&b);
        assert_eq!(line.short_commit(), Some("0000002"));
        assert_eq!(line.subject.chars().count(), MAX_SUBJECT + 1);
        assert!(line.subject.ends_with('…'));
        assert_eq!(line.author.as_deref(), Some("Alice"));
        b.commit = Some("not-a-sha".into());
        assert_eq!(ChangeLine::of(&b).short_commit(), None);
        b.commit = Some("abc12".into());
        assert_eq!(
            ChangeLine::of(&b).short_commit(),
            None,
            "fewer than 7 digits"
        );
    }

    #[test]
    fn the_project_s_commit_url_replaces_the_paas_link() {
        let mut all = builds(2, &[]);
        all[1].link = Some("https://paas-said.example.com/x".into());
        let c = between(Some("t1"), "t2", &all);
        assert_eq!(c.clone().of_project("web", None).lines[0].link, all[1].link);
        let c = c.of_project("web", Some("https://git.example.com/web/commit/{commit}"));
        assert_eq!(
            c.lines[0].link.as_deref(),
            Some("https://git.example.com/web/commit/0000002abcdef0123456789")
        );
        assert_eq!(c.project.as_deref(), Some("web"));
    }

    #[test]
    fn the_newest_tagged_build_of_the_branch() {
        let mut all = builds(4, &[4]);
        all[2].branch = Some("feature".into());
        assert_eq!(newest_tag(&all, "master"), Some("t2"));
        assert_eq!(newest_tag(&all, "nope"), None);
    }
}
