//! The terminal adapter: a chat in the terminal, for trying releasebot with no account
//! anywhere and for scripting it.
//!
//! Each input line is a command; `@bob /approve 3` acts as user `bob` (roles from
//! `[shell.users]`), otherwise the user is `$USER`. Everything the bot posts or edits is
//! printed in full. On a terminal, an edit of the message printed last redraws it in
//! place; otherwise every post and edit is its own block, labelled with its thread and
//! message, so the output reads as a transcript.

use std::collections::{BTreeMap, HashMap};
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::io::{AsyncBufReadExt, BufReader};

use super::{Adapter, AdapterError, Ended, Row};
use crate::chat::{Actor, Attachment, Chat, ChatError, Message, MessageRef, ThreadRef};
use crate::commands::{ChatEvent, EventSink, Input, Reply};
use crate::engine::Engine;
use crate::render::escape::visible_controls;
use crate::shutdown::Shutdown;

/// The channel commands typed in the terminal come from.
pub const CHANNEL: &str = "terminal";

struct Screen {
    /// Thread id → its title, for labels.
    threads: HashMap<String, String>,
    /// The message printed last and how many lines it took, to redraw it in place.
    last: Option<(String, usize)>,
}

/// The terminal as a chat.
pub struct ShellChat {
    screen: Mutex<Screen>,
    next_id: AtomicU64,
    redraw: bool,
}

impl ShellChat {
    pub fn new() -> Self {
        ShellChat {
            screen: Mutex::new(Screen {
                threads: HashMap::new(),
                last: None,
            }),
            next_id: AtomicU64::new(1),
            redraw: std::io::stdout().is_terminal(),
        }
    }

    fn id(&self, prefix: &str) -> String {
        format!("{prefix}{}", self.next_id.fetch_add(1, Ordering::Relaxed))
    }

    fn label(screen: &Screen, channel: &str) -> String {
        match screen.threads.get(channel) {
            Some(title) => format!("thread \"{title}\""),
            None => format!("#{channel}"),
        }
    }

    /// Prints a block, or redraws the last one in place when it is the same message.
    /// Control characters in it are shown, not obeyed: whatever the text quotes from
    /// outside, it cannot move the cursor, clear the screen or write the clipboard.
    fn print(&self, channel: &str, message: &str, body: &str, edited: bool) {
        let body = &visible_controls(body);
        let mut screen = self.screen.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = std::io::stdout().lock();
        let same = screen
            .last
            .as_ref()
            .filter(|(m, _)| m == message)
            .map(|(_, n)| *n);
        if let (true, true, Some(lines)) = (self.redraw, edited, same) {
            // Up over the old block, then clear to the end of the screen.
            let _ = write!(out, "\x1b[{lines}A\x1b[J");
        }
        let label = Self::label(&screen, channel);
        let header = format!(
            "── {label} · message {message}{} ──",
            if edited { " (edited)" } else { "" }
        );
        let _ = writeln!(out, "{header}\n{body}");
        let _ = out.flush();
        screen.last = Some((message.to_string(), body.lines().count() + 1));
    }

    /// Writes files shown with a message into the temporary directory's `releasebot`
    /// folder (a terminal cannot show a picture); a line naming each one's path.
    fn save_files(&self, files: &[Attachment]) -> String {
        let dir = std::env::temp_dir().join("releasebot");
        files
            .iter()
            .map(|f| {
                let (stem, ext) = f.name.rsplit_once('.').unwrap_or((f.name.as_str(), "bin"));
                let path = dir.join(format!("{stem}-{}.{ext}", self.id("")));
                let written =
                    std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, &f.bytes));
                match written {
                    Ok(()) => format!("\n📎 {}", path.display()),
                    Err(e) => format!(
                        "\n📎 {} could not be written to {} ({e})",
                        f.name,
                        dir.display()
                    ),
                }
            })
            .collect()
    }

    /// Prints a reply to the person who typed a command, and the paths of the files
    /// written for it.
    pub fn print_reply(&self, actor: &Actor, reply: &Reply) {
        let mark = if reply.is_refusal() { "✋" } else { "→" };
        let files = self.save_files(reply.files());
        let mut screen = self.screen.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = std::io::stdout().lock();
        let line = format!("{mark} {}: {}{files}", actor.name, reply.text());
        let _ = writeln!(out, "{}", visible_controls(&line));
        let _ = out.flush();
        screen.last = None;
    }

    pub fn print_note(&self, note: &str) {
        let mut screen = self.screen.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "· {}", visible_controls(note));
        let _ = out.flush();
        screen.last = None;
    }
}

impl Default for ShellChat {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl Chat for ShellChat {
    fn limits(&self) -> crate::chat::paced::Limits {
        crate::chat::paced::Limits::unlimited()
    }

    fn note(&self, note: &str) {
        self.print_note(note);
    }

    async fn open_thread(
        &self,
        channel: &str,
        summary: &Message,
        title: &str,
        _keep_open: std::time::Duration,
    ) -> Result<ThreadRef, ChatError> {
        let summary_ref = MessageRef {
            channel: channel.to_string(),
            message: self.id("m"),
        };
        self.print(channel, &summary_ref.message, &summary.text, false);
        let thread = self.id("t");
        self.screen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .threads
            .insert(thread.clone(), title.to_string());
        Ok(ThreadRef {
            channel: channel.to_string(),
            thread,
            summary: summary_ref,
        })
    }

