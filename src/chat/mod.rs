//! What the release engine needs from a chat platform, and nothing more.
//!
//! The engine opens a thread for a request, posts and edits messages in it and adds
//! reactions. Adapters (terminal, Discord, the in-memory chat of the tests) implement
//! [`Chat`] and deliver what people do as [`crate::commands::ChatEvent`]s. Nothing
//! here knows a platform: a new adapter is a new module implementing [`Chat`].

pub mod paced;
pub mod writer;

use std::time::Duration;

use async_trait::async_trait;

/// A person acting in chat, with the roles the adapter found for them (role names,
/// and on Discord role ids too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// A stable id on the platform (the Discord user id, the terminal user name).
    pub id: String,
    /// The name shown to people.
    pub name: String,
    pub roles: Vec<String>,
    /// Role names among `roles` that more than one role of the server bears (a second
    /// role called "Admin", made by anyone allowed to manage roles). Such a name does
    /// not say which role the person holds, so it grants nothing where one particular
    /// role must be meant (the admin roles). Only the adapter can tell; ids are never
    /// ambiguous.
    pub ambiguous: Vec<String>,
}

impl Actor {
    pub fn new(id: impl Into<String>, name: impl Into<String>, roles: Vec<String>) -> Self {
        Actor {
            id: id.into(),
            name: name.into(),
            roles,
            ambiguous: Vec::new(),
        }
    }

    /// The same person, with `names` among their roles known to be ambiguous.
    pub fn with_ambiguous(mut self, names: Vec<String>) -> Self {
        self.ambiguous = names;
        self
    }

    /// Whether the actor holds one of `roles` (compared without regard to case).
    pub fn has_any_role(&self, roles: &[String]) -> bool {
        roles.iter().any(|want| {
            self.roles
                .iter()
                .any(|have| have.eq_ignore_ascii_case(want))
        })
    }

    /// Whether the actor holds one of `roles` by an id, or by a name that no other role
    /// of the server bears.
    pub fn has_any_role_unambiguously(&self, roles: &[String]) -> bool {
        roles.iter().any(|want| {
            self.roles
                .iter()
                .any(|have| have.eq_ignore_ascii_case(want) && !self.is_ambiguous(have))
        })
    }

    /// Whether `role` is a name that several roles of the server bear.
    pub fn is_ambiguous(&self, role: &str) -> bool {
        self.ambiguous
            .iter()
            .any(|name| name.eq_ignore_ascii_case(role))
    }
}

/// A message on the platform: its channel (or thread) and its id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct MessageRef {
    pub channel: String,
    pub message: String,
}

/// A thread opened for one request, on a summary message in the channel.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ThreadRef {
    /// The channel the request came from.
    pub channel: String,
    /// The thread (a channel of its own on Discord).
    pub thread: String,
    /// The one-line summary in the channel that the thread hangs from.
    pub summary: MessageRef,
}

/// Where a command came from, when the platform gave it a message of its own: on
/// Discord, the interaction a slash command arrived with, whose follow-up messages the
/// bot may post and edit outside its shared budget while the interaction lives. Only
/// the adapter that made it knows what it stands for (the interaction's token never
/// leaves the adapter); it is kept in memory, never stored.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin(pub String);

/// A thread opened for a request, and whether its summary message is the job's own
/// message (posted as the command's follow-up): then that message shows the progress,
/// and its edits cost the shared budget nothing while the platform allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    pub thread: ThreadRef,
    pub own_message: bool,
}

/// What a message shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    pub text: String,
    /// Roles this message may notify (an approval asking its approvers).
    pub mention_roles: Vec<String>,
    /// People (by id) this message may notify (the requester, when their job ended).
    /// Nothing else in a message ever notifies anyone.
    pub mention_users: Vec<String>,
    pub buttons: Vec<Button>,
    /// Files shown with the message (PNG charts); sent with a new message only, an
    /// edit keeps the files it had.
    pub files: Vec<Attachment>,
}

/// A file shown with a message: its name (`stats-web.png`) and its bytes.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Attachment {
    pub name: String,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Attachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Attachment({}, {} bytes)", self.name, self.bytes.len())
    }
}

impl Message {
    pub fn text(text: impl Into<String>) -> Self {
        Message {
            text: text.into(),
            ..Message::default()
        }
    }
}

/// What the platform allows in a message, and how it shows people, times and links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// The most characters a message may hold.
    pub max_chars: usize,
    /// A person can be named as `<@id>`: each reader sees their name, and only a new
    /// message whose allowed mentions name them notifies them.
    pub mentions: bool,
    /// A time can be written `<t:seconds:t>` (or `:R`, "in 5 minutes") and each reader
    /// sees it in their own time zone.
    pub timestamps: bool,
    /// `[text](url)` shows as a link.
    pub links: bool,
    /// Text is read as markdown, so outside text must be escaped to show as typed.
    pub markdown: bool,
}

impl Default for Style {
    /// Plain text within Discord's length, the tightest of the platforms releasebot
    /// speaks to.
    fn default() -> Self {
        Style {
            max_chars: 2000,
            mentions: false,
            timestamps: false,
            links: false,
            markdown: false,
        }
    }
}

/// A button under a message; pressing it arrives as [`ChatEvent::Button`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    pub action: ButtonAction,
    pub label: String,
    pub style: ButtonStyle,
}

/// What pressing a button asks for. Adapters carry it as the button's id
/// ([`ButtonAction::id`]) and read it back with [`ButtonAction::parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ButtonAction {
    Approve(crate::names::JobId),
    Reject(crate::names::JobId),
    /// Roll the app of a failed deploy back to what ran before it.
    Rollback(crate::names::JobId),
}

