//! The `releasebot` command.

use std::process::ExitCode;
use std::sync::Arc;

use releasebot::adapters::shell::{self, ShellChat};
use releasebot::bot::{self, StartError};
use releasebot::clock::Clock;
use releasebot::commands::EventSink;
use releasebot::config::Env;
use releasebot::metrics::Metrics;
use releasebot::secret::Secret;
use releasebot::sim::{self, Scenario};

const USAGE: &str = "usage:
  releasebot              run the bot: on Discord when DISCORD_TOKEN is set, otherwise in
                          this terminal; against RANCHER_URL when set, otherwise against
                          the built-in PaaS simulator
  releasebot shell        run the bot in this terminal whatever is configured
  releasebot check        check the configuration and every connection, change nothing
  releasebot sim [--listen ADDR] [--token TOKEN] [--scenario FILE] [--speed N]
                          serve the Rancher-compatible PaaS simulator on its own
                          (default 127.0.0.1:8090, token from RANCHER_TOKEN or
                          \"sim-token\", the demo catalogue unless a scenario is given)
  releasebot help         this text

In the terminal, type commands such as /release web master; start a line with @name
to act as another user (@bob /approve 1). /help lists the commands.";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let env = Env::from_process();
    init_logging(&env, args.first().map(String::as_str));
    let result = match args.first().map(String::as_str) {
        None => run_bot(env, false).await,
        Some("shell") if args.len() == 1 => run_bot(env, true).await,
        Some("sim") => run_sim(&args[1..]).await,
        Some("check") if args.len() == 1 => {
            let rows = releasebot::check::run(&env).await;
            print!("{}", releasebot::check::table(&rows));
            if rows.iter().all(|r| r.ok) {
                Ok(())
            } else {
                Err(StartError::runtime("the check found problems"))
            }
        }
        Some("help" | "--help" | "-h") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(StartError::config(format!(
            "unknown command {other:?}\n{USAGE}"
        ))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("releasebot: {e}");
            ExitCode::from(e.code)
        }
    }
}

fn init_logging(env: &Env, command: Option<&str>) {
    // The terminal chat prints to stdout; logs go to stderr, quiet unless asked.
    let default = if matches!(command, None | Some("shell")) {
        "warn"
    } else {
        "info"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if env.log_json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn run_bot(env: Env, force_shell: bool) -> Result<(), StartError> {
    let (mut config, demo) = bot::load_config(&env)?;
    let discord = match force_shell {
        true => None,
        false => releasebot::adapters::discord::Settings::from_env(&env)?,
    };
    let store = bot::open_store(&env)?;
    let clock = Clock::new();
    let metrics = Arc::new(Metrics::default());
    let paas = bot::connect_paas(&env, &config, clock, metrics.clone()).await?;
    if paas.sim.is_some() {
        bot::scale_to_simulator(&mut config);
    }
    if let Some(settings) = discord {
        let runtime = releasebot::adapters::discord::Runtime {
            env: &env,
            config,
            paas: &paas,
            clock,
            store,
            metrics,
        };
        return releasebot::adapters::discord::run(settings, runtime).await;
    }
    let user = std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "you".into());
    let chat = Arc::new(ShellChat::new());
    let users = config.shell_users.clone();
    let source = if demo {
        "the demo configuration".to_string()
    } else {
        config.source.clone()
    };
    let engine = bot::engine(config, &paas, &env, chat.clone(), clock, store, metrics)?;
    engine.set_chat_connected(true);
    let http = bot::serve_http(&env, &engine).await;
    let http = match http {
        Ok(addr) => format!(", HTTP on {addr}"),
        Err(e) => {
            eprintln!("releasebot: {e}; /healthz, /readyz, /metrics and the webhook are off");
            String::new()
        }
    };
    eprintln!(
        "releasebot {}: terminal chat as {user}, {source}, {}{http}. Type /help.",
        env!("CARGO_PKG_VERSION"),
        paas.description
    );
    let resumed = engine
        .resume()
        .map_err(|e| StartError::runtime(e.to_string()))?;
    if resumed > 0 {
        chat.print_note(&format!(
            "resuming {resumed} unfinished job{}",
            if resumed == 1 { "" } else { "s" }
        ));
    }
    let sink: &dyn EventSink = &engine;
    tokio::select! {
        _ = async {
            shell::read_commands(&chat, sink, &user, &users).await;
            // End of input: let every job finish, or reach a point where only a person can help.
            engine.wait_idle().await;
            for job in engine.live_jobs() {
                chat.print_note(&format!(
                    "{} is waiting for approval; it stays pending and resumes when releasebot starts again.",
                    job.id
                ));
            }
        } => {}
        signal = bot::stop_signal() => {
            chat.print_note(&format!("{signal}: stopping; unfinished jobs resume at the next start"));
            engine.shutdown(std::time::Duration::from_secs(5)).await;
        }
    }
    Ok(())
}

async fn run_sim(args: &[String]) -> Result<(), StartError> {
    let mut listen = "127.0.0.1:8090".to_string();
    let mut token = std::env::var("RANCHER_TOKEN").unwrap_or_else(|_| "sim-token".into());
    let mut scenario = Scenario::demo();
    let mut speed = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| StartError::config(format!("{arg} needs a value")))
        };
        match arg.as_str() {
            "--listen" => listen = value()?,
            "--token" => token = value()?,
            "--scenario" => {
                scenario = Scenario::from_file(std::path::Path::new(&value()?))
                    .map_err(StartError::config)?
            }
            "--speed" => {
                let v = value()?;
                speed =
                    Some(v.parse::<f64>().map_err(|_| {
                        StartError::config(format!("--speed {v:?} is not a number"))
                    })?);
            }
            other => {
                return Err(StartError::config(format!(
                    "unknown option {other:?}\n{USAGE}"
                )));
            }
        }
    }
    if let Some(speed) = speed {
        scenario.speed = speed;
    }
    scenario.validate().map_err(StartError::config)?;
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|e| StartError::runtime(format!("cannot listen on {listen}: {e}")))?;
    let handle = sim::start(listener, Secret::new(token), scenario)
        .map_err(|e| StartError::runtime(e.to_string()))?;
    println!(
        "PaaS simulator serving on http://{} (Ctrl-C stops it)",
        handle.addr()
    );
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| StartError::runtime(e.to_string()))?;
    Ok(())
}
