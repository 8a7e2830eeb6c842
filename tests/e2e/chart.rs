//! The Helm chart renders to the Kubernetes objects a platform team expects. Helm
//! cannot be installed here, so a small renderer of the template subset the chart uses
//! (`chart/render.rs`) renders it, and the result is parsed as YAML and checked.

mod render;

use std::collections::HashMap;

use releasebot::config::Config;
use serde_json::json;

use render::render;

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
    let mounts: Vec<&str> = container["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["mountPath"].as_str().unwrap())
        .collect();
    assert_eq!(mounts, ["/data", "/etc/releasebot"]);
    let env: HashMap<&str, &str> = container["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap(), e["value"].as_str().unwrap()))
        .collect();
    assert_eq!(env["RELEASEBOT_DB"], "/data/releasebot.db");
    assert_eq!(env["RANCHER_URL"], "https://rancher.example.com");
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
