use std::path::PathBuf;

use super::passfile::Passfile;
use super::*;
use crate::secret::Secret;

/// How `RELEASEBOT_DB` is shown, and the password it connects with.
fn db(text: &str) -> (String, Option<String>) {
    match Database::parse(text) {
        Database::Postgres(url) => {
            let password = url.password().unwrap().map(|p| p.expose().to_string());
            (url.to_string(), password)
        }
        other => panic!("{text} is not a usable PostgreSQL URL: {other:?}"),
    }
}

/// Asserts that `secret` is in none of the ways the database can be formatted.
fn never_shown(text: &str, secret: &str) {
    let at = Database::parse(text);
    let env = crate::config::Env::from_lookup(|k| (k == "RELEASEBOT_DB").then(|| text.into()));
    for shown in [
        at.to_string(),
        format!("{at:?}"),
        format!("{env:?}"),
        shown(text),
        format!("{:?}", ConnString::new(text)),
    ] {
        assert!(!shown.contains(secret), "{secret:?} shown in {shown:?}");
    }
}

#[test]
fn a_password_with_a_slash_is_all_password() {
    let url = "postgres://bot:pa/ss-unit1@db/rb";
    assert_eq!(
        db(url),
        (
            "postgres://bot@db:5432/rb".into(),
            Some("pa/ss-unit1".into())
        )
    );
    never_shown(url, "pa/ss");
    never_shown(url, "ss-unit1");
}

#[test]
fn a_password_with_a_question_mark_is_all_password() {
    let url = "postgres://bot:pa?ss-unit2@db:5433/rb?application_name=x";
    assert_eq!(
        db(url),
        (
            "postgres://bot@db:5433/rb".into(),
            Some("pa?ss-unit2".into())
        )
    );
    never_shown(url, "ss-unit2");
}

#[test]
fn a_password_with_an_at_sign_ends_at_the_last_one() {
    let url = "postgresql://bot:p@ss-unit3@db/rb";
    assert_eq!(
        db(url),
        (
            "postgresql://bot@db:5432/rb".into(),
            Some("p@ss-unit3".into())
        )
    );
    never_shown(url, "ss-unit3");
}

#[test]
fn a_password_with_a_hash_is_not_a_fragment() {
    let url = "postgres://bot:pa#ss-unit4@db/rb";
    assert_eq!(
        db(url),
        (
            "postgres://bot@db:5432/rb".into(),
            Some("pa#ss-unit4".into())
        )
    );
    never_shown(url, "ss-unit4");
    // In an http URL too, whose `#` starts a fragment after the host.
    assert_eq!(
        shown("https://u:pa#ss-unit4@rancher.example.com/v3#top"),
        "https://u@rancher.example.com/v3#…"
    );
}

#[test]
fn a_password_with_colons_keeps_them() {
    let url = "postgres://bot:a:b:c-unit5@db/rb";
    assert_eq!(db(url).1.as_deref(), Some("a:b:c-unit5"));
    never_shown(url, "c-unit5");
}

#[test]
fn a_password_with_a_percent_sign_that_encodes_nothing_is_kept() {
    let url = "postgres://bot:100%-unit6@db/rb";
    assert_eq!(db(url).1.as_deref(), Some("100%-unit6"));
    never_shown(url, "unit6");
}

#[test]
fn a_percent_encoded_password_is_decoded_and_neither_form_shown() {
    let url = "postgres://bot:pa%2Fss%40%3F%23-unit7@db/rb";
    assert_eq!(db(url).1.as_deref(), Some("pa/ss@?#-unit7"));
    never_shown(url, "pa%2Fss");
    never_shown(url, "pa/ss");
    // Both forms are removed from any text that passes the redactor.
    let text = crate::redact::text("login pa/ss@?#-unit7 and pa%2Fss%40%3F%23-unit7 refused");
    assert!(!text.contains("unit7"), "{text}");
}

#[test]
fn a_password_option_in_the_query_is_the_password_and_not_shown() {
    let url = "postgres://bot@db/rb?sslmode=disable&password=hunter-unit8";
    assert_eq!(
        db(url),
        (
            "postgres://bot@db:5432/rb".into(),
            Some("hunter-unit8".into())
        )
    );
    never_shown(url, "hunter-unit8");
}

#[test]
fn query_values_are_never_shown() {
    let url = "postgres://bot@db/rb?options=-c%20secret_setting%3Dunit9&application_name=a";
    let (shown_db, _) = db(url);
    assert_eq!(shown_db, "postgres://bot@db:5432/rb");
    never_shown(url, "unit9");
    assert_eq!(
        shown("https://rancher.example.com/v3?token=unit9"),
        "https://rancher.example.com/v3?…"
    );
}

