//! What crosses the wire to Discord, and back: ids from the record's strings, thread
//! names and archive durations, content cut to Discord's length, buttons as components,
//! role mentions, and Discord's errors as one sentence (with the token redacted).

use std::time::Duration;

use serenity::all::{
    ButtonStyle as DiscordButtonStyle, ChannelId, CreateActionRow, CreateButton, HttpError,
    MessageId, RoleId,
};
use serenity::model::channel::AutoArchiveDuration;

use super::chat::MAX_CONTENT;
use super::rest::RestError;
use crate::chat::{Button, ButtonStyle, ChatError};
use crate::secret::Secret;

/// The shortest archive duration Discord offers that is at least `keep_open`, and at
/// least a day (jobs edit their messages but post none while they wait).
pub(super) fn archive_after(keep_open: Duration) -> AutoArchiveDuration {
    let minutes = keep_open.as_secs().div_ceil(60);
    match minutes {
        0..=1440 => AutoArchiveDuration::OneDay,
        1441..=4320 => AutoArchiveDuration::ThreeDays,
        _ => AutoArchiveDuration::OneWeek,
    }
}

/// A Discord id (a non-zero number).
pub(super) fn snowflake(s: &str) -> Option<u64> {
    s.parse::<u64>().ok().filter(|n| *n != 0)
}

pub(super) fn channel_id(s: &str) -> Result<ChannelId, ChatError> {
    snowflake(s)
        .map(ChannelId::new)
        .ok_or_else(|| ChatError::permanent(format!("{s:?} is not a Discord channel id")))
}

pub(super) fn message_id(s: &str) -> Result<MessageId, ChatError> {
    snowflake(s)
        .map(MessageId::new)
        .ok_or_else(|| ChatError::permanent(format!("{s:?} is not a Discord message id")))
}

/// Thread names are 1 to 100 characters.
pub(super) fn thread_name(title: &str) -> String {
    let name: String = title.trim().chars().take(100).collect();
    if name.is_empty() {
        "releasebot".to_string()
    } else {
        name
    }
}

/// Content within Discord's limits: never empty (50006), at most 2,000 characters.
pub(super) fn fit(text: &str) -> String {
    if text.trim().is_empty() {
        return "…".to_string();
    }
    if text.chars().count() <= MAX_CONTENT {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(MAX_CONTENT - 1).collect();
    cut.push('…');
    cut
}

/// Buttons in rows of five (Discord's limit per row).
pub(super) fn components(buttons: &[Button]) -> Vec<CreateActionRow> {
    buttons
        .chunks(5)
        .map(|row| {
            CreateActionRow::Buttons(
                row.iter()
                    .map(|b| {
                        CreateButton::new(b.action.id())
                            .label(b.label.clone())
                            .style(match b.style {
                                ButtonStyle::Success => DiscordButtonStyle::Success,
                                ButtonStyle::Danger => DiscordButtonStyle::Danger,
                                ButtonStyle::Secondary => DiscordButtonStyle::Secondary,
                            })
                    })
                    .collect(),
            )
        })
        .collect()
}

/// A member's roles as the configuration can match them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Labels {
    /// Each role's id, then the names known.
    pub roles: Vec<String>,
    /// The names among them that other roles of the server bear too.
    pub ambiguous: Vec<String>,
}

/// A member's roles as ids and, where known, names; a name that other roles of the
/// server bear too is marked ambiguous, and a name written like another role's id is
/// left out (it would pass for that role wherever its id is configured).
pub(super) fn role_labels(member_roles: &[RoleId], known: &[(RoleId, String)]) -> Labels {
    let mut labels = Labels {
        roles: member_roles.iter().map(|id| id.to_string()).collect(),
        ambiguous: Vec::new(),
    };
    for id in member_roles {
        let Some((_, name)) = known.iter().find(|(k, _)| k == id) else {
            continue;
        };
        let others = || known.iter().filter(|(other, _)| other != id);
        if others().any(|(other, _)| other.to_string() == *name) {
            continue;
        }
        if others().any(|(_, n)| n.eq_ignore_ascii_case(name)) {
            labels.ambiguous.push(name.clone());
        }
        labels.roles.push(name.clone());
    }
    labels
}

/// What a configured role stands for in a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Resolved {
    /// The id of one of its roles: never ambiguous.
    Id(RoleId),
    /// A name, and the roles that bear it (without regard to case): none, one, or
    /// several (then it does not say which role is meant).
    Name(Vec<RoleId>),
}

