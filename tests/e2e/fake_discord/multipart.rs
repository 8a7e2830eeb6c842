//! Request bodies sent as `multipart/form-data`, as Discord takes a message with files:
//! a `payload_json` part (the message's JSON) and one `files[n]` part per file.

use serde_json::Value;

/// A file uploaded with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// The form field: `files[0]`.
    pub field: String,
    pub filename: String,
    pub bytes: Vec<u8>,
}

/// The boundary of a `multipart/form-data` content type, if it is one.
pub fn boundary(content_type: &str) -> Option<String> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.eq_ignore_ascii_case("boundary")
            .then(|| v.trim_matches('"').to_string())
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A parameter of a `Content-Disposition` line: `name="files[0]"`.
fn param(disposition: &str, key: &str) -> Option<String> {
    disposition.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        (k == key).then(|| v.trim_matches('"').to_string())
    })
}

/// The JSON of the `payload_json` part and the files, or `None` when the body is not
/// a well-formed form (Discord refuses it then).
pub fn parse(body: &[u8], boundary: &str) -> Option<(Value, Vec<Upload>)> {
    let delimiter = format!("--{boundary}");
    let mut rest = &body[find(body, delimiter.as_bytes())? + delimiter.len()..];
    let (mut payload, mut files) = (Value::Null, Vec::new());
    loop {
        if rest.starts_with(b"--") {
            return Some((payload, files));
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let head_end = find(rest, b"\r\n\r\n")?;
        let head = std::str::from_utf8(&rest[..head_end]).ok()?;
        let content = &rest[head_end + 4..];
        let end = find(content, format!("\r\n{delimiter}").as_bytes())?;
        let data = &content[..end];
        rest = &content[end + 2 + delimiter.len()..];
        let disposition = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))?;
        let name = param(disposition, "name")?;
        match param(disposition, "filename") {
            Some(filename) => files.push(Upload {
                field: name,
                filename,
                bytes: data.to_vec(),
            }),
            None if name == "payload_json" => payload = serde_json::from_slice(data).ok()?,
            None => {}
        }
    }
}

#[test]
fn a_form_with_a_payload_and_a_file() {
    let body = b"--XY\r\nContent-Disposition: form-data; name=\"payload_json\"\r\n\r\n{\"content\":\"hi\"}\r\n--XY\r\nContent-Disposition: form-data; name=\"files[0]\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n--XY--\r\n";
    let (payload, files) = parse(body, "XY").unwrap();
    assert_eq!(payload["content"], "hi");
    assert_eq!(files.len(), 1);
    assert_eq!(
        (files[0].field.as_str(), files[0].filename.as_str()),
        ("files[0]", "a.png")
    );
    assert_eq!(files[0].bytes, b"\x89PNG");
    assert_eq!(
        boundary("multipart/form-data; boundary=XY").as_deref(),
        Some("XY")
    );
    assert_eq!(boundary("application/json"), None);
}
