//! Any bytes from the PaaS must decode to a value or a typed error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use releasebot::paas::model::{ErrorBody, decode_logs};
use releasebot::paas::subscribe::decode_event;
use releasebot::paas::{App, Execution};

fuzz_target!(|data: &[u8]| {
    let _ = decode_logs(data);
    let _ = ErrorBody::decode(data);
    let _ = decode_event(&String::from_utf8_lossy(data));
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        if let Ok(execution) = Execution::decode(&value) {
            let _ = execution.status();
            let _ = execution.deployable_tag();
        }
        if let Ok(app) = App::decode(&value) {
            let _ = app.rollout();
            let _ = app.change_mark();
        }
    }
});
