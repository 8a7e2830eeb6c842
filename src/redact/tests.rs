//! The redactor against a corpus of real-world secret shapes: one test per shape, and
//! properties over generated secrets (hidden anywhere in a line, wrapped in JSON once
//! or twice, cut by line breaks).

use proptest::prelude::*;

use super::{REDACTED, REDACTED_KEY, Redactor};

const RANCHER: &str = "token-abcde:verysecretvalue1234567890abcdefghijklmnopqrstuv";
const DISCORD: &str = "discord.bot.token.value";

fn r(text: &str) -> String {
    Redactor::new(&[RANCHER, DISCORD]).text(text)
}

/// `text` redacted must not hold `secret`, and must still say `kept`.
#[track_caller]
fn hides(text: &str, secret: &str, kept: &str) {
    let out = r(text);
    assert!(!out.contains(secret), "{secret:?} survived in {out:?}");
    assert!(out.contains(kept), "{kept:?} was lost from {out:?}");
}

#[test]
fn the_process_s_own_secrets_are_removed_wherever_they_stand() {
    assert_eq!(r(&format!("using {RANCHER} now")), "using [redacted] now");
    hides("x discord.bot.token.value y", DISCORD, "x ");
}

#[test]
fn an_own_secret_is_found_escaped_in_json_and_encoded_in_a_url() {
    let odd = "pa\"ss/w?rd@x";
    let red = Redactor::new(&[odd]);
    let json = serde_json::to_string(&serde_json::json!({ "pw": odd })).unwrap();
    assert!(!red.text(&json).contains("w?rd"), "{}", red.text(&json));
    let url = "postgres://bot:pa%22ss%2Fw%3Frd%40x@db/rb";
    assert!(!red.text(url).contains("w%3Frd"), "{}", red.text(url));
}

#[test]
fn an_own_secret_cut_by_a_line_break_is_still_removed() {
    let out = r(&format!("token {}\n{} end", &RANCHER[..20], &RANCHER[20..]));
    assert!(
        !out.contains(&RANCHER[..20]) && !out.contains(&RANCHER[20..]),
        "{out}"
    );
    assert!(out.ends_with(" end"), "{out}");
}

#[test]
fn key_values_in_many_shapes() {
    let cases = [
        ("password=hunter2 user=bob", "password=[redacted] user=bob"),
        ("DB_PASSWORD: s3cr3t", "DB_PASSWORD: [redacted]"),
        (
            r#"{"token": "abc123", "id": 1}"#,
            r#"{"token": "[redacted]", "id": 1}"#,
        ),
        ("secret = 'x y z'", "secret = '[redacted]'"),
        ("?api_key=AKIA123&x=1", "?api_key=[redacted]&x=1"),
        ("client_secret=zzz;next", "client_secret=[redacted];next"),
        ("GITHUB_TOKEN=ghp_abcdef", "GITHUB_TOKEN=[redacted]"),
        ("passphrase: open sesame", "passphrase: [redacted] sesame"),
        ("auth=abc def", "auth=[redacted] def"),
    ];
    for (input, want) in cases {
        assert_eq!(r(input), want, "{input}");
    }
}

#[test]
fn a_json_value_with_escaped_quotes_is_removed_whole() {
    hides(
        r#"{"password": "ab\"cd\"ef", "user": "x"}"#,
        "ef",
        r#""user": "x""#,
    );
    // JSON inside a JSON string (a structured log line carrying a request body).
    let inner = r#"{"password":"hun\"ter2"}"#;
    let outer = serde_json::to_string(&serde_json::json!({ "msg": inner })).unwrap();
    hides(&outer, "ter2", "msg");
}