impl ButtonAction {
    /// The id a platform keeps on the button: `approve:12`.
    pub fn id(&self) -> String {
        match self {
            ButtonAction::Approve(job) => format!("approve:{}", job.0),
            ButtonAction::Reject(job) => format!("reject:{}", job.0),
            ButtonAction::Rollback(job) => format!("rollback:{}", job.0),
        }
    }

    /// The action a button id stands for; `None` for an id releasebot never made.
    pub fn parse(id: &str) -> Option<Self> {
        let (action, job) = id.split_once(':')?;
        let job = crate::names::JobId::parse(job).ok()?;
        match action {
            "approve" => Some(ButtonAction::Approve(job)),
            "reject" => Some(ButtonAction::Reject(job)),
            "rollback" => Some(ButtonAction::Rollback(job)),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ButtonStyle {
    Success,
    Danger,
    Secondary,
}

/// A chat call that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ChatError {
    pub message: String,
    /// The platform asked to wait this long (a 429).
    pub retry_after: Option<Duration>,
    /// Retrying cannot help (the message is gone, the bot lacks a permission).
    pub permanent: bool,
}

impl ChatError {
    pub fn transient(message: impl Into<String>) -> Self {
        ChatError {
            message: message.into(),
            retry_after: None,
            permanent: false,
        }
    }

    /// The platform asked to wait `after` before trying again.
    pub fn rate_limited(message: impl Into<String>, after: Duration) -> Self {
        ChatError {
            retry_after: Some(after),
            ..ChatError::transient(message)
        }
    }

    pub fn permanent(message: impl Into<String>) -> Self {
        ChatError {
            message: message.into(),
            retry_after: None,
            permanent: true,
        }
    }
}

/// What the engine asks of a chat platform.
#[async_trait]
pub trait Chat: Send + Sync {
    /// The call rates the platform allows; the engine keeps under them. The default is
    /// Discord's: 5 messages or edits per 5 s in a channel, 50 requests per second.
    fn limits(&self) -> paced::Limits {
        paced::Limits::default()
    }

    /// What messages may hold on this platform.
    fn style(&self) -> Style {
        Style::default()
    }

    /// A remark from releasebot itself to whoever runs it ("resuming 2 unfinished
    /// jobs"): the terminal prints it; elsewhere it is only logged.
    fn note(&self, note: &str) {
        tracing::info!("{note}");
    }

    /// Posts `summary` in `channel` and opens a thread named `title` on it, kept open
    /// for at least `keep_open` without new messages where the platform archives
    /// quiet threads.
    async fn open_thread(
        &self,
        channel: &str,
        summary: &Message,
        title: &str,
        keep_open: Duration,
    ) -> Result<ThreadRef, ChatError>;

    /// Opens a thread as [`Chat::open_thread`] does, but on a message of the command's
    /// own (`origin`) where the platform gives one, whose edits then do not count
    /// against the shared budget (see [`Chat::own_budget`]). The default (and any
    /// origin the adapter cannot use) opens the thread on a message like any other.
    async fn open_thread_on(
        &self,
        origin: &Origin,
        channel: &str,
        summary: &Message,
        title: &str,
        keep_open: Duration,
    ) -> Result<Opened, ChatError> {
        let _ = origin;
        let thread = self.open_thread(channel, summary, title, keep_open).await?;
        Ok(Opened {
            thread,
            own_message: false,
        })
    }

    /// Whether an edit of `target` now goes outside the shared budget (the global
    /// and per-channel limits of [`Chat::limits`]): a command's own message while the
    /// platform still lets the bot edit it that way. It then has a budget of its own,
    /// `per_channel` edits per `channel_window`. The default: never.
    fn own_budget(&self, _target: &MessageRef) -> bool {
        false
    }

    /// A link to `thread` that anyone in the server can open (on Discord,
    /// `https://discord.com/channels/<server>/<thread>`); the default: none.
    async fn link(&self, _thread: &ThreadRef) -> Option<String> {
        None
    }

    /// Adds a person (by id) to a thread, so they follow it. The default does nothing.
    async fn add_to_thread(&self, _thread: &str, _user: &str) -> Result<(), ChatError> {
        Ok(())
    }

    /// Posts a message in a channel or thread.
    async fn post(&self, channel: &str, message: &Message) -> Result<MessageRef, ChatError>;

    /// Replaces a message's content.
    async fn edit(&self, target: &MessageRef, message: &Message) -> Result<(), ChatError>;

    /// Adds the bot's reaction to a message.
    async fn react(&self, target: &MessageRef, emoji: &str) -> Result<(), ChatError>;

    /// Answers a reaction that changed nothing (the person may not vote, or the vote
    /// is closed): where the platform allows, the reaction is removed and the person
    /// told why. The default does nothing.
    async fn refuse_reaction(
        &self,
        _target: &MessageRef,
        _emoji: &str,
        _actor: &Actor,
        _why: &str,
    ) -> Result<(), ChatError> {
        Ok(())
    }
}

pub const APPROVE: &str = "✅";
pub const REJECT: &str = "❌";

/// Makes a chat call, trying again (up to six times in all) while it fails
/// transiently: after as long as the platform asked, else after the chat back-off.
pub async fn retrying<T, F, Fut>(mut call: F) -> Result<T, ChatError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ChatError>>,
{
    let backoff = crate::backoff::Backoff::chat();
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        match call().await {
            Ok(v) => return Ok(v),
            Err(e) if e.permanent || attempt >= 6 => return Err(e),
            Err(e) => {
                let wait = e.retry_after.unwrap_or_else(|| backoff.delay(attempt));
                tokio::time::sleep(wait).await;
            }
        }
    }
}
