//! Any path, method, headers and peer: the decision never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rocket::http::uri::Origin;
use rocket::http::{Header, HeaderMap, Method};
use rocket_maintenance::internals::CompiledPolicy;
use std::sync::OnceLock;

static POLICY: OnceLock<CompiledPolicy> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let policy = POLICY.get_or_init(|| {
        CompiledPolicy::from_toml(
            "[maintenance]\nenabled = true\nallow_paths = [\"/static/**\", \"/a/*/c\"]\n\
             allow_ips = [\"10.0.0.0/8\", \"2001:db8::/32\"]\ntrusted_proxies = [\"127.0.0.1\"]\n\
             bypass_secret = \"fuzz-secret-0123456789\"",
        )
        .unwrap()
    });
    if data.len() < 3 {
        return;
    }
    let methods = [Method::Get, Method::Post, Method::Head, Method::Options, Method::Delete];
    let method = methods[data[0] as usize % methods.len()];
    let text = String::from_utf8_lossy(&data[3..]);
    let mut parts = text.split('\n');
    let path = parts.next().unwrap_or("/");
    let Ok(uri) = Origin::parse(path) else { return };
    let mut headers = HeaderMap::new();
    for (i, value) in parts.enumerate() {
        let name = ["X-Forwarded-For", "X-Real-IP", "X-Maintenance-Bypass", "X-Forwarded-Proto"][i % 4];
        headers.add(Header::new(name, value.to_string()));
    }
    let peer = std::net::IpAddr::from([127, 0, data[1], data[2]]);
    let _ = policy.decide(true, method, &uri, Some(peer), &headers, Some(&text), 1_900_000_000);
});