/// What `configured` stands for among a server's roles.
pub(super) fn resolve(configured: &str, known: &[(RoleId, String)]) -> Resolved {
    if let Some((id, _)) = known.iter().find(|(id, _)| id.to_string() == configured) {
        return Resolved::Id(*id);
    }
    Resolved::Name(
        known
            .iter()
            .filter(|(_, name)| name.eq_ignore_ascii_case(configured))
            .map(|(id, _)| *id)
            .collect(),
    )
}

/// The admin roles configured by a name that several of the server's roles bear,
/// with those roles' ids: each grants admin to nobody there.
pub(super) fn ambiguous_admins(
    admins: &[String],
    known: &[(RoleId, String)],
) -> Vec<(String, Vec<RoleId>)> {
    admins
        .iter()
        .filter_map(|admin| match resolve(admin, known) {
            Resolved::Name(ids) if ids.len() > 1 => Some((admin.clone(), ids)),
            _ => None,
        })
        .collect()
}

/// The configured roles found in the guild (by name, without regard to case, or by id),
/// each with the name it is written with in messages.
pub(super) fn role_ids_for(
    configured: &[String],
    known: &[(RoleId, String)],
) -> Vec<(String, RoleId)> {
    configured
        .iter()
        .filter_map(|want| {
            known
                .iter()
                .find(|(id, name)| name.eq_ignore_ascii_case(want) || id.to_string() == *want)
                .map(|(id, _)| (want.clone(), *id))
        })
        .collect()
}

