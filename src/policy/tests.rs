use super::paths::{is_routed_form, routed_path, PathGlobs};
use super::*;
use crate::settings::Settings;

#[test]
fn a_path_in_routed_form_is_its_own_routed_path() {
    let parts = [
        "a", "b.c", ".", "..", "", "%2F", "%41", "x y", "é", "~", "a+b", "...",
    ];
    let mut checked = 0;
    for a in parts {
        for b in parts {
            for c in parts {
                for path in [
                    format!("/{a}"),
                    format!("/{a}/{b}"),
                    format!("/{a}/{b}/{c}"),
                ] {
                    let Ok(uri) = Origin::parse(&path) else {
                        continue;
                    };
                    let raw = uri.path().as_str();
                    if is_routed_form(raw) {
                        checked += 1;
                        assert_eq!(routed_path(&uri).as_deref(), Some(raw), "{path}");
                    }
                }
            }
        }
    }
    assert!(checked > 100);
}
use figment::providers::{Format as _, Toml};
use rocket::http::Header;

/// The first look at literal prefixes never changes an answer: every pattern against every path,
/// with and without it.
#[test]
fn path_globs_first_look_agrees_with_the_globs_alone() {
    let patterns = [
        "/static/**",
        "/static/*.css",
        "/api/v1/*",
        "/healthz",
        "/**/*.js",
        "/*",
        "/a{b,c}/**",
        "/st?tic/**",
        "/x/[ab]/y",
        "/é/**",
        "/static",
    ];
    let parts = [
        "static", "api", "v1", "healthz", "a.js", "ab", "ac", "x", "a", "y", "é", "%C3%A9",
        "st%61tic", "", ".", "..", "%2F", "b", "s.css",
    ];
    let mut paths = vec!["/".to_string()];
    for a in parts {
        paths.push(format!("/{a}"));
        paths.push(format!("/{a}/"));
        paths.push(format!("//{a}"));
        for b in parts {
            paths.push(format!("/{a}/{b}"));
            paths.push(format!("/{a}//{b}"));
            for c in ["b", "s.css", "", "x.js"] {
                paths.push(format!("/{a}/{b}/{c}"));
            }
        }
    }
    let mut matched = 0;
    for pattern in patterns {
        let set = globset::GlobSetBuilder::new()
            .add(
                globset::GlobBuilder::new(pattern)
                    .literal_separator(true)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        let globs = PathGlobs::new(set.clone(), &[pattern.to_string()]);
        for path in &paths {
            let Ok(uri) = Origin::parse(path) else {
                continue;
            };
            let alone = routed_path(&uri).is_some_and(|p| set.is_match(&p));
            assert_eq!(globs.matches(&uri), alone, "{pattern} against {path}");
            matched += usize::from(alone);
        }
    }
    assert!(
        matched > 100,
        "too few matches ({matched}) to mean anything"
    );
}

fn policy(toml: &str) -> Policy {
    let figment = figment::Figment::from(Toml::string(toml)).focus("maintenance");
    Policy::compile(figment.extract::<Settings>().unwrap()).unwrap()
}

fn compile_err(toml: &str) -> String {
    let figment = figment::Figment::from(Toml::string(toml)).focus("maintenance");
    Policy::compile(figment.extract::<Settings>().unwrap())
        .unwrap_err()
        .to_string()
}

fn decide(p: &Policy, method: Method, uri: &str, peer: &str, headers: &[(&str, &str)]) -> Verdict {
    let uri = Origin::parse(uri).unwrap();
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        map.add(Header::new(k.to_string(), v.to_string()));
    }
    let cookie = map
        .get("Cookie")
        .flat_map(rocket::http::Cookie::split_parse)
        .flatten()
        .find(|c| c.name() == super::bypass::COOKIE_NAME)
        .map(|c| c.value().to_string());
    let facts = RequestFacts {
        method,
        uri: &uri,
        peer: Some(peer.parse().unwrap()),
        headers: &map,
        bypass_cookie: cookie.as_deref(),
        tls: false,
    };
    // Which rule let a request through is the counts' business (tested with them).
    match p.decide(
        p.active_at(SystemTime::now()).is_some(),
        &facts,
        1_800_000_000,
    ) {
        Verdict::PassBy(_) => Verdict::Pass,
        other => other,
    }
}

const HOLD: Verdict = Verdict::Hold { redirect: false };

#[test]
fn off_passes_everything() {
    let p = policy("[maintenance]\nenabled = false");
    assert_eq!(
        decide(&p, Method::Post, "/x", "192.0.2.1", &[]),
        Verdict::Pass
    );
}

#[test]
fn on_holds_every_method_and_path() {
    let p = policy("[maintenance]\nenabled = true");
    for m in [
        Method::Get,
        Method::Head,
        Method::Post,
        Method::Delete,
        Method::Options,
    ] {
        assert_eq!(decide(&p, m, "/nowhere/at/all", "192.0.2.1", &[]), HOLD);
    }
}

