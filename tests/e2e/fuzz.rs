//! Bad input, generated: the command grammar and every validator against arbitrary
//! text; branch names against git itself; webhook calls with arbitrary paths and
//! bodies against the bot's HTTP surface.

use std::process::Command as Process;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use releasebot::commands::Command;
use releasebot::config::Config;
use releasebot::names::{Branch, JobId, VersionTag};

fn config() -> &'static Config {
    static CONFIG: std::sync::OnceLock<Config> = std::sync::OnceLock::new();
    CONFIG.get_or_init(Config::demo)
}

/// Text built from the pieces commands are made of, so generated lines often get
/// deep into the parser, mixed with arbitrary characters.
fn commandish() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        Just("/build".to_string()),
        Just("/deploy".to_string()),
        Just("/release".to_string()),
        Just("/cancel".to_string()),
        Just("/approve".to_string()),
        Just("/status".to_string()),
        Just("/history".to_string()),
        Just("/logs".to_string()),
        Just("/help".to_string()),
        Just("web".to_string()),
        Just("api".to_string()),
        Just("master".to_string()),
        Just("#3".to_string()),
        "[a-z0-9./@{}~^:?*\\[\\\\-]{0,12}",
        any::<String>(),
        "\\PC{0,20}",
    ];
    prop::collection::vec(word, 0..6).prop_map(|w| w.join(" "))
}

/// Branch names from the characters git cares about.
fn branchish() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z/._@{}~^:?*\\[\\\\ -]{1,16}",
        "[a-z]{1,6}(/[a-z.]{0,6}){0,3}(\\.lock)?",
        "[a-zA-Z0-9._/-]{1,20}",
        "(@|HEAD|\\.|-)?[a-z]{0,4}(\\.\\.|//|@\\{|/\\.)?[a-z]{0,4}[./]?",
        "[a-zé\\u{1F680}\\u{7f}\\t]{1,8}",
    ]
}

/// Docker tags by construction: accepted ones and ones broken on purpose.
fn valid_tag() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
}

fn git_available() -> bool {
    Process::new("git")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics_the_parser(line in commandish()) {
        let _ = Command::parse(&line, config());
    }

    #[test]
    fn arbitrary_unicode_never_panics_any_validator(s in any::<String>()) {
        let _ = Command::parse(&s, config());
        let _ = Branch::parse(&s);
        let _ = VersionTag::parse(&s);
        let _ = JobId::parse(&s);
        let _ = releasebot::names::ProjectName::parse(&s);
        let _ = releasebot::paas::ExecutionId::parse(&s);
        let _ = releasebot::paas::ProjectRef::parse(&s);
        let _ = releasebot::names::closest(&s, ["web", "api", "worker"]);
    }

    #[test]
    fn valid_commands_parse_to_what_was_typed(
        project in prop::sample::select(vec!["web", "api", "worker"]),
        branch in "[a-z][a-z0-9-]{0,10}(/[a-z0-9][a-z0-9-]{0,8}){0,2}",
        tag in valid_tag(),
        job in 1u64..100_000,
        hash in any::<bool>(),
    ) {
        let job_text = if hash { format!("#{job}") } else { job.to_string() };
        let parsed = Command::parse(&format!("/build {project} {branch}"), config()).unwrap();
        prop_assert_eq!(format!("{parsed:?}"), format!("Build(Build {{ project: ProjectName({project:?}), branch: Branch({branch:?}) }})"));
        let parsed = Command::parse(&format!("/release {project} {branch}"), config()).unwrap();
        prop_assert_eq!(format!("{parsed:?}"), format!("Release(Release {{ project: ProjectName({project:?}), branch: Branch({branch:?}), override_reason: None }})"));
        let parsed = Command::parse(&format!("/deploy {project} {tag}"), config()).unwrap();
        prop_assert_eq!(format!("{parsed:?}"), format!("Deploy(Deploy {{ app: AppName({project:?}), tag: VersionTag({tag:?}), override_reason: None }})"));
        // An admin's reason to deploy through a freeze comes last, after its tag.
        let parsed = Command::parse(&format!("/deploy {project} {tag} override: incident {job}"), config()).unwrap();
        prop_assert_eq!(format!("{parsed:?}"), format!("Deploy(Deploy {{ app: AppName({project:?}), tag: VersionTag({tag:?}), override_reason: Some(\"incident {job}\") }})"));
        let parsed = Command::parse(&format!("/release {project} Override:now"), config()).unwrap();
        prop_assert!(format!("{parsed:?}").contains("override_reason: Some(\"now\")"), "{:?}", parsed);
        for verb in ["cancel", "approve", "reject", "status"] {
            let parsed = Command::parse(&format!("/{verb} {job_text}"), config()).unwrap();
            prop_assert!(format!("{parsed:?}").contains(&format!("JobId({job})")), "{:?}", parsed);
        }
    }

    #[test]
    fn tags_outside_the_docker_grammar_are_refused(
        tag in valid_tag(),
        bad in prop::sample::select(vec!['/', ':', ' ', '@', '+', '!', 'é', '\n']),
        at in any::<prop::sample::Index>(),
        lead in prop::sample::select(vec!['.', '-']),
    ) {
        prop_assert!(VersionTag::parse(&tag).is_ok(), "{}", tag);
        let mut broken: Vec<char> = tag.chars().collect();
        let i = at.index(broken.len() + 1);
        broken.insert(i, bad);
        let broken: String = broken.into_iter().collect();
        prop_assert!(VersionTag::parse(&broken).is_err(), "{:?}", broken);
        let led = format!("{lead}{tag}");
        prop_assert!(VersionTag::parse(&led).is_err());
        let long = format!("{tag}{}", "x".repeat(129 - tag.len().min(128)));
        prop_assert!(VersionTag::parse(&long).is_err());
    }
}

