//! Any bytes as a `[maintenance]` table: load it or name a key, never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let toml = format!("[maintenance]\n{text}");
        if let Err(e) = rocket_maintenance::internals::CompiledPolicy::from_toml(&toml) {
            let _ = e.to_string();
        }
    }
});