    async fn post(&self, channel: &str, message: &Message) -> Result<MessageRef, ChatError> {
        let target = MessageRef {
            channel: channel.to_string(),
            message: self.id("m"),
        };
        let files = self.save_files(&message.files);
        self.print(
            channel,
            &target.message,
            &format!("{}{files}", message.text),
            false,
        );
        Ok(target)
    }

    async fn edit(&self, target: &MessageRef, message: &Message) -> Result<(), ChatError> {
        self.print(&target.channel, &target.message, &message.text, true);
        Ok(())
    }

    async fn react(&self, _target: &MessageRef, _emoji: &str) -> Result<(), ChatError> {
        // Reactions cannot be shown usefully in a terminal; /approve and /reject work.
        Ok(())
    }
}

/// releasebot in this terminal: commands from standard input as `user` (or `@name`),
/// everything the bot posts printed to standard output.
pub struct ShellAdapter {
    chat: Arc<ShellChat>,
    sink: Option<Arc<dyn EventSink>>,
    user: String,
    users: BTreeMap<String, Vec<String>>,
}

impl ShellAdapter {
    /// Commands typed as `user` by default; `users` gives each name its roles.
    pub fn new(user: &str, users: BTreeMap<String, Vec<String>>) -> Self {
        ShellAdapter {
            chat: Arc::new(ShellChat::new()),
            sink: None,
            user: user.to_string(),
            users,
        }
    }
}

#[async_trait]
impl Adapter for ShellAdapter {
    fn describe(&self) -> String {
        format!("terminal chat as {}", self.user)
    }

    fn chat(&self) -> Arc<dyn Chat> {
        self.chat.clone()
    }

    async fn connect(&mut self, sink: Arc<dyn EventSink>) -> Result<(), AdapterError> {
        self.sink = Some(sink);
        Ok(())
    }

    /// Reads commands until the input ends, then lets every job finish or reach a
    /// point where only a person can help.
    async fn run(
        self: Box<Self>,
        engine: Engine,
        shutdown: Shutdown,
    ) -> Result<Ended, AdapterError> {
        let Some(sink) = self.sink.clone() else {
            return Ok(Ended::Stopped);
        };
        engine.set_chat_connected(true);
        let input = async {
            read_commands(&self.chat, sink.as_ref(), &self.user, &self.users).await;
            engine.wait_idle().await;
            for job in engine.live_jobs() {
                self.chat.print_note(&format!(
                    "{} is waiting for approval; it stays pending and resumes when releasebot starts again.",
                    job.id
                ));
            }
        };
        tokio::select! {
            _ = input => Ok(Ended::InputEnded),
            _ = shutdown.wait() => Ok(Ended::Stopped),
        }
    }

    async fn check(&self, _config: &crate::config::Config) -> Vec<Row> {
        vec![Row::ok(
            "chat",
            "DISCORD_TOKEN is not set: the terminal adapter runs",
        )]
    }
}

/// Splits `@bob /approve 3` into the user and the command.
pub fn split_user<'a>(line: &'a str, default_user: &'a str) -> (&'a str, &'a str) {
    let line = line.trim();
    match line.strip_prefix('@') {
        Some(rest) => match rest.split_once(char::is_whitespace) {
            Some((user, command)) if !user.is_empty() => (user, command.trim_start()),
            _ => (rest, ""),
        },
        None => (default_user, line),
    }
}

/// Reads commands from stdin until it ends, handing each to `sink` as `user`.
async fn read_commands(
    chat: &ShellChat,
    sink: &dyn EventSink,
    default_user: &str,
    users: &BTreeMap<String, Vec<String>>,
) {
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    loop {
        let line = match lines.next_line().await {
            Ok(Some(line)) => line,
            Ok(None) => return,
            Err(e) => {
                chat.print_note(&format!("cannot read input: {e}"));
                return;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let (user, command) = split_user(&line, default_user);
        let valid_user = !user.is_empty()
            && user.len() <= 64
            && user
                .chars()
                .all(|c| c.is_alphanumeric() || "-_.".contains(c));
        if !valid_user {
            chat.print_note("a user is written @name, with letters, digits, '-', '_' or '.'");
            continue;
        }
        let actor = Actor::new(user, user, users.get(user).cloned().unwrap_or_default());
        let event = ChatEvent::Command {
            actor: actor.clone(),
            channel: CHANNEL.to_string(),
            input: Input::Line(command.to_string()),
            origin: None,
        };
        if let Some(reply) = sink.handle(event).await {
            chat.print_reply(&actor, &reply);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leading_at_names_the_user() {
        assert_eq!(
            split_user("@bob /approve 3", "alice"),
            ("bob", "/approve 3")
        );
        assert_eq!(split_user("/build web", "alice"), ("alice", "/build web"));
        assert_eq!(
            split_user("  @carol   /status ", "alice"),
            ("carol", "/status")
        );
        assert_eq!(split_user("@bob", "alice"), ("bob", ""));
    }
}
