//! On Discord, `/stats`' charts go with the answer and the digest's with its message:
//! as files in a multipart form (`payload_json` and `files[n]`), each named in the
//! message's attachments, as Discord takes them.

use releasebot::chat::{Attachment, Message};
use releasebot::render::chart::{HEIGHT, WIDTH};
use serde_json::json;

use crate::discord_server::with_chat;
use crate::fake_discord::{CHANNEL, FakeDiscord};

fn png_size(bytes: &[u8]) -> (u32, u32) {
    let reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .unwrap();
    let info = reader.info();
    (info.width, info.height)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_charts_are_attached_to_the_answer_and_to_a_post() {
    let (t, chat) = with_chat(FakeDiscord::start().await).await;
    let stats = t.commands.iter().find(|c| c["name"] == "stats");
    assert!(stats.is_some(), "/stats is registered: {:?}", t.commands);

    let token = t.fake.command(
        "alice",
        "stats",
        &[("name", json!("web")), ("period", json!("7d"))],
    );
    let answer = t.fake.answer(&token).await;
    assert!(
        answer.starts_with("Delivery over the last 7 days"),
        "{answer}"
    );
    let call = t
        .fake
        .calls()
        .into_iter()
        .find(|c| c.method == "PATCH" && c.path.ends_with(&format!("/{token}/messages/@original")))
        .unwrap();
    assert_eq!(call.status, 200);
    assert_eq!(call.files.len(), 1, "{call:?}");
    assert_eq!(call.files[0].field, "files[0]");
    assert_eq!(call.files[0].filename, "stats-web.png");
    assert_eq!(png_size(&call.files[0].bytes), (WIDTH, HEIGHT));
    assert_eq!(call.body["attachments"][0]["filename"], "stats-web.png");
    assert_eq!(call.body["attachments"][0]["id"], 0);

    // A message with a file (the digest's) is posted as a form too.
    let png = call.files[0].bytes.clone();
    let message = Message {
        text: "Weekly delivery digest".into(),
        files: vec![Attachment {
            name: "stats-web.png".into(),
            bytes: png.clone(),
        }],
        ..Message::default()
    };
    chat.post(&CHANNEL.to_string(), &message).await.unwrap();
    let call = t
        .fake
        .calls()
        .into_iter()
        .find(|c| c.method == "POST" && c.path == format!("/channels/{CHANNEL}/messages"))
        .unwrap();
    assert_eq!(call.body["content"], "Weekly delivery digest");
    assert_eq!(call.files.len(), 1);
    assert_eq!(call.files[0].bytes, png);
    assert_eq!(call.body["attachments"][0]["filename"], "stats-web.png");
    t.stop().await;
}
