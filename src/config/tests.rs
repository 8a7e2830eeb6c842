use super::*;

#[test]
fn the_demo_configuration_is_valid_and_matches_the_issue_example() {
    let c = Config::demo();
    let web = &c.projects[&ProjectName::parse("web").unwrap()];
    assert_eq!(web.pipeline.to_string(), "c-64wdm:p-5tfq9/p-tpk2x");
    assert_eq!(web.branch.as_str(), "master");
    assert_eq!(web.deploys[0].as_str(), "web");
    let app = &c.apps[&AppName::parse("web").unwrap()];
    assert_eq!(app.policy.approvers, ["lead"]);
    assert_eq!(app.policy.votes, 1);
    assert_eq!(c.jobs.poll_interval, Duration::from_secs(5));
    assert_eq!(c.shell_users["bob"], ["lead"]);
    assert_eq!(
        c.admins,
        ["admin"],
        "admin is the admin role unless configured"
    );
}

#[test]
fn the_ui_and_the_discord_servers_may_be_named() {
    let c = Config::parse(
        "[paas]\nui_url = \"https://rancher.example.com/\"\n[discord]\nguilds = [\"123456789012345678\"]\n",
        "x.toml",
    )
    .unwrap();
    assert_eq!(
        c.paas.ui_url.as_deref(),
        Some("https://rancher.example.com")
    );
    assert_eq!(c.discord_guilds, ["123456789012345678"]);
    let demo = Config::demo();
    assert_eq!(demo.paas.ui_url, None);
    assert!(demo.discord_guilds.is_empty());
    for bad in [
        "[discord]\nguilds = [\"releases\"]\n",
        "[paas]\nui_url = \"rancher\"\n",
    ] {
        assert!(Config::parse(bad, "x.toml").is_err(), "{bad}");
    }
}

#[test]
fn plain_http_to_the_paas_is_allowed_only_when_configured() {
    assert!(!Config::demo().paas.allow_plain_http);
    let c = Config::parse(
        "[paas]\nurl = \"http://rancher.internal\"\nallow_plain_http = true\n",
        "x.toml",
    )
    .unwrap();
    assert!(c.paas.allow_plain_http);
    let e = Config::parse("[paas]\nallow_plain_http = \"yes\"\n", "x.toml").unwrap_err();
    assert!(e.0.contains("line 2"), "{e}");
}

#[test]
fn incident_commands_default_to_the_deploy_roles() {
    let c = Config::parse(
        "[access]\ndeploy = [\"deployer\"]\nfreeze = [\"sre\"]\n",
        "x.toml",
    )
    .unwrap();
    let own = AccessRoles {
        deploy: Some(vec!["webteam".into()]),
        ..AccessRoles::default()
    };
    let a = own.or(&c.access);
    assert_eq!(a.rollback, Some(vec!["webteam".to_string()]));
    assert_eq!(a.promote, Some(vec!["webteam".to_string()]));
    assert_eq!(a.freeze, Some(vec!["sre".to_string()]));
    let a = AccessRoles::default().or(&c.access);
    assert_eq!(a.rollback, Some(vec!["deployer".to_string()]));
}

