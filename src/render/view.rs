//! How job messages are written on the chat at hand: people as mentions or names,
//! times as each reader's clock or in UTC, builds and apps as links to the PaaS's UI.

use super::time_of_day;
use crate::chat::Style;
use crate::ids::{AppId, ExecutionId};

/// Where the PaaS's web UI is, and which Rancher cluster each Rancher project is in
/// (the UI's paths name both).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ui {
    /// `https://rancher.example.com`, without a trailing slash.
    pub base: String,
    /// Rancher project id (`p-5tfq9`) → its cluster id (`c-64wdm`).
    pub clusters: Vec<(String, String)>,
    /// Rancher app id (`project-deploy`) → its project id.
    pub apps: Vec<(String, String)>,
}

/// How the job's messages are written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct View {
    pub style: Style,
    pub ui: Option<Ui>,
}

impl View {
    pub fn new(style: Style, ui: Option<Ui>) -> Self {
        View { style, ui }
    }

    /// A person: `<@id>` where the chat shows mentions (without notifying anyone:
    /// only a new message's allowed mentions do), their name otherwise.
    pub fn person(&self, id: &str, name: &str) -> String {
        if self.style.mentions && !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()) {
            format!("<@{id}>")
        } else {
            self.text(name)
        }
    }

    /// Outside text (a name, a stage, a tag, the PaaS's message, a reason someone
    /// typed) as part of a line: on one line, and unable to change the message around
    /// it in this medium.
    pub fn text(&self, s: &str) -> String {
        let line = super::escape::one_line(s);
        if self.style.markdown {
            super::escape::markdown(&line)
        } else {
            line
        }
    }

    /// Lines of outside text as a code block that none of them can close.
    pub fn block(&self, lines: &[String]) -> String {
        let body: Vec<String> = lines.iter().map(|l| super::escape::code_line(l)).collect();
        format!("```\n{}\n```", body.join("\n"))
    }

    /// A time of day: in each reader's clock where the chat can, `14:02 UTC` otherwise.
    pub fn time(&self, ms: i64) -> String {
        if self.style.timestamps {
            format!("<t:{}:t>", ms.div_euclid(1000))
        } else {
            time_of_day(ms)
        }
    }

    /// A time to come, as "in 42 minutes" where the chat can, `14:02 UTC` otherwise.
    pub fn relative(&self, ms: i64) -> String {
        if self.style.timestamps {
            format!("<t:{}:R>", ms.div_euclid(1000))
        } else {
            time_of_day(ms)
        }
    }

    pub(super) fn link(&self, text: &str, url: Option<String>) -> String {
        match url {
            Some(url) if self.style.links => format!("[{text}](<{url}>)"),
            _ => text.to_string(),
        }
    }

    fn project_path(&self, project: &str) -> Option<(String, String)> {
        let ui = self.ui.as_ref()?;
        let cluster = ui
            .clusters
            .iter()
            .find(|(p, _)| p == project)
            .map(|(_, c)| c)?;
        Some((ui.base.clone(), format!("/p/{cluster}:{project}")))
    }

    /// A build's name, linked to its page in the PaaS's UI where there is one.
    pub fn execution(&self, e: &ExecutionId) -> String {
        self.link(&e.name(), self.execution_url(e))
    }

    /// A build as its run number, `#12`, linked like [`View::execution`].
    pub fn run(&self, e: &ExecutionId) -> String {
        self.link(&format!("#{}", e.run), self.execution_url(e))
    }

    /// A commit's short id, linked to its page at the git provider when `url` is a
    /// link that cannot break out of the masked link around it (the URL comes from
    /// outside: the PaaS or the configuration).
    pub fn commit(&self, short: &str, url: Option<&str>) -> String {
        let url = url.filter(|u| {
            (u.starts_with("https://") || u.starts_with("http://"))
                && u.chars()
                    .all(|c| c.is_ascii_graphic() && !"<>()[]\\`\"'|".contains(c))
        });
        self.link(&self.text(short), url.map(str::to_string))
    }

    fn execution_url(&self, e: &ExecutionId) -> Option<String> {
        let project = e.project.as_str();
        self.project_path(project).map(|(base, path)| {
            format!(
                "{base}{path}/pipeline/pipelines/{project}:{}/run/{}",
                e.pipeline, e.run
            )
        })
    }

    /// A Rancher app's name, linked to its page in the PaaS's UI where there is one.
    pub fn app(&self, app: &AppId) -> String {
        let project = self.ui.as_ref().and_then(|ui| {
            ui.apps
                .iter()
                .find(|(a, _)| a == app.as_str())
                .map(|(_, p)| p.clone())
        });
        let url = project.and_then(|p| {
            self.project_path(&p)
                .map(|(base, path)| format!("{base}{path}/apps/{p}:{app}"))
        });
        self.link(app.as_str(), url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discord_shows_mentions_timestamps_and_links_the_terminal_does_not() {
        let plain = View::default();
        let discord = View::new(
            Style {
                mentions: true,
                timestamps: true,
                links: true,
                ..Style::default()
            },
            Some(Ui {
                base: "https://rancher.example.com".into(),
                clusters: vec![("p-5tfq9".into(), "c-64wdm".into())],
                apps: vec![("project-deploy".into(), "p-5tfq9".into())],
            }),
        );
        assert_eq!(plain.person("123", "bob"), "bob");
        assert_eq!(discord.person("123", "bob"), "<@123>");
        assert_eq!(discord.person("bob", "bob"), "bob", "not a platform id");
        assert_eq!(discord.time(1_700_000_000_999), "<t:1700000000:t>");
        assert!(plain.time(0).ends_with(" UTC"));
        let e = ExecutionId::parse("p-5tfq9:p-tpk2x-57").unwrap();
        assert_eq!(plain.execution(&e), "p-tpk2x-57");
        assert_eq!(plain.run(&e), "#57");
        assert!(
            discord
                .run(&e)
                .starts_with("[#57](<https://rancher.example.com/p/")
        );
        let commit = "https://git.example.com/c/5132c81";
        assert_eq!(plain.commit("5132c81", Some(commit)), "5132c81");
        assert_eq!(
            discord.commit("5132c81", Some(commit)),
            format!("[5132c81](<{commit}>)")
        );
        for bad in [
            "https://x/>) [evil](https://e",
            "javascript:alert(1)",
            "https://x/a b",
        ] {
            assert_eq!(discord.commit("5132c81", Some(bad)), "5132c81", "{bad}");
        }
        assert_eq!(
            discord.execution(&e),
            "[p-tpk2x-57](<https://rancher.example.com/p/c-64wdm:p-5tfq9/pipeline/pipelines/p-5tfq9:p-tpk2x/run/57>)"
        );
        let app = AppId::parse("project-deploy").unwrap();
        assert_eq!(
            discord.app(&app),
            "[project-deploy](<https://rancher.example.com/p/c-64wdm:p-5tfq9/apps/p-5tfq9:project-deploy>)"
        );
    }
}
