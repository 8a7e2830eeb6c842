//! What a command is, as data: its name, usage, help line and options. `/help`, the
//! terminal grammar, the Discord slash-command definitions and autocomplete are all
//! built from these, so a command is described once, in its own file.

use super::access::Action;
use super::suggest::JobsFor;

/// A command's description.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub name: &'static str,
    /// Whether it starts a job, which needs a thread and messages in the channel.
    pub starts_job: bool,
    /// `/build <project> [branch]`.
    pub usage: &'static str,
    /// One line for `/help` and the slash command's description (at most 100 characters).
    pub help: &'static str,
    /// The options in the order the terminal grammar takes them; required ones first.
    pub options: &'static [OptionSpec],
}

/// One option of a command.
#[derive(Debug, Clone, Copy)]
pub struct OptionSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub kind: Kind,
    pub required: bool,
    pub completion: Completion,
}

/// What an option holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A name, a branch, a tag, a duration, words.
    Text,
    /// A job number.
    Job,
    /// A count from 1 to 50.
    Count,
    /// The rest of the line (a reason): several words in the terminal.
    Rest,
    /// Words given only on purpose: in the terminal written last as `name: words…`
    /// (`override: hotfix for #4411`); on Discord an ordinary text option.
    Tagged,
}

/// What is offered while a person types an option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    Nothing,
    /// The projects the person may run this on.
    Project(Action),
    /// The apps the person may run this on.
    App(Action),
    /// Branches of the project named in the `project` option.
    Branch,
    /// Version tags built for the app named in the `app` option.
    BuiltTag,
    /// Version tags that history shows succeeded on the app named in the `app` option.
    DeployedTag,
    /// Projects and apps.
    HistoryTarget,
    /// The apps `actor` may freeze, and `all`.
    FreezeTarget,
    /// Apps whose live tag may be promoted into the app named in the `to` option (or
    /// into any app, while it is empty).
    PromoteFrom,
    Job(JobsFor),
}

impl OptionSpec {
    pub const fn text(
        name: &'static str,
        description: &'static str,
        required: bool,
        completion: Completion,
    ) -> Self {
        OptionSpec {
            name,
            description,
            kind: Kind::Text,
            required,
            completion,
        }
    }

    /// `override: <reason>`: an admin deploys through a freeze.
    pub const OVERRIDE: OptionSpec = OptionSpec {
        name: "override",
        description: "admins only: deploy through a freeze, and why",
        kind: Kind::Tagged,
        required: false,
        completion: Completion::Nothing,
    };

    pub const fn job(description: &'static str, which: JobsFor) -> Self {
        OptionSpec {
            name: "job",
            description,
            kind: Kind::Job,
            required: true,
            completion: Completion::Job(which),
        }
    }
}
