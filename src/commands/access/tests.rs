use super::*;
use crate::names::{AppName, ProjectName};

fn config() -> Config {
    Config::parse(
        r#"
        [access]
        deploy = ["deployer"]
        [projects.web]
        cluster = "c-1"
        project = "p-1"
        pipeline = "p-2"
        build = ["developer"]
        channels = ["releases"]
        [apps.web]
        cluster = "c-1"
        project = "p-1"
        app = "web"
        "#,
        "test",
    )
    .unwrap()
}

fn actor(roles: &[&str]) -> Actor {
    Actor::new("u", "u", roles.iter().map(|r| r.to_string()).collect())
}

#[test]
fn refusals_name_what_is_missing() {
    let c = config();
    let web = &c.apps[&AppName::parse("web").unwrap()];
    assert_eq!(
        app(&c, &actor(&[]), "releases", web, Action::Deploy).unwrap_err(),
        Denied::NeedsRole {
            doing: "Deploying",
            name: "web".into(),
            roles: vec!["deployer".into()]
        }
    );
    assert!(app(&c, &actor(&["deployer"]), "x", web, Action::Deploy).is_ok());
    assert!(app(&c, &actor(&["admin"]), "x", web, Action::Deploy).is_ok());
}

#[test]
fn project_overrides_and_channels_apply() {
    let c = config();
    let web = &c.projects[&ProjectName::parse("web").unwrap()];
    assert!(project(&c, &actor(&["developer"]), "releases", web, Action::Build).is_ok());
    assert!(matches!(
        project(&c, &actor(&["developer"]), "general", web, Action::Build),
        Err(Denied::WrongChannel { .. })
    ));
    assert!(matches!(
        project(&c, &actor(&[]), "releases", web, Action::Build),
        Err(Denied::NeedsRole { roles, .. }) if roles == ["developer"]
    ));
    // Release has no list: everyone.
    assert!(project(&c, &actor(&[]), "releases", web, Action::Release).is_ok());
}

/// Two apps and two projects: `web` closed to its deployers and approvers and
/// limited to #releases, `api` open; `site` (releasing web) and `tools`.
fn read_config(extra: &str) -> Config {
    Config::parse(
        &format!(
            r#"
            [access]
            build = ["developer"]
            release = ["lead"]
            {extra}
            [projects.site]
            cluster = "c-1"
            project = "p-1"
            pipeline = "p-2"
            deploys = "web"
            [projects.tools]
            cluster = "c-1"
            project = "p-1"
            pipeline = "p-3"
            release = []
            [apps.web]
            cluster = "c-1"
            project = "p-1"
            app = "web"
            deploy = ["deployer"]
            approvers = ["lead"]
            channels = ["releases"]
            [apps.api]
            cluster = "c-1"
            project = "p-1"
            app = "api"
            "#
        ),
        "test",
    )
    .unwrap()
}

fn app_of<'c>(c: &'c Config, name: &str) -> &'c App {
    &c.apps[&AppName::parse(name).unwrap()]
}

fn project_of<'c>(c: &'c Config, name: &str) -> &'c Project {
    &c.projects[&ProjectName::parse(name).unwrap()]
}

#[test]
fn an_app_is_read_by_who_may_deploy_or_approve_it_from_its_channels() {
    let c = read_config("");
    let web = app_of(&c, "web");
    assert_eq!(
        app_readers(&c, web),
        Some(vec!["deployer".to_string(), "lead".to_string()])
    );
    for reader in [&["deployer"][..], &["LEAD"], &["admin"]] {
        assert!(
            read_app(&c, &actor(reader), "releases", web).is_ok(),
            "{reader:?}"
        );
    }
    assert_eq!(
        read_app(&c, &actor(&[]), "releases", web).unwrap_err(),
        Denied::NeedsRole {
            doing: READING,
            name: "web".into(),
            roles: vec!["deployer".into(), "lead".into()]
        }
    );
    assert!(read_app(&c, &actor(&["developer"]), "releases", web).is_err());
    // From another channel, nobody: admins included.
    for who in [&["deployer"][..], &["admin"]] {
        assert_eq!(
            read_app(&c, &actor(who), "general", web).unwrap_err(),
            Denied::WrongChannel { name: "web".into() }
        );
    }
    // Anyone may deploy api, so anyone may read it, from anywhere.
    let api = app_of(&c, "api");
    assert_eq!(app_readers(&c, api), None);
    assert!(read_app(&c, &actor(&[]), "general", api).is_ok());
}