#[test]
fn read_roles_are_read_for_access_projects_and_apps() {
    let c = Config::parse(
        r#"
        [access]
        read = ["auditor"]
        admin = ["123456789012345678"]
        [projects.web]
        cluster = "c-1"
        project = "p-1"
        pipeline = "p-2"
        read = ["developer"]
        [apps.web]
        cluster = "c-1"
        project = "p-1"
        app = "web"
        read = ["oncall", "Auditor"]
        approvers = ["lead"]
        "#,
        "x.toml",
    )
    .unwrap();
    assert_eq!(c.access.read, Some(vec!["auditor".to_string()]));
    let web = &c.projects[&ProjectName::parse("web").unwrap()];
    assert_eq!(web.access.read, Some(vec!["developer".to_string()]));
    let app = &c.apps[&AppName::parse("web").unwrap()];
    assert_eq!(
        app.access.read,
        Some(vec!["oncall".to_string(), "Auditor".to_string()])
    );
    // Every role named, once whatever its case, with where.
    assert_eq!(
        c.roles_named(),
        [
            (
                "123456789012345678".to_string(),
                vec!["[access] admin".to_string()]
            ),
            (
                "auditor".to_string(),
                vec!["[access] read".to_string(), "[apps.web] read".to_string()]
            ),
            (
                "developer".to_string(),
                vec!["[projects.web] read".to_string()]
            ),
            ("oncall".to_string(), vec!["[apps.web] read".to_string()]),
            ("lead".to_string(), vec!["[apps.web] approvers".to_string()]),
        ]
    );
    for (text, key) in [
        ("[access]\nread = [\"\"]\n", "access.read"),
        (
            "[apps.web]\ncluster=\"c-1\"\nproject=\"p-1\"\napp=\"a\"\nread=[\" \"]\n",
            "apps.web.read",
        ),
        (
            "[projects.web]\ncluster=\"c-1\"\nproject=\"p-1\"\npipeline=\"p\"\nread=[\"\\u0007\"]\n",
            "projects.web.read",
        ),
    ] {
        let e = Config::parse(text, "x.toml").unwrap_err();
        assert!(e.0.contains(key), "{text:?} gave {e}");
    }
}

#[test]
fn unknown_keys_are_refused_by_name() {
    let e = Config::parse("[paas]\npol_interval = \"5s\"\n", "x.toml").unwrap_err();
    assert!(e.0.contains("pol_interval"), "{e}");
    assert!(e.0.contains("line 2"), "{e}");
    let e = Config::parse(
        "[projects.web]\ncluster=\"c\"\nproject=\"p\"\npipeline=\"q\"\nbranchh=\"x\"\n",
        "x.toml",
    )
    .unwrap_err();
    assert!(e.0.contains("branchh"), "{e}");
}

#[test]
fn bad_values_name_their_key() {
    let cases = [
        ("[paas]\npoll_interval = \"soon\"\n", "paas.poll_interval"),
        ("[paas]\nurl = \"ftp://x\"\n", "paas.url"),
        (
            "[projects.web]\ncluster=\"c-1\"\nproject=\"p-1\"\npipeline=\"p-2\"\nbranch=\"a..b\"\n",
            "projects.web.branch",
        ),
        (
            "[projects.web]\ncluster=\"c-1\"\nproject=\"P 1\"\npipeline=\"p-2\"\n",
            "projects.web.project",
        ),
        (
            "[projects.web]\ncluster=\"c-1\"\nproject=\"p-1\"\npipeline=\"p-2\"\ndeploys=\"nope\"\n",
            "projects.web.deploys",
        ),
        (
            "[projects.web]\ncluster=\"c-1\"\nproject=\"p-1\"\npipeline=\"p-2\"\ndeploys=[]\n",
            "projects.web.deploys",
        ),
        (
            "[projects.web]\ncluster=\"c-1\"\nproject=\"p-1\"\npipeline=\"p-2\"\nrollout=\"sideways\"\n",
            "projects.web.rollout",
        ),
        (
            "[apps.web]\ncluster=\"c-1\"\nproject=\"p-1\"\napp=\"a\"\nvotes=0\n",
            "apps.web.votes",
        ),
        (
            "[apps.Web]\ncluster=\"c-1\"\nproject=\"p-1\"\napp=\"a\"\n",
            "apps.Web",
        ),
        ("[jobs]\nlog_lines = 0\n", "jobs.log_lines"),
        (
            "[apps.web]\ncluster=\"c-1\"\nproject=\"p-1\"\napp=\"a\"\nbuilt_by=\"nope\"\n",
            "apps.web.built_by",
        ),
        (
            "[projects.web]\ncluster=\"c-1\"\nproject=\"p-1\"\npipeline=\"p-2\"\ncommit_url=\"https://git.example.com/c\"\n",
            "projects.web.commit_url",
        ),
        (
            "[projects.web]\ncluster=\"c-1\"\nproject=\"p-1\"\npipeline=\"p-2\"\ncommit_url=\"ftp://x/{commit}\"\n",
            "projects.web.commit_url",
        ),
    ];
    for (text, key) in cases {
        let e = Config::parse(text, "x.toml").unwrap_err();
        assert!(e.0.contains(key), "{text:?} gave {e}");
    }
}
