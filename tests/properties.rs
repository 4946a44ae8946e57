//! Property tests: the loader, the decision, `X-Forwarded-For` parsing and cookie verification
//! never panic on any input, and the decision agrees with a plain reference model of the
//! decision order.

// The reference model spells out each step of the order, even where two steps give the same answer.
#![allow(clippy::if_same_then_else)]

use std::net::{IpAddr, Ipv4Addr};

use proptest::prelude::*;
use rocket::http::uri::Origin;
use rocket::http::{Header, HeaderMap, Method};
use rocket_maintenance::internals::{self, CompiledPolicy, Decision};

const SECRET: &str = "prop-secret-0123456789";
const NOW: u64 = 1_900_000_000;

fn method() -> impl Strategy<Value = Method> {
    prop::sample::select(vec![
        Method::Get,
        Method::Head,
        Method::Post,
        Method::Put,
        Method::Patch,
        Method::Delete,
        Method::Options,
        Method::Trace,
        Method::Connect,
    ])
}

/// A small address space, so rules and requests meet often.
fn ip() -> impl Strategy<Value = IpAddr> {
    (0u8..4, 0u8..4).prop_map(|(a, b)| IpAddr::V4(Ipv4Addr::new(10, 0, a, b)))
}

/// Paths over a small alphabet with the tricky bits: empty segments, dots, escapes.
fn path() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec!["a", "b", "", ".", "..", "%2e", "%2F", "%61", SECRET]),
        0..4,
    )
    .prop_map(|segs| format!("/{}", segs.join("/")))
}