#[test]
fn read_only_holds_writes_only() {
    let p = policy("[maintenance]\nenabled = true\nread_only = true");
    let cases = [
        (Method::Get, Verdict::Pass),
        (Method::Options, Verdict::Pass),
        (Method::Post, HOLD),
        (Method::Patch, HOLD),
    ];
    for (method, want) in cases {
        assert_eq!(decide(&p, method, "/", "192.0.2.1", &[]), want, "{method}");
    }
}

#[test]
fn allowed_path_passes_during_maintenance() {
    let p = policy(
        "[maintenance]\nenabled = true\nallow_paths = [\"/static/**\", \"/healthz\", \"/a/*/c\"]",
    );
    let cases = [
        ("/static/css/site.css", Verdict::Pass),
        ("/healthz", Verdict::Pass),
        ("//healthz", Verdict::Pass),
        ("/%68ealthz", Verdict::Pass),
        ("/a/b/c", Verdict::Pass),
        ("/a/b/x/c", HOLD), // `*` stays in a segment
        ("/healthz/more", HOLD),
    ];
    for (path, want) in cases {
        assert_eq!(
            decide(&p, Method::Get, path, "192.0.2.1", &[]),
            want,
            "{path}"
        );
    }
}

#[test]
fn path_tricks_never_match_allow_paths() {
    let p = policy("[maintenance]\nenabled = true\nallow_paths = [\"/static/**\"]");
    assert_eq!(
        decide(&p, Method::Get, "/static/../admin", "192.0.2.1", &[]),
        HOLD
    );
    assert_eq!(
        decide(&p, Method::Get, "/static/%2e%2e/admin", "192.0.2.1", &[]),
        HOLD
    );
    assert_eq!(
        decide(&p, Method::Get, "/static%2F..%2Fadmin", "192.0.2.1", &[]),
        HOLD
    );
    assert_eq!(
        decide(&p, Method::Get, "/static/./x", "192.0.2.1", &[]),
        HOLD
    );
}

#[test]
fn allowlisted_ip_passes_during_maintenance() {
    let p =
        policy("[maintenance]\nenabled = true\nallow_ips = [\"192.0.2.0/24\", \"2001:db8::1\"]");
    let cases = [
        ("192.0.2.77", Verdict::Pass),
        ("::ffff:192.0.2.77", Verdict::Pass),
        ("2001:db8::1", Verdict::Pass),
        ("198.51.100.1", HOLD),
    ];
    for (peer, want) in cases {
        assert_eq!(decide(&p, Method::Post, "/", peer, &[]), want, "{peer}");
    }
}

#[test]
fn spoofed_forwarding_headers_from_untrusted_peers_gain_nothing() {
    let p = policy("[maintenance]\nenabled = true\nallow_ips = [\"192.0.2.0/24\"]\ntrusted_proxies = [\"10.0.0.0/8\"]");
    let spoof = [("X-Forwarded-For", "192.0.2.1"), ("X-Real-IP", "192.0.2.1")];
    assert_eq!(decide(&p, Method::Get, "/", "198.51.100.1", &spoof), HOLD);
    assert_eq!(
        decide(&p, Method::Get, "/", "10.0.0.5", &spoof[..1]),
        Verdict::Pass
    );
    // Only `client_ip_header` (by default X-Forwarded-For) is believed, even from a proxy.
    assert_eq!(decide(&p, Method::Get, "/", "10.0.0.5", &spoof[1..]), HOLD);
    // A client that prepends a lie to a trusted proxy's header gains nothing either.
    let chained = [("X-Forwarded-For", "192.0.2.1, 198.51.100.1")];
    assert_eq!(decide(&p, Method::Get, "/", "10.0.0.5", &chained), HOLD);
}

#[test]
fn bypass_path_sets_cookie_in_every_state() {
    for enabled in [true, false] {
        let p = policy(&format!(
            "[maintenance]\nenabled = {enabled}\nbypass_secret = \"0123456789abcdef\""
        ));
        assert_eq!(
            decide(&p, Method::Get, "/0123456789abcdef", "192.0.2.1", &[]),
            Verdict::Login { secure: false }
        );
        assert_ne!(
            decide(&p, Method::Post, "/0123456789abcdef", "192.0.2.1", &[]),
            Verdict::Login { secure: false }
        );
    }
}

#[test]
fn login_cookie_is_secure_behind_a_trusted_https_proxy_only() {
    let p = policy("[maintenance]\nenabled = true\nbypass_secret = \"0123456789abcdef\"\ntrusted_proxies = [\"10.0.0.1\"]");
    let https = [("X-Forwarded-Proto", "https")];
    assert_eq!(
        decide(&p, Method::Get, "/0123456789abcdef", "10.0.0.1", &https),
        Verdict::Login { secure: true }
    );
    assert_eq!(
        decide(&p, Method::Get, "/0123456789abcdef", "192.0.2.1", &https),
        Verdict::Login { secure: false }
    );
}

