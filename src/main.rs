//! The `releasebot` command.

use std::process::ExitCode;

use releasebot::app::{self, App, StartError};
use releasebot::config::Env;
use releasebot::redact;
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
    redact::redact_panics();
    init_logging(&env, args.first().map(String::as_str));
    let result = match args.first().map(String::as_str) {
        None => run_bot(&env, false).await,
        Some("shell") if args.len() == 1 => run_bot(&env, true).await,
        Some("sim") => run_sim(&args[1..]).await,
        Some("check") if args.len() == 1 => {
            let rows = app::check(&env).await;
            print!("{}", redact::text(&app::check::table(&rows)));
            if rows.iter().all(|r| r.ok) {
                Ok(())
            } else {
                Err(StartError::Runtime("the check found problems".into()))
            }
        }
        Some("help" | "--help" | "-h") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(StartError::Config(format!(
            "unknown command {other:?}\n{USAGE}"
        ))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("releasebot: {}", redact::text(&e.to_string()));
            ExitCode::from(e.code())
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
    // Every log line passes the redactor on its way out, whatever it carries.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| redact::Redacting::new(std::io::stderr()));
    if env.log_json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// `releasebot` and `releasebot shell`: the bot until its input ends, SIGTERM or Ctrl-C.
async fn run_bot(env: &Env, shell: bool) -> Result<(), StartError> {
    App::build(env, shell).await?.run_until_stopped().await
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
                .ok_or_else(|| StartError::Config(format!("{arg} needs a value")))
        };
        match arg.as_str() {
            "--listen" => listen = value()?,
            "--token" => token = value()?,
            "--scenario" => {
                scenario = Scenario::from_file(std::path::Path::new(&value()?))
                    .map_err(|e| StartError::Config(e.to_string()))?
            }
            "--speed" => {
                let v = value()?;
                speed =
                    Some(v.parse::<f64>().map_err(|_| {
                        StartError::Config(format!("--speed {v:?} is not a number"))
                    })?);
            }
            other => {
                return Err(StartError::Config(format!(
                    "unknown option {other:?}\n{USAGE}"
                )));
            }
        }
    }
    if let Some(speed) = speed {
        scenario.speed = speed;
    }
    scenario
        .validate()
        .map_err(|e| StartError::Config(e.to_string()))?;
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|e| StartError::Runtime(format!("cannot listen on {listen}: {e}")))?;
    let handle = sim::start(listener, Secret::new(token), scenario)
        .map_err(|e| StartError::Runtime(e.to_string()))?;
    println!(
        "PaaS simulator serving on http://{} (Ctrl-C stops it)",
        handle.addr()
    );
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| StartError::Runtime(e.to_string()))?;
    Ok(())
}
