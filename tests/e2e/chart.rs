//! The Helm chart renders to the Kubernetes objects a platform team expects. Helm
//! cannot be installed here, so a small renderer of the template subset the chart uses
//! (`chart/render.rs`) renders it, and the result is parsed as YAML and checked.

mod render;

use std::collections::HashMap;
use std::path::Path;

use releasebot::config::{Config, Database, Env};
use serde_json::{Value, json};

use render::{CHART, Objects, render};

/// The Deployment's pod spec.
fn pod(objects: &Objects) -> &Value {
    &objects["Deployment"]["spec"]["template"]["spec"]
}

/// The container's environment by name: each entry (its `value` or `valueFrom`).
fn env(container: &Value) -> HashMap<&str, &Value> {
    container["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap(), e))
        .collect()
}

fn names<'a>(list: &'a Value, field: &str) -> Vec<&'a str> {
    list.as_array()
        .map(|l| l.iter().map(|v| v[field].as_str().unwrap()).collect())
        .unwrap_or_default()
}

/// Every URL in any rendered object (a Secret's data included) whose user-info holds a
/// password: `scheme://user:password@`, the user-info ending at the last `@` (so a
/// password with a `/` counts too).
fn urls_with_passwords(objects: &Objects) -> Vec<String> {
    fn walk(v: &Value, found: &mut Vec<String>) {
        match v {
            Value::String(s) => {
                for (at, _) in s.match_indices("://") {
                    let rest = &s[at + 3..];
                    let url = &rest[..rest.find(char::is_whitespace).unwrap_or(rest.len())];
                    if url
                        .rsplit_once('@')
                        .is_some_and(|(info, _)| info.contains(':'))
                    {
                        found.push(s.clone());
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, found)),
            Value::Object(o) => o.values().for_each(|v| walk(v, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    objects.all().iter().for_each(|o| walk(o, &mut found));
    found
}

/// The value a container's variable gets: its literal, or the key of a rendered Secret.
fn resolve(objects: &Objects, var: &Value) -> Option<String> {
    if let Some(v) = var["value"].as_str() {
        return Some(v.to_string());
    }
    let r = &var["valueFrom"]["secretKeyRef"];
    let secret = objects
        .of_kind("Secret")
        .into_iter()
        .find(|s| s["metadata"]["name"] == r["name"])?;
    secret["stringData"][r["key"].as_str()?]
        .as_str()
        .map(str::to_string)
}

#[test]
fn the_chart_renders_one_recreated_replica_with_its_volume_secret_config_and_probes() {
    let objects = render(json!({"secrets": {"rancherToken": "t", "discordToken": "d"}}));
    let deployment = &objects["Deployment"];
    assert_eq!(deployment["spec"]["replicas"], 1);
    assert_eq!(deployment["spec"]["strategy"]["type"], "Recreate");
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    assert_eq!(
        container["image"],
        "registry.example.com/platform/releasebot:0.1.0"
    );
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(container["resources"]["limits"]["memory"], "256Mi");
    assert_eq!(
        container["envFrom"][0]["secretRef"]["name"],
        "prod-releasebot"
    );
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        names(&container["volumeMounts"], "mountPath"),
        ["/data", "/etc/releasebot"]
    );
    let env = env(container);
    assert_eq!(env["RELEASEBOT_DB"]["value"], "/data/releasebot.db");
    assert_eq!(env["RANCHER_URL"]["value"], "https://rancher.example.com");
    assert_eq!(
        env["RELEASEBOT_REPLICA"]["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.name"
    );
    assert_eq!(pod["terminationGracePeriodSeconds"], 30);
    assert!(pod.get("affinity").is_none());
    assert_eq!(
        pod["volumes"][0]["persistentVolumeClaim"]["claimName"],
        "prod-releasebot"
    );
    assert_eq!(
        deployment["spec"]["selector"]["matchLabels"],
        deployment["spec"]["template"]["metadata"]["labels"]
    );

    assert_eq!(
        objects["PersistentVolumeClaim"]["spec"]["resources"]["requests"]["storage"],
        "1Gi"
    );
    assert_eq!(objects["Secret"]["stringData"]["RANCHER_TOKEN"], "t");
    assert_eq!(objects["Service"]["spec"]["ports"][0]["port"], 8080);
    // The mounted configuration is one releasebot accepts.
    let toml = objects["ConfigMap"]["data"]["releasebot.toml"]
        .as_str()
        .unwrap();
    Config::parse(toml, "the chart's config").unwrap();
    assert!(!objects.contains_key("ServiceMonitor"));
    assert!(!objects.contains_key("PodDisruptionBudget"));
}

#[test]
fn an_existing_secret_and_a_service_monitor_are_optional() {
    let objects =
        render(json!({"existingSecret": "releasebot-tokens", "serviceMonitor": {"enabled": true}}));
    assert!(
        !objects.contains_key("Secret"),
        "the chart makes no Secret of its own"
    );
    let container = &objects["Deployment"]["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        container["envFrom"][0]["secretRef"]["name"],
        "releasebot-tokens"
    );
    let monitor = &objects["ServiceMonitor"];
    assert_eq!(monitor["spec"]["endpoints"][0]["path"], "/metrics");
}

#[test]
fn a_database_url_renders_two_rolling_replicas_spread_over_nodes_with_a_budget() {
    let url = "postgres://releasebot:s3cret@db.internal:5432/releasebot";
    let objects = render(json!({"database": {"url": url}}));
    let deployment = &objects["Deployment"];
    assert_eq!(deployment["spec"]["replicas"], 2);
    let strategy = &deployment["spec"]["strategy"];
    assert_eq!(strategy["type"], "RollingUpdate");
    assert_eq!(strategy["rollingUpdate"]["maxUnavailable"], 0);
    assert_eq!(strategy["rollingUpdate"]["maxSurge"], 1);

    // The URL is in a Secret of its own, and reaches the container only through it: a
    // URL of before RELEASEBOT_DB_PASSWORD may still hold the password.
    let secrets = objects.of_kind("Secret");
    let database = secrets
        .iter()
        .find(|s| s["metadata"]["name"] == "prod-releasebot-database")
        .expect("the chart makes a Secret for the database URL");
    assert_eq!(database["stringData"]["url"], url);
    assert!(database["stringData"].get("password").is_none());
    let pod = pod(&objects);
    let container = &pod["containers"][0];
    let env = env(container);
    let db = env["RELEASEBOT_DB"];
    assert!(db.get("value").is_none(), "no literal URL: {db}");
    assert_eq!(
        db["valueFrom"]["secretKeyRef"],
        json!({"name": "prod-releasebot-database", "key": "url"})
    );
    assert!(!deployment.to_string().contains("s3cret"));
    assert!(!env.contains_key("RELEASEBOT_DB_PASSWORD"), "none given");
    assert_eq!(
        env["RELEASEBOT_REPLICA"]["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.name"
    );

    // Both replicas are ready (leader and standby alike), on the same probes.
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(pod["terminationGracePeriodSeconds"], 30);

    let spread =
        &pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"];
    assert_eq!(spread.as_array().unwrap().len(), 1);
    let term = &spread[0]["podAffinityTerm"];
    assert_eq!(term["topologyKey"], "kubernetes.io/hostname");
    assert_eq!(
        term["labelSelector"]["matchLabels"],
        deployment["spec"]["selector"]["matchLabels"]
    );
    assert!(
        pod["affinity"]["podAntiAffinity"]
            .get("requiredDuringSchedulingIgnoredDuringExecution")
            .is_none(),
        "soft: a one-node cluster still runs both"
    );

    let budget = &objects["PodDisruptionBudget"];
    assert_eq!(budget["apiVersion"], "policy/v1");
    assert_eq!(budget["spec"]["minAvailable"], 1);
    assert_eq!(
        budget["spec"]["selector"]["matchLabels"],
        deployment["spec"]["selector"]["matchLabels"]
    );

    // No state file: no claim, no volume, no mount.
    assert!(!objects.contains_key("PersistentVolumeClaim"));
    assert_eq!(names(&pod["volumes"], "name"), ["config"]);
    assert_eq!(
        names(&container["volumeMounts"], "mountPath"),
        ["/etc/releasebot"]
    );
}

#[test]
fn an_existing_database_secret_is_read_and_none_is_made() {
    let objects = render(json!({
        "existingSecret": "releasebot-tokens",
        "replicaCount": 3,
        "database": {"existingSecret": "releasebot-db", "existingSecretKey": "DATABASE_URL"},
    }));
    assert!(
        !objects.contains_key("Secret"),
        "neither the tokens' Secret nor the database's is made"
    );
    let deployment = &objects["Deployment"];
    assert_eq!(deployment["spec"]["replicas"], 3);
    assert_eq!(deployment["spec"]["strategy"]["type"], "RollingUpdate");
    let env = env(&pod(&objects)["containers"][0]);
    assert_eq!(
        env["RELEASEBOT_DB"]["valueFrom"]["secretKeyRef"],
        json!({"name": "releasebot-db", "key": "DATABASE_URL"})
    );
    // The password under its own key, if the Secret has one (a Secret of before holds
    // only the URL, and still works).
    assert_eq!(
        env["RELEASEBOT_DB_PASSWORD"]["valueFrom"]["secretKeyRef"],
        json!({"name": "releasebot-db", "key": "password", "optional": true})
    );
    assert_eq!(objects["PodDisruptionBudget"]["spec"]["minAvailable"], 1);
    assert!(!objects.contains_key("PersistentVolumeClaim"));

    let objects = render(json!({
        "database": {"existingSecret": "releasebot-db", "existingSecretPasswordKey": "PGPASSWORD"},
    }));
    let vars = names(&pod(&objects)["containers"][0]["env"], "name");
    assert!(vars.contains(&"RELEASEBOT_DB_PASSWORD"));
    assert_eq!(
        pod(&objects)["containers"][0]["env"][vars
            .iter()
            .position(|n| *n == "RELEASEBOT_DB_PASSWORD")
            .unwrap()]["valueFrom"]["secretKeyRef"]["key"],
        "PGPASSWORD"
    );
    let objects = render(json!({
        "database": {"existingSecret": "releasebot-db", "existingSecretPasswordKey": ""},
    }));
    let vars = names(&pod(&objects)["containers"][0]["env"], "name");
    assert!(
        !vars.contains(&"RELEASEBOT_DB_PASSWORD"),
        "no key, no variable"
    );
}

#[test]
fn a_database_password_reaches_releasebot_in_its_own_variable_from_the_secret() {
    let password = "pa/ss?w@rd#s3cret";
    let url = "postgres://releasebot@db.internal:5432/releasebot";
    let objects = render(json!({"database": {"url": url, "password": password}}));
    let database = objects
        .of_kind("Secret")
        .into_iter()
        .find(|s| s["metadata"]["name"] == "prod-releasebot-database")
        .expect("the chart makes a Secret for the database");
    assert_eq!(database["stringData"]["url"], url);
    assert_eq!(database["stringData"]["password"], password);
    let container = &pod(&objects)["containers"][0];
    let vars = env(container);
    assert_eq!(
        vars["RELEASEBOT_DB_PASSWORD"]["valueFrom"]["secretKeyRef"],
        json!({"name": "prod-releasebot-database", "key": "password"})
    );
    assert!(!objects["Deployment"].to_string().contains("s3cret"));
    assert_eq!(urls_with_passwords(&objects), Vec::<String>::new());

    // What the container gets is what releasebot reads: the URL shown without it, the
    // password from the variable.
    let given: Vec<(String, String)> = ["RELEASEBOT_DB", "RELEASEBOT_DB_PASSWORD"]
        .iter()
        .map(|n| (n.to_string(), resolve(&objects, vars[n]).unwrap()))
        .collect();
    let read = Env::from_lookup(|k| given.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()));
    let Database::Postgres(db) = &read.db else {
        panic!("a PostgreSQL database: {:?}", read.db)
    };
    assert_eq!(
        db.to_string(),
        "postgres://releasebot@db.internal:5432/releasebot"
    );
    assert_eq!(
        db.password().unwrap().map(|p| p.expose().to_string()),
        Some(password.to_string())
    );
}

#[test]
fn a_database_ca_secret_is_mounted_read_only_and_named_for_verify_full() {
    let url = "postgres://releasebot@db.internal:5432/releasebot";
    let objects = render(json!({"database": {"url": url, "caSecret": "db-ca"}}));
    let pod = pod(&objects);
    let named = |list: &Value, name: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name} in {list}"))
    };
    assert_eq!(
        named(&pod["volumes"], "database-ca")["secret"],
        json!({"secretName": "db-ca", "items": [{"key": "ca.crt", "path": "ca.crt"}]})
    );
    let container = &pod["containers"][0];
    let mount = named(&container["volumeMounts"], "database-ca");
    assert_eq!(mount["readOnly"], true);
    let vars = env(container);
    assert_eq!(
        vars["PGSSLROOTCERT"]["value"],
        format!("{}/ca.crt", mount["mountPath"].as_str().unwrap())
    );
    assert_eq!(vars["PGSSLMODE"]["value"], "verify-full");

    // What the container gets is what releasebot reads: the URL, verified against the
    // mounted authority.
    let given: Vec<(String, String)> = ["RELEASEBOT_DB", "PGSSLMODE", "PGSSLROOTCERT"]
        .iter()
        .map(|n| (n.to_string(), resolve(&objects, vars[n]).unwrap()))
        .collect();
    let read = Env::from_lookup(|k| given.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()));
    let Database::Postgres(db) = &read.db else {
        panic!("a PostgreSQL database: {:?}", read.db)
    };
    let option = |key: &str| {
        db.options()
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(option("sslmode"), Some("verify-full"));
    assert_eq!(
        option("sslrootcert"),
        Some("/etc/releasebot-database-ca/ca.crt")
    );

    // Without it, none of this.
    let objects = render(json!({"database": {"url": url}}));
    let pod = self::pod(&objects);
    assert_eq!(names(&pod["volumes"], "name"), ["config"]);
    let vars = env(&pod["containers"][0]);
    assert!(!vars.contains_key("PGSSLROOTCERT") && !vars.contains_key("PGSSLMODE"));
}

#[test]
fn no_rendered_manifest_holds_a_password_in_a_url() {
    for values in [
        json!({}),
        json!({"database": {"url": "postgres://releasebot@db:5432/rb", "password": "s3cret"}}),
        json!({"database": {"existingSecret": "releasebot-db"}}),
        json!({"postgresql": {"enabled": true}}),
        json!({"postgresql": {"enabled": true, "auth": {"password": "s3cret"}}}),
    ] {
        let objects = render(values.clone());
        assert_eq!(
            urls_with_passwords(&objects),
            Vec::<String>::new(),
            "{values}"
        );
        assert!(
            !objects["Deployment"].to_string().contains("s3cret"),
            "{values}"
        );
    }
    // The check itself sees a password in a URL, a `/` in it included.
    let objects = render(json!({"database": {"url": "postgres://releasebot:s3/cret@db:5432/rb"}}));
    assert_eq!(urls_with_passwords(&objects).len(), 1);
}

#[test]
fn sqlite_keeps_one_replica_whatever_replica_count_says() {
    let objects = render(json!({"replicaCount": 3, "affinity": {"nodeAffinity": {}}}));
    let deployment = &objects["Deployment"];
    assert_eq!(deployment["spec"]["replicas"], 1);
    assert_eq!(deployment["spec"]["strategy"]["type"], "Recreate");
    assert!(objects.contains_key("PersistentVolumeClaim"));
    // An affinity of one's own is kept as given.
    assert_eq!(pod(&objects)["affinity"], json!({"nodeAffinity": {}}));
}

#[test]
fn the_bundled_postgresql_is_off_by_default_and_enabled_is_reached_at_its_service() {
    let chart = std::fs::read_to_string(Path::new(CHART).join("Chart.yaml")).unwrap();
    let chart: Value = serde_yaml::from_str(&chart).unwrap();
    let dependency = &chart["dependencies"][0];
    assert_eq!(dependency["name"], "postgresql");
    assert_eq!(dependency["condition"], "postgresql.enabled");
    let defaults = render(json!({}));
    assert_eq!(
        defaults["Deployment"]["spec"]["replicas"], 1,
        "off by default"
    );

    let objects = render(json!({"postgresql": {"enabled": true}}));
    let deployment = &objects["Deployment"];
    assert_eq!(deployment["spec"]["replicas"], 2);
    assert_eq!(deployment["spec"]["strategy"]["type"], "RollingUpdate");
    assert_eq!(objects["PodDisruptionBudget"]["spec"]["minAvailable"], 1);
    assert!(!objects.contains_key("PersistentVolumeClaim"));
    assert_eq!(
        objects.of_kind("Secret").len(),
        1,
        "only the tokens' Secret: the password is the subchart's"
    );
    let pod = pod(&objects);
    assert!(pod["affinity"]["podAntiAffinity"].is_object());
    let env = env(&pod["containers"][0]);
    // The password comes from the subchart's Secret into a variable of its own, never
    // into the URL.
    assert_eq!(
        env["RELEASEBOT_DB_PASSWORD"]["valueFrom"]["secretKeyRef"],
        json!({"name": "prod-postgresql", "key": "password"})
    );
    assert_eq!(
        env["RELEASEBOT_DB"]["value"],
        "postgres://releasebot@prod-postgresql:5432/releasebot"
    );
    assert_eq!(
        env["RELEASEBOT_REPLICA"]["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.name"
    );
}

#[test]
fn a_database_of_ones_own_wins_over_the_bundled_ones_url() {
    let objects = render(json!({
        "postgresql": {"enabled": true},
        "database": {"existingSecret": "releasebot-db"},
    }));
    let env = env(&pod(&objects)["containers"][0]);
    assert_eq!(
        env["RELEASEBOT_DB"]["valueFrom"]["secretKeyRef"]["name"],
        "releasebot-db"
    );
    assert_eq!(
        env["RELEASEBOT_DB_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"], "releasebot-db",
        "not the bundled one's"
    );
}