#[test]
fn bypass_cookie_and_header_pass_and_forgeries_do_not() {
    let p = policy("[maintenance]\nenabled = true\nbypass_secret = \"0123456789abcdef\"");
    let cookie = p.bypass().unwrap().cookie_value(1_800_000_000 - 10);
    use super::bypass::COOKIE_NAME;
    let good = format!("other=1; {COOKIE_NAME}={cookie}");
    assert_eq!(
        decide(&p, Method::Post, "/", "192.0.2.1", &[("Cookie", &good)]),
        Verdict::Pass
    );
    let forged = format!("{COOKIE_NAME}=v2.1800040000.{}", "0".repeat(64));
    assert_eq!(
        decide(&p, Method::Post, "/", "192.0.2.1", &[("Cookie", &forged)]),
        HOLD
    );
    assert_eq!(
        decide(
            &p,
            Method::Post,
            "/",
            "192.0.2.1",
            &[(HEADER_NAME, "0123456789abcdef")]
        ),
        Verdict::PassWithBypassHeader
    );
    assert_eq!(
        decide(
            &p,
            Method::Post,
            "/",
            "192.0.2.1",
            &[(HEADER_NAME, "wrong")]
        ),
        HOLD
    );
}

#[test]
fn redirect_applies_except_to_its_own_target() {
    let p = policy("[maintenance]\nenabled = true\nredirect = \"/down\"");
    assert_eq!(
        decide(&p, Method::Get, "/x", "192.0.2.1", &[]),
        Verdict::Hold { redirect: true }
    );
    assert_eq!(
        decide(&p, Method::Get, "/down", "192.0.2.1", &[]),
        Verdict::Hold { redirect: false }
    );
}

#[test]
fn window_turns_maintenance_on_between_its_edges() {
    let p = policy(
        "[maintenance]\nstarts_at = \"2030-01-01T00:00:00Z\"\nends_at = \"2030-01-01T01:00:00Z\"",
    );
    let t = |s| crate::settings::parse_time(s).unwrap();
    assert_eq!(p.active_at(t("2029-12-31T23:59:59Z")), None);
    assert_eq!(p.active_at(t("2030-01-01T00:00:00Z")), Some(Why::Window));
    assert_eq!(p.active_at(t("2030-01-01T01:00:00Z")), None);
    assert_eq!(
        p.next_edge(t("2029-01-01T00:00:00Z")),
        Some(t("2030-01-01T00:00:00Z"))
    );
    assert_eq!(
        p.next_edge(t("2030-01-01T00:30:00Z")),
        Some(t("2030-01-01T01:00:00Z"))
    );
    assert_eq!(p.next_edge(t("2030-01-01T02:00:00Z")), None);
}

#[test]
fn bad_values_name_their_key() {
    let cases = [
        ("status = 200", "maintenance.status"),
        ("status = 600", "maintenance.status"),
        ("allow_ips = [\"10.0.0.0/33\"]", "maintenance.allow_ips[0]"),
        (
            "trusted_proxies = [\"x\"]",
            "maintenance.trusted_proxies[0]",
        ),
        (
            "allow_paths = [\"static/**\"]",
            "maintenance.allow_paths[0]",
        ),
        ("allow_paths = [\"/a/[\"]", "maintenance.allow_paths[0]"),
        ("starts_at = \"soon\"", "maintenance.starts_at"),
        (
            "starts_at = \"2030-01-02T00:00:00Z\"\nends_at = \"2030-01-01T00:00:00Z\"",
            "maintenance.starts_at",
        ),
        ("retry_after = \"whenever\"", "maintenance.retry_after"),
        ("redirect = \"javascript:alert(1)\"", "maintenance.redirect"),
        ("redirect = '/\\evil.example/'", "maintenance.redirect"),
        ("redirect = \"//evil.example/\"", "maintenance.redirect"),
        (
            "redirect = \"/down\\nSet-Cookie: x=1\"",
            "maintenance.redirect",
        ),
        ("bypass_secret = \"short\"", "maintenance.bypass_secret"),
        (
            "context = { message = \"x\" }",
            "maintenance.context.message",
        ),
    ];
    for (toml, key) in cases {
        let err = compile_err(&format!("[maintenance]\n{toml}"));
        assert!(err.contains(&format!("`{key}`")), "{toml}: {err}");
    }
}

#[test]
#[cfg(not(feature = "fleet"))]
fn fleet_table_is_refused_without_the_feature() {
    let err = compile_err("[maintenance.fleet]\nstore = \"redis://127.0.0.1\"");
    assert!(
        err.contains("maintenance.fleet") && err.contains("feature"),
        "{err}"
    );
}

#[test]
fn secret_never_appears_in_errors() {
    let err = compile_err("[maintenance]\nbypass_secret = \"too short!\"");
    assert!(!err.contains("too short!"), "{err}");
    assert!(err.contains("<redacted, 10 chars>"), "{err}");
}