#[test]
fn branch_validation_agrees_with_git() {
    // Where git is missing the rules are still checked by the unit tests in names.rs.
    if !git_available() {
        eprintln!("git is not installed: branch names were not compared with it");
        return;
    }
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 1500,
        ..ProptestConfig::default()
    });
    // Only git's own rules: the 255-byte cap is releasebot's.
    let names = branchish().prop_filter("git has no length limit", |n| n.len() <= 255);
    let result = runner.run(&names, |name| {
        let git = Process::new("git")
            .args(["check-ref-format", "--branch", &name])
            .current_dir(std::env::temp_dir())
            .output()
            .expect("git runs")
            .status
            .success();
        prop_assert_eq!(
            Branch::parse(&name).is_ok(),
            git,
            "{:?}: git says {}",
            name,
            git
        );
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn arbitrary_webhook_calls_never_harm_the_bot() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let bot = crate::helpers::spawn_bot_with(
            releasebot::sim::Scenario::demo(),
            crate::helpers::demo_config(|_| {}),
            std::sync::Arc::new(releasebot::store::Store::open_in_memory().await.unwrap()),
            true,
        )
        .await;
        let client = reqwest::Client::new();
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
            cases: 300,
            ..ProptestConfig::default()
        });
        let strategy = (
            prop_oneof![
                Just(crate::helpers::WEBHOOK_SECRET.to_string()),
                "[a-zA-Z0-9%._~-]{0,80}",
                "\\PC{0,30}",
            ],
            prop_oneof![
                prop::collection::vec(any::<u8>(), 0..2048),
                Just(b"{\"id\":\"p-5tfq9:p-tpk2x-1\"}".to_vec()),
                Just(vec![b'{'; 70_000]),
            ],
        );
        let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
        for _ in 0..300 {
            cases.push(strategy.new_tree(&mut runner).unwrap().current());
        }
        for (path, body) in cases {
            let encoded: String = percent_encode(&path);
            let response = client
                .post(format!("http://{}/webhook/{encoded}", bot.http_addr))
                .body(body)
                .send()
                .await
                .expect("the bot answers");
            let status = response.status().as_u16();
            assert!(
                [202, 404, 405, 413, 429].contains(&status),
                "{path:?} got {status}"
            );
        }
        let health = client
            .get(format!("http://{}/healthz", bot.http_addr))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status().as_u16(), 200, "the bot is still up");
        // Nothing became a job, nothing reached the PaaS but the bot's own polls.
        assert_eq!(bot.sim.stats().total_runs(), 0);
    });
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