#[test]
fn an_at_sign_in_a_query_value_must_be_encoded() {
    // The last `@` ends the user part, so this one would make the path and query a user.
    let text = "postgres://db/rb?application_name=mqx@host-unit18";
    assert_eq!(PgUrl::parse(text).unwrap_err(), LocationError::User);
    never_shown(text, "mqx");
    never_shown(text, "unit18");
    assert_eq!(
        shown("https://h/v3?token=mqx@host-unit18"),
        "https://[unreadable]"
    );
    assert_eq!(
        db("postgres://bot@db/rb?application_name=me%40host").0,
        "postgres://bot@db:5432/rb"
    );
}

#[test]
fn the_postgresql_scheme_is_read_like_postgres_in_any_case() {
    assert_eq!(
        db("postgresql://bot@db/rb").0,
        "postgresql://bot@db:5432/rb"
    );
    assert_eq!(db("POSTGRES://bot@db/rb").0, "postgres://bot@db:5432/rb");
}

#[test]
fn a_socket_directory_in_the_query_replaces_the_hosts() {
    let Database::Postgres(url) = Database::parse("postgres://bot@/rb?host=/var/run/postgresql")
    else {
        panic!("parsed")
    };
    assert_eq!(url.hosts(), ["/var/run/postgresql"]);
    assert_eq!(
        url.to_string(),
        "postgres://bot@%2Fvar%2Frun%2Fpostgresql:5432/rb"
    );
    // The same written as libpq's percent-encoded host.
    assert_eq!(
        db("postgres://bot@%2Fvar%2Frun%2Fpostgresql/rb").0,
        "postgres://bot@%2Fvar%2Frun%2Fpostgresql:5432/rb"
    );
}

#[test]
fn several_hosts_keep_their_own_ports() {
    let Database::Postgres(url) = Database::parse("postgres://u:p-unit10@a:5432,b:5433,[::1]/db")
    else {
        panic!("parsed")
    };
    assert_eq!(url.hosts(), ["a", "b", "::1"]);
    assert_eq!(url.ports(), [5432, 5433, 5432]);
    assert_eq!(url.to_string(), "postgres://u@a:5432,b:5433,[::1]:5432/db");
    assert_eq!(
        LocationError::Ports { hosts: 2, ports: 3 },
        PgUrl::parse("postgres://u@a,b/db?port=1,2,3").unwrap_err()
    );
}

#[test]
fn query_options_override_the_url_and_the_rest_go_to_the_driver() {
    let Database::Postgres(url) =
        Database::parse("postgres://a@h:1/x?user=b&dbname=y&port=2&connect_timeout=3")
    else {
        panic!("parsed")
    };
    assert_eq!(url.to_string(), "postgres://b@h:2/y");
    assert_eq!(
        url.options(),
        [("connect_timeout".to_string(), "3".to_string())]
    );
}

#[test]
fn an_unparseable_url_shows_a_placeholder_and_none_of_its_text() {
    let cases = [
        ("postgres://[unparseable]", LocationError::Host { n: 1 }),
        (
            "postgres://bot:s3cret-unit11@db:54x2/rb",
            LocationError::Port { n: 1 },
        ),
        (
            "postgres://bot:s3cret-unit11/rb",
            LocationError::Port { n: 1 },
        ),
        (
            "postgres://bot:s3cret-unit11@d b/rb",
            LocationError::Host { n: 1 },
        ),
        (
            "postgres://bot:s3cret-unit11@db/rb?=x",
            LocationError::Option { key: "\"\"".into() },
        ),
        (
            "postgres://bot:%FF-unit11@db/rb",
            LocationError::NotUtf8 { part: "password" },
        ),
    ];
    for (text, problem) in cases {
        let at = Database::parse(text);
        assert_eq!(at.to_string(), "postgres://[unreadable]", "{text}");
        assert!(
            matches!(&at, Database::Unreadable(p) if *p == problem),
            "{text}: {at:?}"
        );
        for secret in ["unparseable", "s3cret", "unit11", "54x2"] {
            never_shown(text, secret);
            assert!(!problem.to_string().contains(secret), "{problem}");
        }
    }
    assert_eq!(shown("https://u:pw-unit11@[nope]/"), "https://[unreadable]");
    assert_eq!(shown("token-abc:unit11"), "[unreadable]");
    assert_eq!(shown("rancher.example.com"), "[unreadable]");
}

#[test]
fn a_file_path_is_shown_as_it_is() {
    let at = Database::parse("/data/releasebot.db");
    assert!(
        matches!(&at, Database::File(p) if p.as_path() == std::path::Path::new("/data/releasebot.db"))
    );
    assert_eq!(at.to_string(), "/data/releasebot.db");
}

