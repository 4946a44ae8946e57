//! The per-request decision, with maintenance off and on, and 0, 100 and 10,000 `allow_ips` and
//! `allow_paths` rules.
//!
//! The request is what a browser sends for a page that no rule lets through (the worst case: every
//! rule is consulted), from an address in no allowed network. Groups:
//!
//! - `decide/off`, `decide/off+secret`: maintenance off, without and with a bypass secret (which
//!   is checked in every state: one constant-time comparison of the path);
//! - `decide/on`, `decide/on+secret`: maintenance on, held back; N IP rules and N path rules;
//! - `decide/on-ips`, `decide/on-paths`: the same with only one kind of rule, to attribute growth;
//! - `fairing/{off,on}/load_full`: what `on_request` does around the decision: load the live state
//!   from an `ArcSwap` as an owned `Arc` (the fairing keeps it for the request) and decide;
//!   `fairing/{off,on}/load`: the same with a borrowed guard, for comparison.
//!
//! Each decision gets a fresh URI, built as Rocket builds a served request's, since Rocket caches
//! a URI's decoded segments inside it.
//!
//! ```text
//! cargo bench --bench decide
//! cargo bench --bench decide -- 'decide/on/'     # one group
//! ```

use std::hint::black_box;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion};
use rocket::http::uri::Origin;
use rocket::http::{Header, HeaderMap, Method};
use rocket_maintenance::internals::{CompiledPolicy, Decision};

const SIZES: [usize; 3] = [0, 100, 10_000];
const SECRET: &str = "bench-bypass-secret-0123456789";

/// `n` networks, a third each of IPv4 addresses, IPv4 /24 networks and IPv6 /48 networks (three
/// prefix lengths, as a real list has a handful).
fn ips(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| match i % 3 {
            0 => format!("10.{}.{}.{}", (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff),
            1 => format!("172.{}.{}.0/24", 16 + ((i >> 8) & 0x0f), i & 0xff),
            _ => format!("2001:db8:{:x}::/48", i),
        })
        .collect()
}

/// `n` globs, a third each of prefixes (`/static7/**`), literal paths (`/healthz7`) and patterns
/// with a wildcard segment (`/api/v7/*/status`).
fn paths(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| match i % 3 {
            0 => format!("/static{i}/**"),
            1 => format!("/healthz{i}"),
            _ => format!("/api/v{i}/*/status"),
        })
        .collect()
}

fn toml_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("{s:?}")).collect();
    format!("[{}]", quoted.join(", "))
}

fn policy(enabled: bool, secret: bool, n_ips: usize, n_paths: usize) -> CompiledPolicy {
    let mut toml = format!(
        "[maintenance]\nenabled = {enabled}\nretry_after = \"15m\"\nallow_ips = {}\nallow_paths = {}\n",
        toml_list(&ips(n_ips)),
        toml_list(&paths(n_paths)),
    );
    if secret {
        toml.push_str(&format!("bypass_secret = {SECRET:?}\n"));
    }
    CompiledPolicy::from_toml(&toml).expect("valid settings")
}

/// What a browser sends for a page.
fn browser_headers() -> HeaderMap<'static> {
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("Host", "www.example.com"),
        (
            "User-Agent",
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        ),
        (
            "Accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        ),
        ("Accept-Language", "en-US,en;q=0.5"),
        ("Accept-Encoding", "gzip, deflate, br"),
        ("Connection", "keep-alive"),
    ] {
        headers.add(Header::new(name, value));
    }
    headers
}

/// The request's path and query, and the rest of what `on_request` passes to the decision.
const PATH: &str = "/blog/2025/11/an-article-title";
const QUERY: &str = "page=2";

struct Request {
    peer: Option<IpAddr>,
    headers: HeaderMap<'static>,
}

fn request() -> Request {
    Request {
        peer: Some("203.0.113.9".parse().unwrap()),
        headers: browser_headers(),
    }
}

/// A fresh URI for each decision, built as Rocket builds a served request's (`Origin::new` on the
/// path and query hyper parsed, in `Request::from_hyp`): Rocket caches a URI's decoded segments in
/// the URI, so reusing one would hide the cost of computing them.
fn fresh_uri() -> Origin<'static> {
    Origin::new(PATH, Some(QUERY))
}

fn decide(policy: &CompiledPolicy, active: bool, uri: &Origin<'_>, req: &Request) -> Decision {
    policy.decide(
        black_box(active),
        black_box(Method::Get),
        black_box(uri),
        black_box(req.peer),
        black_box(&req.headers),
        black_box(None),
        black_box(1_764_000_000),
    )
}

fn bench_decide(c: &mut Criterion) {
    let req = request();
    // (group, maintenance on, bypass secret, IP rules, path rules)
    let groups = [
        ("decide/off", false, false, true, true),
        ("decide/off+secret", false, true, true, true),
        ("decide/on", true, false, true, true),
        ("decide/on+secret", true, true, true, true),
        ("decide/on-ips", true, false, true, false),
        ("decide/on-paths", true, false, false, true),
    ];
    for (name, enabled, secret, with_ips, with_paths) in groups {
        let mut group = c.benchmark_group(name);
        for n in SIZES {
            let (n_ips, n_paths) = (n * usize::from(with_ips), n * usize::from(with_paths));
            let p = policy(enabled, secret, n_ips, n_paths);
            let active = p.active_now();
            let expected = if enabled {
                Decision::Hold
            } else {
                Decision::Pass
            };
            assert_eq!(
                decide(&p, active, &fresh_uri(), &req),
                expected,
                "{name}/{n}"
            );
            group.bench_with_input(BenchmarkId::from_parameter(n), &p, |b, p| {
                b.iter_batched_ref(
                    fresh_uri,
                    |uri| decide(p, active, uri, &req),
                    BatchSize::SmallInput,
                )
            });
        }
        group.finish();
    }
}

/// The live state as the fairing holds it: swapped whole, loaded once per request.
struct Live {
    active: bool,
    policy: CompiledPolicy,
}

fn bench_fairing_path(c: &mut Criterion) {
    let req = request();
    let mut group = c.benchmark_group("fairing");
    for (name, enabled) in [("off", false), ("on", true)] {
        let policy = policy(enabled, false, 0, 0);
        let live = ArcSwap::from_pointee(Live {
            active: policy.active_now(),
            policy,
        });
        // What the fairing does: an owned `Arc` (kept in the request's local cache).
        group.bench_function(format!("{name}/load_full"), |b| {
            b.iter_batched_ref(
                fresh_uri,
                |uri| {
                    let state: Arc<Live> = live.load_full();
                    decide(&state.policy, state.active, uri, &req)
                },
                BatchSize::SmallInput,
            )
        });
        // For comparison: a borrowed guard, the cheapest read arc-swap offers.
        group.bench_function(format!("{name}/load"), |b| {
            b.iter_batched_ref(
                fresh_uri,
                |uri| {
                    let state = live.load();
                    decide(&state.policy, state.active, uri, &req)
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = bench_decide, bench_fairing_path
}
criterion_main!(benches);
