//! Any bytes as `X-Forwarded-For` / `X-Real-IP`: parsing never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rocket_maintenance::internals;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = internals::parse_forwarded_entry(&text);
    let peer = std::net::IpAddr::from([127, 0, 0, 1]);
    let _ = internals::client_ip(peer, &[&text, &text], Some(&text), &["127.0.0.0/8", "::1"]);
});
