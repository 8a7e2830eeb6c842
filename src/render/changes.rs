//! What a deploy changes, as approvers read it: a heading saying what the list is
//! (or what is known when there is no list), then one line per build, newest first:
//! run number (linked to the build in the PaaS's UI), short commit (linked to the git
//! provider), the commit's subject and its author. Subjects and authors are outside
//! text: escaped so they ping no one and format nothing.

use super::View;
use crate::job::changes::{ChangeKind, ChangeLine, Changes, Unknowable};

/// The heading and lines of a change list for `app`.
pub fn changes(c: &Changes, app: &str, view: &View) -> Vec<String> {
    let to = view.text(&c.to);
    let project = c
        .project
        .as_deref()
        .map_or_else(|| app.to_string(), |p| view.text(p));
    let builds = |n: usize| match n {
        1 => "1 build".to_string(),
        n => format!("{n} builds"),
    };
    let count = c.lines.len() + c.more;
    let from = c.from.as_deref().map(|f| view.text(f)).unwrap_or_default();
    let heading = match &c.kind {
        ChangeKind::Brings => format!("changes  {} since {from}:", builds(count)),
        ChangeKind::TakesAway => format!("changes  rolling back takes away {}:", builds(count)),
        ChangeKind::Same => format!("changes  none: {app} already runs {to}"),
        ChangeKind::UnknownTarget => format!(
            "changes  releasebot cannot show what {to} contains: no known build of {project} produced it"
        ),
        ChangeKind::UnknownRunning => {
            format!("changes  unknown: what {app} runs now is not known; {to} is:")
        }
        ChangeKind::RunningNotBuilt { running } => format!(
            "changes  unknown: {app} runs {}, a tag no pipeline run of {project} produced; {to} is:",
            view.text(running)
        ),
        ChangeKind::OtherBranch { running } => format!(
            "changes  unknown: {app} runs {}, built from another branch; {to} is:",
            view.text(running)
        ),
        ChangeKind::Unknown { reason } => {
            let why = match reason {
                Unknowable::NoBuilder { app } => {
                    format!("no project builds {app} (set [apps.{app}] built_by)")
                }
                Unknowable::Unreadable { project } => {
                    format!("the builds of {project} could not be read")
                }
                Unknowable::NoTagYet { project } => {
                    format!("no build of {project} produced a tag yet")
                }
            };
            format!("changes  unknown: {}", view.text(&why))
        }
    };
    let mut lines = vec![heading];
    // The list takes at most half the message, so what the message asks (the votes,
    // how to answer) always fits: builds past that are counted instead.
    let mut room = view.style.max_chars / 2;
    let mut more = c.more;
    for (i, l) in c.lines.iter().enumerate() {
        let shown = format!("- {}", line(l, view));
        let cost = shown.chars().count() + 1;
        if cost > room {
            more += c.lines.len() - i;
            break;
        }
        room -= cost;
        lines.push(shown);
    }
    if more > 0 {
        lines.push(format!("- and {more} more"));
    }
    lines
}

/// `#12 · c7f1f22 · Fix the login redirect loop — Alice`: a build and its commit.
pub fn line(l: &ChangeLine, view: &View) -> String {
    let mut parts = vec![view.run(&l.execution)];
    if let Some(short) = l.short_commit() {
        parts.push(view.commit(short, l.link.as_deref()));
    }
    if !l.subject.is_empty() {
        parts.push(view.text(&l.subject));
    }
    let mut text = parts.join(" · ");
    if let Some(author) = &l.author {
        text.push_str(&format!(" — {}", view.text(author)));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::Style;
    use crate::ids::ExecutionId;

    fn discord() -> View {
        View::new(
            Style {
                mentions: true,
                links: true,
                markdown: true,
                ..Style::default()
            },
            Some(super::super::Ui {
                base: "https://rancher.example.com".into(),
                clusters: vec![("p-5tfq9".into(), "c-64wdm".into())],
                apps: Vec::new(),
            }),
        )
    }

    fn brings(subject: &str, author: &str) -> Changes {
        Changes {
            kind: ChangeKind::Brings,
            from: Some("master-10-5132c81".into()),
            to: "master-12-c7f1f22".into(),
            project: Some("web".into()),
            lines: vec![ChangeLine {
                execution: ExecutionId::parse("p-5tfq9:p-tpk2x-12").unwrap(),
                commit: Some("c7f1f22aaaabbbbccccddddeeeeffff000011112".into()),
                subject: subject.into(),
                author: Some(author.into()),
                link: Some("https://git.example.com/team/web/commit/c7f1f22".into()),
            }],
            more: 3,
        }
    }

    #[test]
    fn the_terminal_shows_plain_text() {
        let lines = changes(&brings("Fix login", "Alice"), "web", &View::default());
        assert_eq!(
            lines,
            [
                "changes  4 builds since master-10-5132c81:",
                "- #12 · c7f1f22 · Fix login — Alice",
                "- and 3 more",
            ]
        );
    }

    #[test]
    fn discord_shows_masked_links_and_outside_text_pings_no_one() {
        let c = brings(
            "@everyone **urgent** <@&123456789012345678> ```rust [x](https://evil.example.com)",
            "Carol <@111111111111111111>",
        );
        let line = &changes(&c, "web", &discord())[1];
        assert!(
            line.starts_with("- [#12](<https://rancher.example.com/p/c-64wdm:p-5tfq9/pipeline/pipelines/p-5tfq9:p-tpk2x/run/12>) · [c7f1f22](<https://git.example.com/team/web/commit/c7f1f22>) · "),
            "{line}"
        );
        // Every mark that would ping or format is escaped (a zero-width space keeps
        // `@everyone` a plain word).
        assert!(!line.contains("@everyone"), "{line}");
        assert!(line.contains("@\u{200B}everyone"), "{line}");
        for unescaped in [" <@&", " <@1", " **", " ```", "[x](https"] {
            assert!(!line.contains(unescaped), "{unescaped} in {line}");
        }
        assert!(line.contains(r"\<@&123456789012345678\>"), "{line}");
    }

    #[test]
    fn a_long_list_leaves_room_for_the_rest_of_the_message() {
        let view = discord();
        let mut c = brings(&"x".repeat(72), &"y".repeat(40));
        c.lines = vec![c.lines[0].clone(); 10];
        c.more = 2;
        let lines = changes(&c, "web", &view);
        let used: usize = lines.iter().map(|l| l.chars().count() + 1).sum();
        assert!(used <= view.style.max_chars / 2 + 80, "{used}: {lines:?}");
        let shown = lines.iter().filter(|l| l.starts_with("- [#")).count();
        assert!(shown < 10, "{lines:?}");
        assert_eq!(
            lines.last().unwrap(),
            &format!("- and {} more", 10 - shown + 2)
        );
    }

    #[test]
    fn an_unknown_tag_says_so_plainly() {
        let c = Changes {
            kind: ChangeKind::UnknownTarget,
            to: "v9.9.9".into(),
            ..brings("", "")
        };
        let c = Changes {
            lines: Vec::new(),
            more: 0,
            ..c
        };
        assert_eq!(
            changes(&c, "web", &View::default()),
            [
                "changes  releasebot cannot show what v9.9.9 contains: no known build of web produced it"
            ]
        );
    }
}
