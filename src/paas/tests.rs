use super::*;

#[test]
fn base_urls_are_checked() {
    assert!(parse_base_url("https://rancher.example.com/").is_ok());
    assert_eq!(
        parse_base_url("https://rancher.example.com/")
            .unwrap()
            .as_str()
            .trim_end_matches('/'),
        "https://rancher.example.com"
    );
    assert!(parse_base_url("ftp://x").is_err());
    assert!(parse_base_url("rancher.example.com").is_err());
    assert!(parse_base_url("https://user:pw@rancher.example.com").is_err());
}

#[test]
fn a_refused_base_url_says_what_is_wrong() {
    let refusal = |s: &str| parse_base_url(s).unwrap_err().to_string();
    assert_eq!(
        refusal("rancher.example.com"),
        "the PaaS URL is not a URL (relative URL without a base); give it as https://rancher.example.com"
    );
    assert_eq!(
        refusal("ftp://x"),
        "the PaaS URL ftp://x must start with https:// (or http://)"
    );
    assert_eq!(
        refusal("https://user:pw@rancher.example.com"),
        "the PaaS URL must not hold credentials; set RANCHER_TOKEN instead"
    );
    assert_eq!(
        refusal("https://r.example.com/?x=1"),
        "the PaaS URL https://r.example.com/?… must not have a query or fragment"
    );
}

#[test]
fn a_refused_base_url_never_echoes_credentials_or_its_text() {
    for (given, secret) in [
        // A password with a `/` makes the URL unparseable: the port reads `pa`.
        ("https://admin:pa/ss-paas1@rancher.example.com", "ss-paas1"),
        ("https://admin:pa?ss-paas1@rancher.example.com", "ss-paas1"),
        ("https://admin:pa#ss-paas1@rancher.example.com", "ss-paas1"),
        (
            "https://admin:s3cret-paas1@rancher.example.com/?x=1",
            "s3cret-paas1",
        ),
        (
            "ftp://admin:s3cret-paas1@rancher.example.com",
            "s3cret-paas1",
        ),
        (
            "https://rancher.example.com/?token=s3cret-paas1",
            "s3cret-paas1",
        ),
        // A token pasted where the URL goes.
        ("token-abcde:s3cret-paas1", "s3cret-paas1"),
        (
            "https://rancher.example.com\u{1b}[2Js3cret-paas1",
            "s3cret-paas1",
        ),
    ] {
        let e = parse_base_url(given).unwrap_err();
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains(secret), "{given}: {shown}");
        assert!(!shown.contains("pa/ss"), "{given}: {shown}");
    }
}

#[test]
fn plain_http_is_refused_unless_loopback_or_allowed() {
    let tls = |s: &str, allowed: bool| require_tls(&parse_base_url(s).unwrap(), allowed);
    for local in [
        "http://127.0.0.1:8090",
        "http://127.0.0.2",
        "http://localhost:8090/v3",
        "http://[::1]:8090",
        "https://rancher.example.com",
    ] {
        assert_eq!(tls(local, false), Ok(()), "{local}");
    }
    for remote in [
        "http://rancher.internal",
        "http://10.0.0.1:8080",
        "http://127.0.0.1.nip.io",
        "http://[::2]",
    ] {
        let e = tls(remote, false).unwrap_err();
        assert!(matches!(e, UrlError::PlainHttp { .. }), "{remote}: {e}");
        assert_eq!(tls(remote, true), Ok(()), "{remote} allowed");
    }
    assert_eq!(
        tls("http://rancher.internal:8080/", false)
            .unwrap_err()
            .to_string(),
        "the PaaS URL http://rancher.internal:8080 is plain http, which would send the API token unencrypted; use https://, or allow it with [paas] allow_plain_http = true in the configuration file"
    );
    // The client refuses it as it is made.
    let client = |allowed: bool| {
        let mut config = ClientConfig::new("http://rancher.internal", Secret::new("token-x:y"));
        config.allow_plain_http = allowed;
        PaasClient::new(config, Clock::new())
    };
    assert!(matches!(
        client(false),
        Err(ClientError::Url(UrlError::PlainHttp { .. }))
    ));
    assert!(client(true).is_ok());
}

#[tokio::test]
async fn urls_are_built_from_typed_ids() {
    let client = PaasClient::new(
        ClientConfig::new("https://rancher.example.com", Secret::new("t")),
        Clock::new(),
    )
    .unwrap();
    let project = ProjectRef::parse("c-64wdm:p-5tfq9").unwrap();
    let pipeline = PipelineRef::new(project.clone(), PipelineId::parse("p-tpk2x").unwrap());
    assert_eq!(
        client.pipeline_url(&pipeline),
        "https://rancher.example.com/v3/project/c-64wdm:p-5tfq9/pipelines/p-5tfq9:p-tpk2x"
    );
    let exec = ExecutionRef::new(
        project.clone(),
        ExecutionId::parse("p-5tfq9:p-tpk2x-10").unwrap(),
    );
    assert_eq!(
        client.execution_url(&exec),
        "https://rancher.example.com/v3/project/c-64wdm:p-5tfq9/pipelineExecutions/p-5tfq9:p-tpk2x-10"
    );
    let app = AppRef::new(project, AppId::parse("project-deploy").unwrap());
    assert_eq!(
        client.logs_url(&app),
        "https://rancher.example.com/v3/project/c-64wdm:p-5tfq9/deployLogs/p-5tfq9:project-deploy"
    );
    // Only the path and query of a `next` link are followed, on the configured
    // base: the token never goes to another host.
    assert_eq!(
        client
            .on_base("https://rancher.internal:8443/v3/x?marker=2")
            .unwrap(),
        "https://rancher.example.com/v3/x?marker=2"
    );
    assert_eq!(
        client.on_base("https://evil.example.com/v3/x").unwrap(),
        "https://rancher.example.com/v3/x"
    );
    assert_eq!(
        client.on_base("/v3/x?marker=3").unwrap(),
        "https://rancher.example.com/v3/x?marker=3"
    );
}
