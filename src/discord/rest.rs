//! Every call releasebot makes to Discord's REST API, and the one way they all go:
//! [`Rest::send`], which waits out a 429 for as long as Discord asked before trying
//! again.
//!
//! serenity's typed calls (`ChannelId::send_message` and the like) cannot be used for
//! this: a failed call comes back as serenity's `ErrorResponse`, which keeps the status
//! and Discord's `code` and `message` but neither the `Retry-After` header nor the
//! body's `retry_after`. So each endpoint is a serenity [`Request`] here, sent through
//! serenity's own rate limiter when it is on (which already waits out a 429 that
//! carries `Retry-After` on the routes it keeps buckets for, and hands back any other),
//! or straight to the proxy when one is in front (serenity's limiter is off then, as
//! serenity ignores the proxy otherwise), and the raw answer is read here.

use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serenity::all::{
    ApplicationId, ChannelId, CreateAttachment, CreateCommand, CreateInteractionResponse,
    CreateInteractionResponseFollowup, CreateMessage, CreateThread, CurrentApplicationInfo,
    CurrentUser, EditInteractionResponse, EditMessage, EditThread, GuildChannel, GuildId,
    InteractionId, Member, Message, MessageId, ReactionType, Role, User, UserId,
};
use serenity::http::{
    ErrorResponse, Http, HttpError, LightMethod, Multipart, MultipartUpload, Request, Route,
};
use serenity::model::channel::Channel;

/// How many times a call Discord keeps answering 429 is tried before the 429 is handed
/// to the caller (with how long Discord asked to wait, so it waits no less).
const LIMITED_TRIES: u32 = 5;

/// A REST call that failed.
#[derive(Debug, thiserror::Error)]
pub(super) enum RestError {
    /// Discord still answered 429 after the waits it asked for: a transient failure,
    /// to be tried again no sooner than `retry_after` (when Discord said).
    #[error("Discord answered 429 (rate limited{})", waited(.retry_after))]
    Limited { retry_after: Option<Duration> },
    /// The serenity client, whose `Http` REST calls go through, is not made yet.
    #[error("releasebot is not connected to Discord yet")]
    Unconnected,
    /// Any other failure, as serenity tells it.
    #[error(transparent)]
    Failed(#[from] serenity::Error),
}

fn waited(after: &Option<Duration>) -> String {
    after.map_or(String::new(), |d| {
        format!(", retry after {:.1} s", d.as_secs_f64())
    })
}

impl From<HttpError> for RestError {
    fn from(e: HttpError) -> Self {
        RestError::Failed(e.into())
    }
}

impl From<reqwest::Error> for RestError {
    fn from(e: reqwest::Error) -> Self {
        RestError::Failed(e.into())
    }
}

/// Discord's REST API with the bot token: serenity's `Http` (the token, the proxy and
/// serenity's rate limiter) and the HTTP client its requests go out on.
#[derive(Clone)]
pub(super) struct Rest {
    http: Arc<Http>,
    client: reqwest::Client,
    /// The first wait before retrying a 429 that does not say how long (doubling).
    backoff: Duration,
}

impl Rest {
    pub(super) fn new(http: Arc<Http>, client: reqwest::Client, backoff: Duration) -> Self {
        Rest {
            http,
            client,
            backoff,
        }
    }