#[test]
fn http_urls_are_shown_from_their_parts() {
    assert_eq!(
        shown("https://user:pw-unit12@rancher.example.com:8443/v3/"),
        "https://user@rancher.example.com:8443/v3/"
    );
    assert_eq!(shown("http://127.0.0.1:3000"), "http://127.0.0.1:3000");
    // Control characters (a terminal escape) are encoded, never printed.
    assert_eq!(shown("https://h/a\u{1b}[2J"), "https://h/a%1B%5B2J");
}

#[test]
fn the_url_password_and_the_variable_may_agree_but_not_differ() {
    let with = |text: &str, variable: &str| match Database::from_env(
        text,
        Some(Secret::new(variable)),
        None,
    ) {
        Database::Postgres(url) => url.password().map(|p| p.map(|p| p.expose().to_string())),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        with("postgres://bot@db/rb", "var-unit13")
            .unwrap()
            .as_deref(),
        Some("var-unit13")
    );
    assert_eq!(
        with("postgres://bot:var-unit13@db/rb", "var-unit13")
            .unwrap()
            .as_deref(),
        Some("var-unit13")
    );
    let e = with("postgres://bot:old-unit13@db/rb", "var-unit13").unwrap_err();
    assert_eq!(e, LocationError::TwoPasswords);
    assert!(!e.to_string().contains("unit13"));
}

#[test]
fn the_environment_never_shows_the_database_password() {
    let env = crate::config::Env::from_lookup(|k| match k {
        "RELEASEBOT_DB" => Some("postgres://bot:pa/ss-unit14@db/rb".into()),
        "RELEASEBOT_DB_PASSWORD" => Some("variable-unit14".into()),
        "RANCHER_URL" => Some("https://u:rancher-unit14@r.example.com".into()),
        "DISCORD_PROXY_URL" => Some("http://u:proxy-unit14@127.0.0.1:3000".into()),
        _ => None,
    });
    let debug = format!("{env:?}");
    assert!(!debug.contains("unit14"), "{debug}");
    assert!(debug.contains("postgres://bot@db:5432/rb"), "{debug}");
}

#[test]
fn pgsslmode_and_pgsslrootcert_fill_in_what_the_url_does_not_say() {
    let tls = |url: &str| {
        let env = crate::config::Env::from_lookup(|k| match k {
            "RELEASEBOT_DB" => Some(url.into()),
            "PGSSLMODE" => Some("verify-full".into()),
            "PGSSLROOTCERT" => Some("/etc/ca/ca.crt".into()),
            _ => None,
        });
        let Database::Postgres(url) = env.db else {
            panic!("a PostgreSQL database: {:?}", env.db)
        };
        let mut options = url.options().to_vec();
        options.sort();
        options
    };
    let pair = |k: &str, v: &str| (k.to_string(), v.to_string());
    assert_eq!(
        tls("postgres://bot@db/rb"),
        [
            pair("sslmode", "verify-full"),
            pair("sslrootcert", "/etc/ca/ca.crt")
        ]
    );
    // The URL's own win, as in libpq.
    assert_eq!(
        tls("postgres://bot@db/rb?sslmode=verify-ca&sslrootcert=/mine.pem"),
        [
            pair("sslmode", "verify-ca"),
            pair("sslrootcert", "/mine.pem")
        ]
    );
    // A SQLite file takes none.
    let env = crate::config::Env::from_lookup(|k| (k == "PGSSLMODE").then(|| "require".into()));
    assert!(matches!(env.db, Database::File(_)), "{:?}", env.db);
}

// The passfile's rules, as libpq's documentation states them.

fn passfile(text: &str) -> Passfile {
    Passfile::parse(text)
}

#[test]
fn passfile_the_first_matching_line_wins() {
    let f = passfile("db:5432:rb:bot:first\ndb:5432:rb:bot:second\n");
    assert_eq!(f.lookup("db", "5432", "rb", "bot"), Some("first"));
}

#[test]
fn passfile_every_field_must_match() {
    let f = passfile("db:5432:rb:bot:pw\n");
    assert_eq!(f.lookup("other", "5432", "rb", "bot"), None);
    assert_eq!(f.lookup("db", "5433", "rb", "bot"), None);
    assert_eq!(f.lookup("db", "5432", "other", "bot"), None);
    assert_eq!(f.lookup("db", "5432", "rb", "other"), None);
}

#[test]
fn passfile_a_star_field_matches_anything() {
    let f = passfile("*:*:*:bot:pw\n");
    assert_eq!(f.lookup("anywhere", "1", "any", "bot"), Some("pw"));
    assert_eq!(f.lookup("anywhere", "1", "any", "else"), None);
}

#[test]
fn passfile_an_escaped_star_is_a_star() {
    let f = passfile("db:5432:\\*:bot:pw\n");
    assert_eq!(f.lookup("db", "5432", "*", "bot"), Some("pw"));
    assert_eq!(f.lookup("db", "5432", "rb", "bot"), None);
}