/// A TOML value, sometimes of the wrong type.
fn toml_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("true".to_string()),
        Just("false".to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        "[a-zA-Z0-9 :/*._-]{0,24}".prop_map(|s| format!("{s:?}")),
        Just("[\"10.0.0.0/8\", \"/x/**\"]".to_string()),
        Just("[1, 2]".to_string()),
        Just("{ a = 1 }".to_string()),
        Just("\"2030-01-01T00:00:00Z\"".to_string()),
        Just("\"15m\"".to_string()),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "enabled",
        "message",
        "retry_after",
        "starts_at",
        "ends_at",
        "read_only",
        "status",
        "template",
        "context",
        "format",
        "redirect",
        "refresh",
        "allow_paths",
        "allow_ips",
        "trusted_proxies",
        "bypass_secret",
        "enabeld",
        "fleet",
    ])
    .prop_map(str::to_string)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_settings_load_or_name_a_key(entries in prop::collection::vec((key(), toml_value()), 0..6)) {
        let mut toml = String::from("[maintenance]\n");
        let mut seen = std::collections::HashSet::new();
        for (k, v) in &entries {
            if seen.insert(k.clone()) {
                toml.push_str(&format!("{k} = {v}\n"));
            }
        }
        if let Err(e) = CompiledPolicy::from_toml(&toml) {
            let message = e.to_string();
            prop_assert!(message.contains("maintenance"), "{toml}\n=> {message}");
        }
    }

    #[test]
    fn forwarded_for_parsing_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = internals::parse_forwarded_entry(&text);
        let _ = internals::client_ip(IpAddr::V4(Ipv4Addr::LOCALHOST), &[&text], Some(&text), &["127.0.0.0/8"]);
    }

    #[test]
    fn cookie_verification_never_panics_or_accepts_junk(bytes in prop::collection::vec(any::<u8>(), 0..120), now in any::<u64>()) {
        let text = String::from_utf8_lossy(&bytes);
        prop_assert!(!internals::cookie_is_valid(SECRET, &text, now));
    }

    #[test]
    fn decision_matches_the_reference_model(
        enabled in any::<bool>(),
        read_only in any::<bool>(),
        allow_paths in prop::collection::vec(prop::sample::select(vec!["/a", "/a/b", "/b"]), 0..3),
        allow_ips in prop::collection::vec(ip(), 0..3),
        trusted in prop::collection::vec(ip(), 0..3),
        with_secret in any::<bool>(),
        method in method(),
        path in path(),
        peer in ip(),
        xff in prop::option::of(prop::collection::vec(prop_oneof![ip().prop_map(|i| i.to_string()), Just("junk".to_string())], 0..4)),
        real_ip in prop::option::of(ip()),
        bypass_header in prop::option::of(prop::sample::select(vec![SECRET, "wrong"])),
        cookie in prop::option::of(any::<bool>()),
    ) {
        let list = |v: &[String]| v.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(", ");
        let toml = format!(
            "[maintenance]\nenabled = {enabled}\nread_only = {read_only}\nallow_paths = [{}]\nallow_ips = [{}]\ntrusted_proxies = [{}]\n{}",
            list(&allow_paths.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
            list(&allow_ips.iter().map(|i| i.to_string()).collect::<Vec<_>>()),
            list(&trusted.iter().map(|i| i.to_string()).collect::<Vec<_>>()),
            if with_secret { format!("bypass_secret = {SECRET:?}") } else { String::new() },
        );
        let policy = CompiledPolicy::from_toml(&toml).unwrap();
        let uri = Origin::parse_owned(path.clone()).unwrap();
        let mut headers = HeaderMap::new();
        if let Some(hops) = &xff {
            headers.add(Header::new("X-Forwarded-For", hops.join(", ")));
        }
        if let Some(ip) = real_ip {
            headers.add(Header::new("X-Real-IP", ip.to_string()));
        }
        if let Some(h) = bypass_header {
            headers.add(Header::new("X-Maintenance-Bypass", h));
        }
        let cookie_value = cookie.map(|valid| {
            if valid { internals::cookie_value(SECRET, NOW - 5) } else { "v2.1900000100.00".to_string() }
        });
        let got = policy.decide(enabled, method, &uri, Some(peer), &headers, cookie_value.as_deref(), NOW);

        // The reference model: DESIGN.md's order, written plainly.
        let safe = matches!(method, Method::Get | Method::Head | Method::Options);
        // Every spelling Rocket routes the same as `/<secret>` is the login path.
        let expected = if with_secret && matches!(method, Method::Get | Method::Head) && model_routed_path(&uri).as_deref() == Some(format!("/{SECRET}").as_str()) {
            Decision::Login
        } else if !enabled || (read_only && safe) {
            Decision::Pass
        } else if model_routed_path(&uri).is_some_and(|p| allow_paths.contains(&p.as_str())) {
            Decision::Pass
        } else if allow_ips.contains(&model_client(peer, xff.as_deref(), real_ip, &trusted)) {
            Decision::Pass
        } else if with_secret && bypass_header == Some(SECRET) {
            Decision::PassWithBypassHeader
        } else if with_secret && cookie == Some(true) {
            Decision::Pass
        } else {
            Decision::Hold
        };
        prop_assert_eq!(got, expected, "{}\n{} {} peer {} xff {:?} real {:?}", toml, method, path, peer, xff, real_ip);
    }
}

fn model_routed_path(uri: &Origin<'_>) -> Option<String> {
    let segs: Vec<&str> = uri.path().segments().collect();
    if segs
        .iter()
        .any(|s| s.contains('/') || *s == "." || *s == "..")
    {
        return None;
    }
    Some(format!("/{}", segs.join("/")))
}

fn model_client(
    peer: IpAddr,
    xff: Option<&[String]>,
    real_ip: Option<IpAddr>,
    trusted: &[IpAddr],
) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    match xff {
        // A header is there (maybe empty, which parses as nothing).
        Some(hops) => {
            let empty = [String::new()];
            let hops = if hops.is_empty() { &empty[..] } else { hops };
            let mut client = peer;
            for hop in hops.iter().rev() {
                match hop.parse::<IpAddr>() {
                    Ok(ip) if trusted.contains(&ip) => client = ip,
                    Ok(ip) => return ip,
                    Err(_) => return client,
                }
            }
            client
        }
        // Only X-Forwarded-For (the default client_ip_header) is believed.
        None => {
            let _ = real_ip;
            peer
        }
    }
}