    /// Sends `request`; a 429 is waited out as long as Discord asks (its `Retry-After`
    /// header, else the `retry_after` of its body), then the request goes again, up to
    /// [`LIMITED_TRIES`] times.
    async fn send(&self, request: Request<'_>) -> Result<reqwest::Response, RestError> {
        let method = request.method_ref().reqwest_method();
        let mut limited = 0;
        loop {
            // Routes hold interaction tokens: the log's writer redacts them.
            tracing::trace!(method = ?request.method_ref(), route = ?request.route_ref(), "calling Discord");
            let response = self.once(request.clone()).await?;
            if response.status().is_success() {
                return Ok(response);
            }
            if response.status() != reqwest::StatusCode::TOO_MANY_REQUESTS {
                let answer = ErrorResponse::from_response(response, method).await;
                return Err(HttpError::UnsuccessfulRequest(answer).into());
            }
            let asked = retry_after(response).await;
            limited += 1;
            if limited >= LIMITED_TRIES {
                return Err(RestError::Limited { retry_after: asked });
            }
            let wait = asked.unwrap_or_else(|| self.backoff.saturating_mul(1 << (limited - 1)));
            tracing::debug!(
                ?wait,
                said = asked.is_some(),
                "Discord answered 429; waiting as asked"
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// One try: through serenity's limiter when it is on, else straight out (to the
    /// proxy, when one is set).
    async fn once(&self, request: Request<'_>) -> Result<reqwest::Response, RestError> {
        if let Some(limiter) = &self.http.ratelimiter {
            return Ok(limiter.perform(request).await?);
        }
        let built = request
            .build(&self.client, self.http.token(), self.http.proxy.as_deref())?
            .build()?;
        Ok(self.client.execute(built).await?)
    }

    /// Sends `request` and reads Discord's answer as a `T`.
    async fn fire<T: DeserializeOwned>(&self, request: Request<'_>) -> Result<T, RestError> {
        let body = self.send(request).await?.bytes().await?;
        Ok(serde_json::from_slice(&body).map_err(serenity::Error::from)?)
    }

    /// Sends `request` and reads the answer as JSON, with `guild_id` set on each object
    /// (members and roles come without it, and serenity's models want it).
    async fn fire_in_guild<T: DeserializeOwned>(
        &self,
        guild: GuildId,
        request: Request<'_>,
    ) -> Result<T, RestError> {
        let mut value: serde_json::Value = self.fire(request).await?;
        let objects: Vec<&mut serde_json::Value> = match &mut value {
            serde_json::Value::Array(items) => items.iter_mut().collect(),
            one => vec![one],
        };
        for object in objects {
            if let Some(map) = object.as_object_mut() {
                map.insert("guild_id".into(), guild.get().into());
            }
        }
        Ok(serenity::json::from_value(value)?)
    }

    /// Sends `request`; the answer's content does not matter.
    async fn wind(&self, request: Request<'_>) -> Result<(), RestError> {
        self.send(request).await.map(drop)
    }

    fn application(&self) -> Result<ApplicationId, RestError> {
        Ok(self
            .http
            .application_id()
            .ok_or(HttpError::ApplicationIdMissing)?)
    }

    // ---- the endpoints, as serenity's `Http` names them ----

    pub(super) async fn get_current_user(&self) -> Result<CurrentUser, RestError> {
        self.fire(Request::new(Route::UserMe, LightMethod::Get))
            .await
    }

    pub(super) async fn get_current_application_info(
        &self,
    ) -> Result<CurrentApplicationInfo, RestError> {
        self.fire(Request::new(
            Route::Oauth2ApplicationCurrent,
            LightMethod::Get,
        ))
        .await
    }

    pub(super) async fn get_channel(&self, channel_id: ChannelId) -> Result<Channel, RestError> {
        self.fire(Request::new(
            Route::Channel { channel_id },
            LightMethod::Get,
        ))
        .await
    }

    pub(super) async fn get_guild_roles(&self, guild_id: GuildId) -> Result<Vec<Role>, RestError> {
        let request = Request::new(Route::GuildRoles { guild_id }, LightMethod::Get);
        self.fire_in_guild(guild_id, request).await
    }

    pub(super) async fn get_member(
        &self,
        guild_id: GuildId,
        user_id: UserId,
    ) -> Result<Member, RestError> {
        let route = Route::GuildMember { guild_id, user_id };
        self.fire_in_guild(guild_id, Request::new(route, LightMethod::Get))
            .await
    }

    /// Posts a message; `files` go with it (each named in `message` by
    /// `CreateMessage::add_file`), as Discord takes them: a multipart form of
    /// `payload_json` and `files[n]`.
    pub(super) async fn send_message(
        &self,
        channel_id: ChannelId,
        message: &CreateMessage,
        files: Vec<CreateAttachment>,
    ) -> Result<Message, RestError> {
        let request = Request::new(Route::ChannelMessages { channel_id }, LightMethod::Post);
        let request = match files.is_empty() {
            true => request.body(Some(json(message)?)),
            false => request.multipart(Some(Multipart {
                upload: MultipartUpload::Attachments(files),
                fields: Vec::new(),
                payload_json: Some(serenity::json::to_string(message)?),
            })),
        };
        self.fire(request).await
    }

    pub(super) async fn edit_message(
        &self,
        channel_id: ChannelId,
        message_id: MessageId,
        edit: &EditMessage,
    ) -> Result<(), RestError> {
        let route = Route::ChannelMessage {
            channel_id,
            message_id,
        };
        let request = Request::new(route, LightMethod::Patch);
        self.wind(request.body(Some(json(edit)?))).await
    }

    pub(super) async fn delete_message(
        &self,
        channel_id: ChannelId,
        message_id: MessageId,
    ) -> Result<(), RestError> {
        let route = Route::ChannelMessage {
            channel_id,
            message_id,
        };
        self.wind(Request::new(route, LightMethod::Delete)).await
    }

    pub(super) async fn create_reaction(
        &self,
        channel_id: ChannelId,
        message_id: MessageId,
        reaction: &ReactionType,
    ) -> Result<(), RestError> {
        let reaction = reaction.as_data();
        let route = Route::ChannelMessageReactionMe {
            channel_id,
            message_id,
            reaction: &reaction,
        };
        self.wind(Request::new(route, LightMethod::Put)).await
    }

    pub(super) async fn delete_reaction(
        &self,
        channel_id: ChannelId,
        message_id: MessageId,
        user_id: UserId,
        reaction: &ReactionType,
    ) -> Result<(), RestError> {
        let reaction = reaction.as_data();
        let route = Route::ChannelMessageReaction {
            channel_id,
            message_id,
            user_id,
            reaction: &reaction,
        };
        self.wind(Request::new(route, LightMethod::Delete)).await
    }

    /// One page of the people who reacted `reaction`: `limit` of them, after the user
    /// id `after`.
    pub(super) async fn get_reaction_users(
        &self,
        channel_id: ChannelId,
        message_id: MessageId,
        reaction: &ReactionType,
        limit: u8,
        after: Option<u64>,
    ) -> Result<Vec<User>, RestError> {
        let reaction = reaction.as_data();
        let route = Route::ChannelMessageReactionEmoji {
            channel_id,
            message_id,
            reaction: &reaction,
        };
        let mut params = vec![("limit", limit.to_string())];
        if let Some(after) = after {
            params.push(("after", after.to_string()));
        }
        let request = Request::new(route, LightMethod::Get).params(Some(params));
        self.fire(request).await
    }

    pub(super) async fn create_thread_from_message(
        &self,
        channel_id: ChannelId,
        message_id: MessageId,
        thread: &CreateThread<'_>,
    ) -> Result<GuildChannel, RestError> {
        let route = Route::ChannelMessageThreads {
            channel_id,
            message_id,
        };
        let request = Request::new(route, LightMethod::Post);
        self.fire(request.body(Some(json(thread)?))).await
    }

    pub(super) async fn edit_thread(
        &self,
        channel_id: ChannelId,
        edit: &EditThread<'_>,
    ) -> Result<(), RestError> {
        let request = Request::new(Route::Channel { channel_id }, LightMethod::Patch);
        self.wind(request.body(Some(json(edit)?))).await
    }

    pub(super) async fn add_thread_channel_member(
        &self,
        channel_id: ChannelId,
        user_id: UserId,
    ) -> Result<(), RestError> {
        let route = Route::ChannelThreadMember {
            channel_id,
            user_id,
        };
        self.wind(Request::new(route, LightMethod::Put)).await
    }

    /// Registers `commands` in `guild_id`, in place of those it had.
    pub(super) async fn set_guild_commands(
        &self,
        guild_id: GuildId,
        commands: &[CreateCommand],
    ) -> Result<Vec<serenity::all::Command>, RestError> {
        let route = Route::GuildCommands {
            application_id: self.application()?,
            guild_id,
        };
        let request = Request::new(route, LightMethod::Put);
        self.fire(request.body(Some(json(&commands)?))).await
    }

    /// Registers `commands` globally, in place of those registered so.
    pub(super) async fn set_global_commands(
        &self,
        commands: &[CreateCommand],
    ) -> Result<(), RestError> {
        let route = Route::Commands {
            application_id: self.application()?,
        };
        let request = Request::new(route, LightMethod::Put);
        self.wind(request.body(Some(json(&commands)?))).await
    }

    /// Answers an interaction (`id` with its `token`).
    pub(super) async fn create_interaction_response(
        &self,
        interaction_id: InteractionId,
        token: &str,
        response: &CreateInteractionResponse,
    ) -> Result<(), RestError> {
        let route = Route::InteractionResponse {
            interaction_id,
            token,
        };
        let request = Request::new(route, LightMethod::Post);
        self.wind(request.body(Some(json(response)?))).await
    }

    /// Replaces an interaction's answer; `files` go with it as its new attachments
    /// (which `edit` must name, with placeholder ids from 0).
    pub(super) async fn edit_original_interaction_response(
        &self,
        token: &str,
        edit: &EditInteractionResponse,
        files: Vec<CreateAttachment>,
    ) -> Result<(), RestError> {
        let route = Route::WebhookOriginalInteractionResponse {
            application_id: self.application()?,
            token,
        };
        let request = Request::new(route, LightMethod::Patch);
        let request = match files.is_empty() {
            true => request.body(Some(json(edit)?)),
            false => request.multipart(Some(Multipart {
                upload: MultipartUpload::Attachments(files),
                fields: Vec::new(),
                payload_json: Some(serenity::json::to_string(edit)?),
            })),
        };
        self.wind(request).await
    }

    pub(super) async fn create_followup_message(
        &self,
        token: &str,
        followup: &CreateInteractionResponseFollowup,
    ) -> Result<Message, RestError> {
        let route = Route::WebhookFollowupMessages {
            application_id: self.application()?,
            token,
        };
        let request = Request::new(route, LightMethod::Post);
        self.fire(request.body(Some(json(followup)?))).await
    }

    pub(super) async fn edit_followup_message(
        &self,
        token: &str,
        message_id: MessageId,
        followup: &CreateInteractionResponseFollowup,
    ) -> Result<(), RestError> {
        let route = Route::WebhookFollowupMessage {
            application_id: self.application()?,
            token,
            message_id,
        };
        let request = Request::new(route, LightMethod::Patch);
        self.wind(request.body(Some(json(followup)?))).await
    }
}

fn json(body: &impl serde::Serialize) -> Result<Vec<u8>, RestError> {
    Ok(serenity::json::to_vec(body)?)
}

/// How long a 429 asks to wait: the `Retry-After` header (seconds, perhaps with a
/// fraction), else `retry_after` in the JSON body.
async fn retry_after(response: reqwest::Response) -> Option<Duration> {
    let header = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(seconds);
    if header.is_some() {
        return header;
    }
    let body = response.bytes().await.ok()?;
    let body: serde_json::Value = serde_json::from_slice(&body).ok()?;
    body.get("retry_after")
        .and_then(serde_json::Value::as_f64)
        .and_then(duration)
}

fn seconds(text: &str) -> Option<Duration> {
    duration(text.trim().parse().ok()?)
}

fn duration(seconds: f64) -> Option<Duration> {
    Duration::try_from_secs_f64(seconds).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_read_in_seconds_with_a_fraction() {
        assert_eq!(seconds("3"), Some(Duration::from_secs(3)));
        assert_eq!(seconds(" 0.25"), Some(Duration::from_millis(250)));
        assert_eq!(seconds("-1"), None);
        assert_eq!(seconds("soon"), None);
        assert_eq!(
            RestError::Limited {
                retry_after: Some(Duration::from_millis(1500))
            }
            .to_string(),
            "Discord answered 429 (rate limited, retry after 1.5 s)"
        );
    }
}