#[test]
fn passfile_escaped_colons_and_backslashes_are_literal() {
    let f = passfile("db:5432:rb:bot:pa\\:ss\\\\word:ignored\n");
    assert_eq!(f.lookup("db", "5432", "rb", "bot"), Some("pa:ss\\word"));
    let f = passfile("/cloudsql/p\\:r\\:i:5432:rb:bot:pw\n");
    assert_eq!(f.lookup("/cloudsql/p:r:i", "5432", "rb", "bot"), Some("pw"));
}

#[test]
fn passfile_comment_and_short_lines_are_skipped() {
    let f = passfile("#db:*:*:*:commented\ndb:5432:rb:bot\r\ndb:5432:rb:bot:pw\r\n");
    assert_eq!(f.lookup("db", "5432", "rb", "bot"), Some("pw"));
    // Read as a line, the comment would match a host called `#db`.
    assert_eq!(f.lookup("#db", "5432", "rb", "bot"), None);
}

#[test]
fn passfile_no_host_and_a_default_socket_directory_match_localhost() {
    let f = passfile("localhost:5432:rb:bot:pw\n");
    assert_eq!(f.lookup("", "5432", "rb", "bot"), Some("pw"));
    assert_eq!(
        f.lookup("/var/run/postgresql", "5432", "rb", "bot"),
        Some("pw")
    );
    assert_eq!(f.lookup("/srv/sockets", "5432", "rb", "bot"), None);
}

/// A passfile of `text` with `mode`, in a directory of its own.
fn passfile_at(name: &str, text: &str, mode: u32) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "releasebot-passfile-{name}-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("pgpass");
    std::fs::write(&path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    path
}

fn password_via(url: &str, pgpassfile: Option<PathBuf>) -> Result<Option<String>, LocationError> {
    match Database::from_env(url, None, pgpassfile) {
        Database::Postgres(url) => url.password().map(|p| p.map(|p| p.expose().to_string())),
        other => panic!("{other:?}"),
    }
}

#[test]
fn passfile_is_read_when_no_password_is_given_and_matches_the_defaults() {
    let path = passfile_at("defaults", "db:5432:bot:bot:file-unit15\n", 0o600);
    // No port: 5432; no database: the user's name.
    let url = format!("postgres://bot@db?passfile={}", path.display());
    assert_eq!(
        password_via(&url, None).unwrap().as_deref(),
        Some("file-unit15")
    );
    // PGPASSFILE, when the URL names none.
    assert_eq!(
        password_via("postgres://bot@db", Some(path.clone()))
            .unwrap()
            .as_deref(),
        Some("file-unit15")
    );
    // A password given otherwise wins, and the file is not read.
    assert_eq!(
        password_via(
            "postgres://bot:url-unit15@db",
            Some(PathBuf::from("/nonexistent"))
        )
        .unwrap()
        .as_deref(),
        Some("url-unit15")
    );
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[cfg(unix)]
#[test]
fn passfile_readable_by_group_or_others_is_refused() {
    for mode in [0o640, 0o604, 0o660] {
        let path = passfile_at("open", "*:*:*:*:open-unit16\n", mode);
        let e = password_via("postgres://bot@db", Some(path.clone())).unwrap_err();
        assert!(
            matches!(&e, LocationError::Passfile(PassfileError::TooOpen { mode: m, .. }) if *m == mode),
            "{e}"
        );
        assert!(e.to_string().contains("chmod 600"), "{e}");
        assert!(!e.to_string().contains("unit16"), "{e}");
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }
}

#[test]
fn passfile_named_but_missing_or_a_directory_is_refused() {
    let e = password_via("postgres://bot@db?passfile=/nonexistent/pgpass", None).unwrap_err();
    assert!(
        matches!(e, LocationError::Passfile(PassfileError::Unreadable { .. })),
        "{e}"
    );
    let dir = std::env::temp_dir();
    let e = password_via("postgres://bot@db", Some(dir)).unwrap_err();
    assert!(
        matches!(e, LocationError::Passfile(PassfileError::NotAFile { .. })),
        "{e}"
    );
}

#[test]
fn passfile_must_give_every_host_the_same_password() {
    let path = passfile_at("hosts", "a:*:*:*:one-unit17\nb:*:*:*:two-unit17\n", 0o600);
    let e = password_via("postgres://bot@a,b/rb", Some(path.clone())).unwrap_err();
    assert!(
        matches!(
            e,
            LocationError::Passfile(PassfileError::HostsDiffer { .. })
        ),
        "{e}"
    );
    assert!(!e.to_string().contains("unit17"));
    assert_eq!(
        password_via("postgres://bot@a,c/rb", Some(path.clone()))
            .unwrap()
            .as_deref(),
        Some("one-unit17"),
        "a host the file does not name takes no password from it"
    );
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}
