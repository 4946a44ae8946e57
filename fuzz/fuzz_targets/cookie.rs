//! Any bytes as a bypass cookie: verification never panics and never accepts a forgery.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rocket_maintenance::internals;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    assert!(!internals::cookie_is_valid("fuzz-secret-0123456789", &text, 1_900_000_000));
});