#[test]
fn read_roles_are_the_apps_own_else_those_of_access() {
    let c = read_config("read = [\"auditor\"]");
    // [access] read is the default for every app without its own...
    for name in ["web", "api"] {
        let a = app_of(&c, name);
        assert_eq!(app_readers(&c, a), Some(vec!["auditor".to_string()]));
        assert!(read_app(&c, &actor(&["auditor"]), "releases", a).is_ok());
        assert!(read_app(&c, &actor(&["deployer"]), "releases", a).is_err());
    }
    // ...and of projects.
    let site = project_of(&c, "site");
    assert!(read_project(&c, &actor(&["auditor"]), "x", site).is_ok());
    assert!(read_project(&c, &actor(&["developer"]), "x", site).is_err());

    let mut c = read_config("read = [\"auditor\"]");
    let web = c.apps.get_mut(&AppName::parse("web").unwrap()).unwrap();
    web.access.read = Some(vec!["oncall".into()]);
    let web = app_of(&c, "web");
    assert!(read_app(&c, &actor(&["oncall"]), "releases", web).is_ok());
    assert!(read_app(&c, &actor(&["auditor"]), "releases", web).is_err());
    // An empty list is everyone, as everywhere.
    let mut c = read_config("");
    let web = c.apps.get_mut(&AppName::parse("web").unwrap()).unwrap();
    web.access.read = Some(Vec::new());
    let web = app_of(&c, "web");
    assert!(read_app(&c, &actor(&[]), "releases", web).is_ok());
}

#[test]
fn a_project_is_read_by_who_may_build_or_release_it() {
    let c = read_config("");
    let site = project_of(&c, "site");
    assert_eq!(
        project_readers(&c, site),
        Some(vec!["developer".to_string(), "lead".to_string()])
    );
    assert!(read_project(&c, &actor(&["developer"]), "x", site).is_ok());
    assert!(read_project(&c, &actor(&["lead"]), "x", site).is_ok());
    assert!(matches!(
        read_project(&c, &actor(&["deployer"]), "x", site),
        Err(Denied::NeedsRole { .. })
    ));
    // Anyone may release tools: anyone may read it.
    let tools = project_of(&c, "tools");
    assert_eq!(project_readers(&c, tools), None);
    assert!(read_project(&c, &actor(&[]), "x", tools).is_ok());
}

fn record(id: u64, spec: crate::job::JobSpec) -> JobRecord {
    let who = crate::job::Person {
        id: "9".into(),
        name: "zoe".into(),
    };
    JobRecord::new(crate::names::JobId(id), spec, who, "releases", 0)
}

#[test]
fn a_job_is_read_only_by_who_may_read_all_it_names() {
    let c = read_config("");
    let branch = crate::names::Branch::parse("main").unwrap();
    let site = ProjectName::parse("site").unwrap();
    let web = AppName::parse("web").unwrap();
    let build = record(
        1,
        crate::job::JobSpec::Build {
            project: site.clone(),
            branch: branch.clone(),
        },
    );
    let release = record(
        2,
        crate::job::JobSpec::Release {
            project: site,
            branch,
            app: web,
            more: Vec::new(),
            parallel: false,
        },
    );
    let developer = actor(&["developer"]);
    assert!(read_job(&c, &developer, "releases", &build).is_ok());
    // The release deploys web, which a developer may not read.
    assert_eq!(
        read_job(&c, &developer, "releases", &release).unwrap_err(),
        Denied::JobUnreadable {
            job: crate::names::JobId(2)
        }
    );
    let both = actor(&["developer", "deployer"]);
    assert!(read_job(&c, &both, "releases", &release).is_ok());
    assert!(read_job(&c, &both, "general", &release).is_err());
    // What is no longer configured only admins read.
    let gone = record(
        3,
        crate::job::JobSpec::Build {
            project: ProjectName::parse("gone").unwrap(),
            branch: crate::names::Branch::parse("main").unwrap(),
        },
    );
    assert!(read_job(&c, &both, "releases", &gone).is_err());
    assert!(read_job(&c, &actor(&["admin"]), "releases", &gone).is_ok());
}

