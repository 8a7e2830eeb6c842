use super::*;

fn parse(line: &str) -> Result<Command, ParseError> {
    Command::parse(line, &Config::demo())
}

/// What the person reads for a line that does not parse.
fn refusal(line: &str) -> String {
    Reply::Invalid(parse(line).unwrap_err()).text()
}

#[test]
fn good_commands_parse() {
    assert!(matches!(parse("/build web"), Ok(Command::Build(_))));
    assert!(matches!(
        parse("/build web feature/x"),
        Ok(Command::Build(_))
    ));
    assert!(matches!(parse("build web"), Ok(Command::Build(_))));
    assert!(matches!(
        parse("/deploy web v1.2.3"),
        Ok(Command::Deploy(_))
    ));
    assert!(matches!(
        parse("/release web master"),
        Ok(Command::Release(_))
    ));
    assert!(matches!(parse("/status"), Ok(Command::Status(_))));
    assert!(matches!(parse("/status #3"), Ok(Command::Status(_))));
    assert!(matches!(parse("/history web"), Ok(Command::History(_))));
    assert!(matches!(parse("/cancel 3"), Ok(Command::Cancel(_))));
    assert!(matches!(parse("/approve #3"), Ok(Command::Approve(_))));
    assert!(matches!(parse("/reject #3"), Ok(Command::Reject(_))));
    assert!(matches!(parse("/logs web"), Ok(Command::Logs(_))));
    assert!(matches!(parse("/help"), Ok(Command::Help(_))));
}

#[test]
fn bad_input_is_answered_with_one_sentence_and_the_usage() {
    let cases = [
        ("/build", "Usage: /build"),
        ("/build wbe", "did you mean web?"),
        ("/build web a..b", "not a valid branch name"),
        ("/build web master extra", "Too many arguments"),
        ("/deploy web", "Usage: /deploy"),
        ("/deploy web -bad", "not a valid version tag"),
        ("/deploy nope v1", "the apps are"),
        ("/cancel", "Usage: /cancel"),
        ("/cancel x", "not a job number"),
        ("/buidl web", "Did you mean /build?"),
        ("/frobnicate", "is not a command"),
        ("/build web\u{7}", "control characters"),
        ("", "Type a command"),
    ];
    for (line, want) in cases {
        let err = refusal(line);
        assert!(err.contains(want), "{line:?} gave {err:?}");
    }
    let long = format!("/build web {}", "x".repeat(2000));
    assert_eq!(parse(&long), Err(ParseError::TooLong { max: MAX_LINE }));
    assert!(matches!(
        parse("/deploy nope v1"),
        Err(ParseError::Unknown { kind: "app", .. })
    ));
}
