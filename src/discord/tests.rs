use super::*;

#[test]
fn the_readme_asks_for_these_permissions_and_no_privileged_intent() {
    assert_eq!(PERMISSIONS.bits(), 309_237_712_960);
    assert!(!INTENTS.is_privileged());
}

#[test]
fn settings_come_from_the_environment() {
    let env = |pairs: &[(&str, &str)]| {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Env::from_lookup(move |k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
    };
    assert!(Settings::from_env(&env(&[]), &[]).unwrap().is_none());
    let token = ("DISCORD_TOKEN", "MTIz.abc.def");
    let s = Settings::from_env(
        &env(&[
            token,
            ("DISCORD_GUILD_ID", "123456789012345678"),
            ("DISCORD_PROXY_URL", "http://127.0.0.1:3000/"),
        ]),
        &["999999999999999999".to_string()],
    )
    .unwrap()
    .unwrap();
    assert_eq!(s.guilds, [GuildId::new(123456789012345678)]);
    assert_eq!(s.proxy.as_deref(), Some("http://127.0.0.1:3000"));
    assert!(!format!("{s:?}").contains("MTIz"));
    let several = Settings::from_env(
        &env(&[
            token,
            (
                "DISCORD_GUILD_ID",
                " 123456789012345678, 223456789012345678 ",
            ),
        ]),
        &[],
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        several.guilds,
        [
            GuildId::new(123456789012345678),
            GuildId::new(223456789012345678)
        ]
    );
    let configured = Settings::from_env(&env(&[token]), &["323456789012345678".into()])
        .unwrap()
        .unwrap();
    assert_eq!(configured.guilds, [GuildId::new(323456789012345678)]);

    let bad = |pairs: &[(&str, &str)]| {
        Settings::from_env(&env(pairs), &[])
            .unwrap_err()
            .to_string()
    };
    assert!(bad(&[("DISCORD_TOKEN", "nope")]).contains("does not look like a bot token"));
    // No server named: a bot anyone can invite would serve anyone.
    assert!(bad(&[token]).contains("DISCORD_GUILD_ID"));
    assert!(bad(&[token, ("DISCORD_GUILD_ID", "releases")]).contains("is not a server id"));
    assert!(bad(&[token, ("DISCORD_GUILD_ID", "0")]).contains("is not a server id"));
    let guild = ("DISCORD_GUILD_ID", "123456789012345678");
    assert!(
        bad(&[token, guild, ("DISCORD_PROXY_URL", "127.0.0.1:3000")]).contains("proxy address")
    );
    assert!(
        bad(&[token, guild, ("DISCORD_PROXY_URL", "http://p:3000/api")]).contains("proxy address")
    );
}

#[test]
fn a_proxy_url_with_credentials_is_refused_without_showing_them() {
    let env = |proxy: &str| {
        let proxy = proxy.to_string();
        Env::from_lookup(move |k| match k {
            "DISCORD_TOKEN" => Some("MTIz.abc.def".into()),
            "DISCORD_GUILD_ID" => Some("123456789012345678".into()),
            "DISCORD_PROXY_URL" => Some(proxy.clone()),
            _ => None,
        })
    };
    for proxy in [
        "http://:s3cret-proxy@127.0.0.1:3000",
        "http://me:s3cret-proxy@127.0.0.1:3000",
        "http://me:pa/s3cret-proxy@127.0.0.1:3000",
    ] {
        let env = env(proxy);
        let e = Settings::from_env(&env, &[]).unwrap_err().to_string();
        assert!(e.contains("is not a proxy address"), "{e}");
        assert!(!e.contains("s3cret"), "{e}");
        assert!(!format!("{env:?}").contains("s3cret"));
    }
}