/// Replaces `@name` with a role mention where it stands as a whole name.
pub(super) fn mention(text: &str, name: &str, id: RoleId) -> String {
    let needle = format!("@{name}");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(&needle) {
        let after = &rest[at + needle.len()..];
        let whole = !after
            .chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '-');
        out.push_str(&rest[..at]);
        if whole {
            out.push_str(&format!("<@&{id}>"));
        } else {
            out.push_str(&needle);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// The HTTP status of a failed call, if Discord answered.
pub(super) fn status(e: &RestError) -> Option<u16> {
    match e {
        RestError::Limited { .. } => Some(429),
        RestError::Failed(serenity::Error::Http(HttpError::UnsuccessfulRequest(r))) => {
            Some(r.status_code.as_u16())
        }
        _ => None,
    }
}

pub(super) fn code(e: &RestError) -> Option<isize> {
    match e {
        RestError::Failed(serenity::Error::Http(HttpError::UnsuccessfulRequest(r))) => {
            Some(r.error.code)
        }
        _ => None,
    }
}

/// A failed REST call in a few words, as [`describe_serenity`] tells it.
pub(super) fn describe(e: &RestError, token: &Secret) -> String {
    match e {
        RestError::Failed(e) => describe_serenity(e, token),
        other => other.to_string(),
    }
}

/// A failure in a few words, without URLs (an interaction route holds its token) and
/// without the bot token.
pub(super) fn describe_serenity(e: &serenity::Error, token: &Secret) -> String {
    let text = match e {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(r)) => format!(
            "Discord answered {} ({}, code {})",
            r.status_code.as_u16(),
            r.error.message.trim_end_matches('.'),
            r.error.code
        ),
        serenity::Error::Http(HttpError::Request(r)) if r.is_timeout() => {
            "Discord did not answer in time".to_string()
        }
        serenity::Error::Http(HttpError::Request(r)) if r.is_connect() => {
            "Discord could not be reached".to_string()
        }
        serenity::Error::Http(HttpError::Request(_)) => "the request to Discord failed".to_string(),
        serenity::Error::Http(other) => format!("the request to Discord failed ({other})"),
        other => other.to_string(),
    };
    crate::redact::text(&token.scrub(&text))
}

/// Maps a failed REST call to the engine's error: refusals (4xx, Discord's 50xxx codes)
/// are permanent, rate limits and outages transient, and a 429 carries how long Discord
/// asked to wait.
pub(super) fn chat_error(e: &RestError, what: &str, token: &Secret) -> ChatError {
    let message = format!("{} when releasebot tried to {what}", describe(e, token));
    let permanent = match (e, status(e), code(e)) {
        (RestError::Limited { .. } | RestError::Unconnected, _, _) => false,
        (_, Some(429 | 408), _) => false,
        (_, _, Some(c)) if (50_000..60_000).contains(&c) => true,
        (_, Some(s), _) => (400..500).contains(&s),
        (RestError::Failed(e), None, _) => matches!(e, serenity::Error::Model(_)),
    };
    let retry_after = match e {
        RestError::Limited { retry_after } => *retry_after,
        _ => None,
    };
    ChatError {
        message,
        retry_after,
        permanent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_roles_match_by_name_or_id() {
        let known = vec![
            (RoleId::new(101), "Team Lead".to_string()),
            (RoleId::new(102), "dev".to_string()),
        ];
        assert_eq!(
            role_ids_for(&["team lead".into(), "102".into(), "nope".into()], &known),
            [
                ("team lead".to_string(), RoleId::new(101)),
                ("102".to_string(), RoleId::new(102))
            ]
        );
        assert_eq!(
            role_labels(&[RoleId::new(102), RoleId::new(999)], &known).roles,
            ["102", "999", "dev"]
        );
    }

    #[test]
    fn a_name_several_roles_bear_is_ambiguous_and_an_id_never_is() {
        let known = vec![
            (RoleId::new(103), "Admin".to_string()),
            (RoleId::new(104), "dev".to_string()),
            // Made later by someone who may manage roles.
            (RoleId::new(105), "admin".to_string()),
            // A name written like the first role's id.
            (RoleId::new(106), "103".to_string()),
        ];
        let fake = role_labels(&[RoleId::new(105), RoleId::new(104)], &known);
        assert_eq!(fake.roles, ["105", "104", "admin", "dev"]);
        assert_eq!(fake.ambiguous, ["admin"]);
        // The real one's holder is named ambiguously too: the name says nothing.
        let real = role_labels(&[RoleId::new(103)], &known);
        assert_eq!(real.roles, ["103", "Admin"]);
        assert_eq!(real.ambiguous, ["Admin"]);
        // A role named like another's id does not pass for it.
        let posing = role_labels(&[RoleId::new(106)], &known);
        assert_eq!(posing.roles, ["106"]);
        assert!(posing.ambiguous.is_empty());

        assert_eq!(resolve("103", &known), Resolved::Id(RoleId::new(103)));
        assert_eq!(
            resolve("dev", &known),
            Resolved::Name(vec![RoleId::new(104)])
        );
        assert_eq!(
            resolve("ADMIN", &known),
            Resolved::Name(vec![RoleId::new(103), RoleId::new(105)])
        );
        assert_eq!(resolve("nope", &known), Resolved::Name(Vec::new()));
        assert_eq!(
            ambiguous_admins(&["admin".into(), "103".into(), "dev".into()], &known),
            [(
                "admin".to_string(),
                vec![RoleId::new(103), RoleId::new(105)]
            )]
        );
    }

    #[test]
    fn only_whole_role_names_become_mentions() {
        let id = RoleId::new(101);
        assert_eq!(
            mention("needs @lead or @leads, @lead.", "lead", id),
            "needs <@&101> or @leads, <@&101>."
        );
        assert_eq!(
            mention("from @Team Lead · x", "Team Lead", id),
            "from <@&101> · x"
        );
        assert_eq!(mention("no mention", "lead", id), "no mention");
    }

    #[test]
    fn content_is_never_empty_nor_too_long() {
        assert_eq!(fit(""), "…");
        assert_eq!(fit("  \n"), "…");
        let long = "é".repeat(3000);
        let cut = fit(&long);
        assert_eq!(cut.chars().count(), MAX_CONTENT);
        assert!(cut.ends_with('…'));
        assert_eq!(fit("ok"), "ok");
    }

    #[test]
    fn buttons_go_in_rows_of_five() {
        let buttons: Vec<Button> = (0..7)
            .map(|i| Button {
                action: crate::chat::ButtonAction::Approve(crate::names::JobId(i)),
                label: "x".into(),
                style: ButtonStyle::Secondary,
            })
            .collect();
        let rows = serde_json::to_value(components(&buttons)).unwrap();
        assert_eq!(rows.as_array().unwrap().len(), 2);
        assert_eq!(rows[0]["components"].as_array().unwrap().len(), 5);
        assert_eq!(rows[1]["components"][1]["custom_id"], "approve:6");
        assert!(components(&[]).is_empty());
    }

    #[test]
    fn ids_must_be_discord_snowflakes() {
        assert_eq!(snowflake("123"), Some(123));
        assert_eq!(snowflake("0"), None);
        assert_eq!(snowflake("terminal"), None);
        assert!(channel_id("x").unwrap_err().permanent);
    }

    #[test]
    fn threads_stay_open_as_long_as_an_approval_may_wait() {
        let hours = |h: u64| Duration::from_secs(h * 3600);
        assert_eq!(archive_after(Duration::ZERO), AutoArchiveDuration::OneDay);
        assert_eq!(archive_after(hours(24)), AutoArchiveDuration::OneDay);
        assert_eq!(archive_after(hours(25)), AutoArchiveDuration::ThreeDays);
        assert_eq!(archive_after(hours(200)), AutoArchiveDuration::OneWeek);
    }

    #[test]
    fn thread_names_fit_discord() {
        assert_eq!(thread_name(" "), "releasebot");
        assert_eq!(thread_name(&"x".repeat(150)).len(), 100);
    }
}
