//! What a state has done while maintenance is on: requests held back, requests let through by
//! each rule, bypass logins; and the writes admitted under it that are still running (for the
//! drain). Counted per state, from zero with each new state; nothing is counted while off, except
//! the writes in flight, which the drain needs whatever the state.
//!
//! With the cargo feature `metrics` every count also goes to the `metrics` facade
//! (`rocket_maintenance_requests_total`, `rocket_maintenance_bypass_logins_total`).

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::policy::Rule;

/// The counters of one state.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    held: AtomicU64,
    passed: [AtomicU64; 6],
    bypass_logins: AtomicU64,
    /// Requests of an unsafe method admitted under this state and still being processed.
    writes_in_flight: AtomicU64,
}

const RULES: [(Rule, &str); 6] = [
    (Rule::ForceOff, "force_off"),
    (Rule::AllowPaths, "allow_paths"),
    (Rule::AllowIps, "allow_ips"),
    (Rule::Bypass, "bypass"),
    (Rule::Exempt, "exempt"),
    (Rule::ReadOnly, "read_only"),
];

fn index(rule: Rule) -> usize {
    RULES.iter().position(|(r, _)| *r == rule).unwrap_or(0)
}

impl Counts {
    /// A request held back (it got the maintenance response).
    pub fn held(&self) {
        self.held.fetch_add(1, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        metrics::counter!("rocket_maintenance_requests_total", "outcome" => "held", "rule" => "")
            .increment(1);
    }

    /// A request let through during maintenance by `rule`.
    pub fn passed(&self, rule: Rule) {
        let i = index(rule);
        self.passed[i].fetch_add(1, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        metrics::counter!("rocket_maintenance_requests_total", "outcome" => "passed", "rule" => RULES[i].1)
            .increment(1);
    }

    /// A visit to the bypass path.
    pub fn bypass_login(&self) {
        self.bypass_logins.fetch_add(1, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        metrics::counter!("rocket_maintenance_bypass_logins_total").increment(1);
    }

    /// A write admitted under this state starts.
    pub fn write_started(&self) {
        self.writes_in_flight.fetch_add(1, Ordering::AcqRel);
    }

    /// A write admitted under this state is done.
    pub fn write_done(&self) {
        self.writes_in_flight.fetch_sub(1, Ordering::AcqRel);
    }

    /// The writes admitted under this state still running.
    pub fn writes_in_flight(&self) -> u64 {
        self.writes_in_flight.load(Ordering::Acquire)
    }

    /// The counts as the live state and `rocket-maintenance status` show them.
    pub fn document(&self) -> CountsDoc {
        let passed = |rule: Rule| self.passed[index(rule)].load(Ordering::Relaxed);
        CountsDoc {
            held: self.held.load(Ordering::Relaxed),
            passed: Passed {
                force_off: passed(Rule::ForceOff),
                allow_paths: passed(Rule::AllowPaths),
                allow_ips: passed(Rule::AllowIps),
                bypass: passed(Rule::Bypass),
                exempt: passed(Rule::Exempt),
                read_only: passed(Rule::ReadOnly),
            },
            bypass_logins: self.bypass_logins.load(Ordering::Relaxed),
        }
    }
}

/// The counts of the state in force, as the live state holds them:
/// `{"held": N, "passed": {"force_off": N, …}, "bypass_logins": N}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CountsDoc {
    /// Requests held back.
    pub held: u64,
    /// Requests let through, by rule.
    pub passed: Passed,
    /// Visits to the bypass path.
    pub bypass_logins: u64,
}

/// Requests let through during maintenance, by rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Passed {
    /// By a `force_off` route.
    pub force_off: u64,
    /// By `allow_paths`.
    pub allow_paths: u64,
    /// By `allow_ips`.
    pub allow_ips: u64,
    /// By the bypass cookie or header.
    pub bypass: u64,
    /// By an `exempt_when` guard.
    pub exempt: u64,
    /// Reads in read-only maintenance.
    pub read_only: u64,
}

impl CountsDoc {
    /// `held back 12345 requests; let through: allow_ips 17, force_off 230`.
    pub fn summary(&self) -> String {
        let p = &self.passed;
        let passed: Vec<String> = [
            ("force_off", p.force_off),
            ("allow_paths", p.allow_paths),
            ("allow_ips", p.allow_ips),
            ("bypass", p.bypass),
            ("exempt", p.exempt),
            ("read_only", p.read_only),
        ]
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(name, n)| format!("{name} {n}"))
        .collect();
        let mut out = format!("held back {} requests", self.held);
        if !passed.is_empty() {
            out.push_str(&format!("; let through: {}", passed.join(", ")));
        }
        if self.bypass_logins > 0 {
            out.push_str(&format!("; bypass logins {}", self.bypass_logins));
        }
        out
    }
}
