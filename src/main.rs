//! The `releasebot` command.

use std::process::ExitCode;

use releasebot::secret::Secret;
use releasebot::sim::{self, Scenario};

fn usage() -> &'static str {
    "usage:
  releasebot sim [--listen ADDR] [--token TOKEN] [--scenario FILE] [--speed N]
      serve the Rancher-compatible PaaS simulator (default 127.0.0.1:8090, token from
      RANCHER_TOKEN or \"sim-token\", the demo catalogue unless a scenario is given)"
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("sim") => run_sim(&args[1..]).await,
        Some("help" | "--help" | "-h") => {
            println!("{}", usage());
            Ok(())
        }
        _ => Err(format!("unknown command\n{}", usage())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("releasebot: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run_sim(args: &[String]) -> Result<(), String> {
    let mut listen = "127.0.0.1:8090".to_string();
    let mut token = std::env::var("RANCHER_TOKEN").unwrap_or_else(|_| "sim-token".into());
    let mut scenario = Scenario::demo();
    let mut speed = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--listen" => listen = value()?,
            "--token" => token = value()?,
            "--scenario" => scenario = Scenario::from_file(std::path::Path::new(&value()?))?,
            "--speed" => {
                let v = value()?;
                speed = Some(
                    v.parse::<f64>()
                        .map_err(|_| format!("--speed {v:?} is not a number"))?,
                );
            }
            other => return Err(format!("unknown option {other:?}\n{}", usage())),
        }
    }
    if let Some(speed) = speed {
        scenario.speed = speed;
    }
    scenario.validate()?;
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let handle = sim::start(listener, Secret::new(token), scenario).map_err(|e| e.to_string())?;
    println!(
        "PaaS simulator serving on http://{} (Ctrl-C stops it)",
        handle.addr()
    );
    tokio::signal::ctrl_c().await.map_err(|e| e.to_string())?;
    Ok(())
}