#[test]
fn authorization_headers_and_bare_schemes() {
    assert_eq!(
        r("Authorization: Bearer eyJhbGciOi.x.y"),
        "Authorization: Bearer [redacted]"
    );
    assert_eq!(
        r("authorization=Basic dXNlcjpwYXNz"),
        "authorization=Basic [redacted]"
    );
    assert_eq!(
        r(r#"{"Proxy-Authorization": "Negotiate YIIabc123"}"#),
        r#"{"Proxy-Authorization": "Negotiate [redacted]"}"#
    );
    hides(
        "proxy sends Basic c2VjcmV0LTEw",
        "c2VjcmV0LTEw",
        "proxy sends Basic",
    );
}

#[test]
fn cookie_headers() {
    hides("Cookie: session=abc123; theme=dark", "abc123", "Cookie: ");
    hides(
        "< Set-Cookie: sid=s%3Aq8fj2; Path=/; HttpOnly",
        "q8fj2",
        "Set-Cookie: ",
    );
}

#[test]
fn credentials_in_urls() {
    assert_eq!(
        r("postgres://web:pa55w0rd@db:5432/app"),
        "postgres://web:[redacted]@db:5432/app"
    );
    // A password holding `/`, `?` or `@`.
    hides("postgres://bot:pa/ss@db/rb", "pa/ss", "@db/rb");
    hides("postgres://bot:p?ss@db/rb", "p?ss", "@db/rb");
    // A token as a clone URL's user.
    hides(
        "cloning https://ghp_16C7e42F292c6912E7710c838347Ae178B4a@github.com/org/repo.git",
        "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
        "@github.com/org/repo.git",
    );
    hides(
        "https://x-access-token:ghs_abcdefghijklmnopqrstuvwxyz0123@github.com/o/r",
        "ghs_abcdefghij",
        "@github.com",
    );
    // A name alone is not a secret, nor is an `@` in a path.
    for kept in ["ssh://git@github.com/o/r", "https://host/users/@me"] {
        assert_eq!(r(kept), kept);
    }
}

#[test]
fn a_bare_jwt() {
    let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
    hides(
        &format!("got id_token {jwt} from idp"),
        "dozjgNryP4J3",
        "from idp",
    );
    hides(&format!("jwt={jwt}"), "eyJzdWIiOiIxMjM0NTY3ODkwIn0", "jwt=");
}

#[test]
fn tokens_known_by_their_prefix() {
    for token in [
        "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
        "glpat-xxxxxxxxxxxxxxxxxxxx",
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        "xoxp-1234567890-abcdefghij",
        "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
        "rk_live_51H2abcdefghijklmnop",
        "AKIAIOSFODNN7EXAMPLE",
        "AIzaSyA-1234567890abcdefghijklmnopqrstu",
        "npm_abcdefghijklmnopqrstuvwxyz0123456789",
        "SG.abcdefghijklmnopqrstuv.abcdefghijklmnopqrstuvwxyz0123456789abcdefg",
        "MTE5ODc2NTQzMjEwOTg3NjU0.GhIjKl.abcdefghijklmnopqrstuvwxyz0123456789",
    ] {
        hides(&format!("loaded {token} ok"), token, "loaded ");
    }
}

#[test]
fn signed_urls_lose_their_signatures() {
    hides(
        "GET https://acct.blob.core.windows.net/c/b?sv=2021-08-06&se=2026-12-01&sig=N8D7Jl3aZ%2BuA%3D&sp=r",
        "N8D7Jl3aZ",
        "&sp=r",
    );
    hides(
        "https://bucket.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAX%2F20261201&X-Amz-Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024",
        "fe5f80f77d5f",
        "X-Amz-Algorithm",
    );
    hides(
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq==;",
        "Eby8vdM02x",
        "AccountName=acct",
    );
}

#[test]
fn rancher_tokens_keep_their_name() {
    assert_eq!(
        r("key token-zz9y8:abcdefghijklmnopqrstuvwxyz0123456789 end"),
        "key token-zz9y8:[redacted] end"
    );
}

#[test]
fn discord_interaction_tokens_in_paths() {
    hides(
        "PATCH /api/v10/webhooks/123456789012345678/aW50ZXJhY3Rpb246MTIzNDU2Nzg5OmFiY2RlZmdo/messages/@original",
        "aW50ZXJhY3Rpb246",
        "/messages/@original",
    );
}

#[test]
fn private_keys_are_removed_whole() {
    let text = "loading key\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\ndone";
    assert_eq!(r(text), format!("loading key\n{REDACTED_KEY}\ndone"));
    let one_line = r#"key="-----BEGIN PRIVATE KEY-----\nMIIEvQ\n-----END PRIVATE KEY-----""#;
    assert!(!r(one_line).contains("MIIEvQ"), "{}", r(one_line));
}

#[test]
fn a_private_key_s_body_without_its_begin_line_is_removed() {
    let body = [
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj",
        "MwY3Ux8cDDzSvrHULDNqFZCmYQXQ5qb0Je8nqL9GvU+DOyCv4K5rJYNl3TbSYZ+o",
        "hdT5mQ2Nm5==",
    ];
    let text = format!("{}\n-----END PRIVATE KEY-----\nINFO ready", body.join("\n"));
    let out = r(&text);
    for line in body {
        assert!(!out.contains(line), "{line} survived in {out}");
    }
    assert!(out.ends_with("INFO ready"), "{out}");
}

#[test]
fn ordinary_lines_are_left_alone() {
    for line in [
        "INFO listening on :8080",
        "GET /health 200",
        "author: alice",
        "https://example.com/path",
        "basic setup done",
        "commit 3f9c2e1a7d4b5c6e8f9a0b1c2d3e4f5a6b7c8d9e",
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "signal=15 received",
        "harbor.example.com/team/web:master-57-3f9c2e1",
    ] {
        assert_eq!(r(line), line);
    }
    // Erring on the safe side: a word that starts like a secret key counts as one.
    assert_eq!(r("tokens: 15"), format!("tokens: {REDACTED}"));
}

#[test]
fn redacting_twice_changes_nothing_more() {
    let once = r("password=x Authorization: Bearer abcdefgh1 token-ab:abcdefghijklmnopqrst");
    assert_eq!(r(&once), once);
}

/// Generated secrets of each shape.
fn secret() -> impl Strategy<Value = String> {
    let body = "[A-Za-z0-9]{24,40}";
    prop_oneof![
        body.prop_map(|b| format!("ghp_{b}")),
        body.prop_map(|b| format!("xoxb-{b}")),
        body.prop_map(|b| format!("sk_live_{b}")),
        "[A-Z0-9]{16}".prop_map(|b| format!("AKIA{b}")),
        (
            "[A-Za-z0-9_-]{10,30}",
            "[A-Za-z0-9_-]{10,30}",
            "[A-Za-z0-9_-]{20,43}"
        )
            .prop_map(|(h, c, s)| format!("eyJ{h}.eyJ{c}.{s}")),
        body.prop_map(|b| format!("password={b}")),
        body.prop_map(|b| format!("api_key: {b}")),
        body.prop_map(|b| format!("Authorization: Bearer {b}9")),
        body.prop_map(|b| format!("https://u:{b}@db.internal/x")),
    ]
}

/// The part of a generated secret that must never be seen.
fn core(secret: &str) -> &str {
    if secret.starts_with("eyJ") {
        return secret;
    }
    let cut = secret.rfind([' ', '=', ':', '_', '-']).map_or(0, |i| i + 1);
    let core = &secret[cut..];
    core.split('@').next().unwrap_or(core)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn a_secret_is_caught_anywhere_in_a_line(
        s in secret(), before in "[a-z ]{0,12}", after in "[a-z ]{0,12}",
    ) {
        let out = r(&format!("{before} {s} {after}"));
        prop_assert!(!out.contains(core(&s)), "{} survived in {}", core(&s), out);
    }

    #[test]
    fn a_secret_wrapped_in_json_once_or_twice_is_caught(s in secret(), twice: bool) {
        let mut line = serde_json::to_string(&serde_json::json!({ "msg": s })).unwrap();
        if twice {
            line = serde_json::to_string(&serde_json::json!({ "log": line })).unwrap();
        }
        let out = r(&line);
        prop_assert!(!out.contains(core(&s)), "{} survived in {}", core(&s), out);
    }

    #[test]
    fn an_own_secret_cut_anywhere_by_line_breaks_is_caught(
        own in "[A-Za-z0-9/+?@#]{12,40}", cut in 1usize..11, crlf: bool,
    ) {
        let red = Redactor::new(&[&own]);
        let cut = cut.min(own.len() - 1);
        let sep = if crlf { "\r\n" } else { "\n" };
        let text = format!("start {}{sep}{} end", &own[..cut], &own[cut..]);
        let out = red.text(&text);
        for half in [&own[..cut], &own[cut..]] {
            // A few characters may turn up by chance in the words around them.
            if half.len() >= 4 {
                prop_assert!(!out.contains(half), "{} survived in {}", half, out);
            }
        }
        prop_assert!(out.starts_with("start ") && out.ends_with(" end"), "{}", out);
    }

    #[test]
    fn a_private_key_cut_anywhere_leaves_no_body_line(
        lines in proptest::collection::vec("[A-Za-z0-9+/]{64}", 3..8), skip in 0usize..3,
    ) {
        let mut all = vec!["-----BEGIN PRIVATE KEY-----".to_string()];
        all.extend(lines.iter().cloned());
        all.push("-----END PRIVATE KEY-----".into());
        let excerpt = all[skip..].join("\n");
        let out = r(&excerpt);
        for l in &lines {
            // Random base64 of 64 characters mixes cases but for a vanishing few.
            if l.chars().any(|c| c.is_ascii_uppercase()) && l.chars().any(|c| c.is_ascii_lowercase()) {
                prop_assert!(!out.contains(l.as_str()), "{} survived in {}", l, out);
            }
        }
    }
}