#[test]
fn a_history_of_a_name_that_is_a_project_and_an_app_needs_both() {
    let c = Config::demo();
    let mut c = c;
    let web = c.apps.get_mut(&AppName::parse("web").unwrap()).unwrap();
    web.access.deploy = Some(vec!["deployer".into()]);
    assert!(read_history(&c, &actor(&["deployer"]), "x", "web").is_ok());
    assert!(read_history(&c, &actor(&["lead"]), "x", "web").is_ok());
    assert!(read_history(&c, &actor(&[]), "x", "web").is_err());
    let p = c
        .projects
        .get_mut(&ProjectName::parse("web").unwrap())
        .unwrap();
    p.access.read = Some(vec!["developer".into()]);
    assert!(read_history(&c, &actor(&["deployer"]), "x", "web").is_err());
    assert!(read_history(&c, &actor(&["developer", "deployer"]), "x", "web").is_ok());
    // api is only an app, and open.
    assert!(read_history(&c, &actor(&[]), "x", "api").is_ok());
}

fn freeze_by(who: &str, scope: Scope) -> Freeze {
    Freeze {
        id: 1,
        scope,
        by: crate::job::Person {
            id: who.into(),
            name: who.into(),
        },
        reason: "incident".into(),
        at_ms: 0,
        until_ms: 1,
        lifted: None,
        holder: None,
    }
}

#[test]
fn only_the_freezer_or_an_admin_lifts_a_freeze() {
    let c = config();
    let web = Scope::App(AppName::parse("web").unwrap());
    let carols = freeze_by("carol", web);
    let carol = Actor::new("carol", "carol", vec!["deployer".into()]);
    let bob = Actor::new("bob", "bob", vec!["deployer".into()]);
    let root = Actor::new("root", "root", vec!["admin".into()]);
    assert!(may_lift(&c, &carol, &carols).is_ok());
    assert!(may_lift(&c, &root, &carols).is_ok());
    assert_eq!(
        may_lift(&c, &bob, &carols).unwrap_err(),
        Denied::OthersFreeze {
            scope: "web".into(),
            by: "carol".into()
        }
    );
    // The same name is not the same person.
    let other_carol = Actor::new("carol2", "carol", vec!["deployer".into()]);
    assert!(may_lift(&c, &other_carol, &carols).is_err());
    let all = freeze_by("carol", Scope::All);
    assert_eq!(
        may_lift(&c, &bob, &all).unwrap_err(),
        Denied::OthersFreeze {
            scope: "all apps".into(),
            by: "carol".into()
        }
    );
}

#[test]
fn an_admin_role_name_several_roles_bear_grants_nothing() {
    let mut c = config();
    let fake = actor(&["999", "admin"]).with_ambiguous(vec!["admin".into()]);
    assert!(!is_admin(&c, &fake));
    let web = &c.apps[&AppName::parse("web").unwrap()];
    assert!(app(&c, &fake, "x", web, Action::Deploy).is_err());
    // The real role's holders are not admins by that name either; by id they are.
    let real = actor(&["103", "Admin"]).with_ambiguous(vec!["Admin".into()]);
    assert!(!is_admin(&c, &real));
    c.admins = vec!["103".into()];
    assert!(is_admin(&c, &real));
    assert!(!is_admin(&c, &fake));
    // Elsewhere a name still matches as it always did.
    assert!(fake.has_any_role(&["admin".into()]));
}

#[test]
fn each_app_anyone_may_deploy_is_named_with_the_key_that_closes_it() {
    let open = |text: &str| -> Vec<String> {
        let c = Config::parse(text, "x.toml").unwrap();
        open_apps(&c).iter().map(|o| o.to_string()).collect()
    };
    let apps = "[apps.web]\ncluster=\"c-1\"\nproject=\"p-1\"\napp=\"web\"\n\
                [apps.api]\ncluster=\"c-1\"\nproject=\"p-1\"\napp=\"api\"\n";
    let none = open(apps);
    assert_eq!(none.len(), 2, "{none:?}");
    assert!(none[0].starts_with("anyone may deploy api: set [apps.api] deploy"));
    assert!(none[1].contains("[access] deploy"), "{none:?}");
    assert!(open(&format!("[access]\ndeploy = [\"d\"]\n{apps}")).is_empty());
    let empty = open(&format!("[access]\ndeploy = []\n{apps}"));
    assert_eq!(empty.len(), 2);
    assert!(empty[0].contains("[access] deploy is empty"), "{empty:?}");
    let one = open(&apps.replace("app=\"web\"\n", "app=\"web\"\ndeploy = []\n"));
    assert_eq!(one.len(), 2);
    assert!(one[1].contains("[apps.web] deploy is empty"), "{one:?}");
    let closed = open(&apps.replace("app=\"web\"\n", "app=\"web\"\ndeploy = [\"d\"]\n"));
    assert_eq!(closed.len(), 1);
    assert!(closed[0].contains("deploy api"), "{closed:?}");
}
