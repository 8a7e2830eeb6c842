//! Any bytes, as a chat line, must parse to a command or a refusal, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use releasebot::commands::Command;
use releasebot::config::Config;
use releasebot::names::{Branch, JobId, VersionTag};

fuzz_target!(|data: &[u8]| {
    static CONFIG: std::sync::OnceLock<Config> = std::sync::OnceLock::new();
    let config = CONFIG.get_or_init(Config::demo);
    let line = String::from_utf8_lossy(data);
    let _ = Command::parse(&line, config);
    let _ = Branch::parse(&line);
    let _ = VersionTag::parse(&line);
    let _ = JobId::parse(&line);
});
