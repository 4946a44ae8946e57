//! The built-in page's own sentences in ten languages, durations and dates as a person writes
//! them in each, and the choice of language from `Accept-Language`.
//!
//! The sentences live in `strings.json` (en, de, fr, es, it, pt, nl, pl, sv, ja), written as a
//! native speaker would write them for a website and read again by a second reader. A language
//! without them uses the default language's, and English when that has none either.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

/// One language's sentences for the built-in page (the template sees them as `t`).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub(crate) struct Strings {
    pub page_title: String,
    pub heading: String,
    pub read_only_title: String,
    pub read_only_heading: String,
    pub read_only_back: String,
    pub back_by: String,
    pub try_again_in: String,
    pub auto_return: String,
    pub default_message: String,
    pub default_read_only_message: String,
    minute_one: String,
    minute_few: String,
    minute_many: String,
    minute_other: String,
    hour_one: String,
    hour_few: String,
    hour_many: String,
    hour_other: String,
    day_one: String,
    day_few: String,
    day_many: String,
    day_other: String,
    months: Vec<String>,
    date_pattern: String,
}

fn all() -> &'static HashMap<String, Strings> {
    static ALL: OnceLock<HashMap<String, Strings>> = OnceLock::new();
    ALL.get_or_init(|| {
        serde_json::from_str(include_str!("strings.json")).expect("strings.json is valid")
    })
}

/// The languages the built-in page's sentences exist in.
#[cfg(test)]
pub(crate) fn languages() -> Vec<&'static str> {
    let mut out: Vec<&str> = all().keys().map(String::as_str).collect();
    out.sort();
    out
}

/// The sentences for `tag` (by its primary language), else for `default`, else English.
pub(crate) fn strings(tag: &str, default: &str) -> &'static Strings {
    let primary = |t: &str| t.split('-').next().unwrap_or(t).to_ascii_lowercase();
    let all = all();
    all.get(&primary(tag))
        .or_else(|| all.get(&primary(default)))
        .unwrap_or_else(|| &all["en"])
}

/// The plural category of `n` (a whole number of at least 1) in `lang`, per CLDR.
fn plural(lang: &str, n: u64) -> &'static str {
    match lang {
        "pl" if n == 1 => "one",
        "pl" if (2..=4).contains(&(n % 10)) && !(12..=14).contains(&(n % 100)) => "few",
        "pl" => "many",
        "ja" => "other",
        _ if n == 1 => "one",
        _ => "other",
    }
}

impl Strings {
    /// `900 s` as "15 minutes" (`15分` in Japanese): what a person reads. At least a minute.
    pub fn delay(&self, lang: &str, d: Duration) -> String {
        let secs = d.as_secs().max(60);
        let (n, unit) = if secs < 90 * 60 {
            ((secs + 30) / 60, "minute")
        } else if secs < 36 * 3600 {
            ((secs + 1800) / 3600, "hour")
        } else {
            (secs.saturating_add(43200) / 86400, "day")
        };
        let lang = lang.split('-').next().unwrap_or(lang);
        let word = match (unit, plural(lang, n)) {
            ("minute", "one") => &self.minute_one,
            ("minute", "few") => &self.minute_few,
            ("minute", "many") => &self.minute_many,
            ("minute", _) => &self.minute_other,
            ("hour", "one") => &self.hour_one,
            ("hour", "few") => &self.hour_few,
            ("hour", "many") => &self.hour_many,
            ("hour", _) => &self.hour_other,
            (_, "one") => &self.day_one,
            (_, "few") => &self.day_few,
            (_, "many") => &self.day_many,
            _ => &self.day_other,
        };
        if lang == "ja" {
            format!("{n}{word}")
        } else {
            format!("{n} {word}")
        }
    }

    /// A time in UTC as a person writes it in this language (`30 Nov 2026, 09:16 UTC`): the page
    /// shows it when script is off, never a raw RFC 3339 string.
    pub fn date(&self, t: SystemTime) -> String {
        let t = time::OffsetDateTime::from(t);
        let month = u8::from(t.month()) as usize;
        self.date_pattern
            .replace("{d}", &t.day().to_string())
            .replace("{mon}", &self.months[month - 1])
            .replace("{m}", &month.to_string())
            .replace("{y}", &t.year().to_string())
            .replace("{hm}", &format!("{:02}:{:02}", t.hour(), t.minute()))
    }
}

/// The configured language (by position in `tags`) that `Accept-Language` asks for: RFC 4647
/// lookup with q-values (`de-AT` falls back to `de`), highest q first; `None` when none matches
/// (the default then answers). A value over 4 KiB is not parsed.
pub(crate) fn lookup<'t>(
    accept_language: &str,
    tags: impl Iterator<Item = &'t str> + Clone,
) -> Option<usize> {
    if accept_language.len() > crate::negotiate::MAX_PARSED_HEADER {
        return None;
    }
    let mut ranges: Vec<(f32, &str)> = accept_language
        .split(',')
        .filter_map(|item| {
            let mut parts = item.split(';');
            let range = parts.next()?.trim();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())?;
            (!range.is_empty() && q > 0.0).then_some((q, range))
        })
        .collect();
    // Stable: equal weights keep the client's order.
    ranges.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (_, range) in ranges {
        if range == "*" {
            continue;
        }
        let mut candidate = range;
        loop {
            if let Some(i) = tags.clone().position(|t| t.eq_ignore_ascii_case(candidate)) {
                return Some(i);
            }
            match candidate.rfind('-') {
                Some(cut) => {
                    candidate = &candidate[..cut];
                    // A single-letter subtag left at the end is dropped with the one before it.
                    if candidate.len() >= 2 && candidate.as_bytes()[candidate.len() - 2] == b'-' {
                        candidate = &candidate[..candidate.len() - 2];
                    }
                }
                None => break,
            }
        }
    }
    None
}

/// Whether `tag` has the shape of a BCP 47 language tag: a 2-8 letter language, then subtags
/// of 1-8 letters or digits (`en`, `de-AT`, `zh-Hant-TW`, `pt-BR`).
pub(crate) fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let first_ok = parts
        .next()
        .is_some_and(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic()));
    first_ok
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_languages_with_every_sentence() {
        assert_eq!(
            languages(),
            ["de", "en", "es", "fr", "it", "ja", "nl", "pl", "pt", "sv"]
        );
        for lang in languages() {
            let s = strings(lang, "en");
            assert!(
                s.back_by.contains("{time}") && s.try_again_in.contains("{delay}"),
                "{lang}"
            );
            assert_eq!(s.months.len(), 12, "{lang}");
        }
    }

    #[test]
    fn accept_language_lookup_with_q_values_and_fallbacks() {
        let configured =
            |accept_language: &str| lookup(accept_language, ["en", "de", "fr-CA"].into_iter());
        assert_eq!(configured("de-AT,de;q=0.9,en;q=0.8"), Some(1));
        assert_eq!(configured("fr-CA-x-foo"), Some(2));
        assert_eq!(configured("fr"), None);
        assert_eq!(configured("ja, en;q=0.5"), Some(0));
        assert_eq!(configured("en;q=0.2, de;q=0.9"), Some(1));
        assert_eq!(configured("de;q=0, en;q=0.1"), Some(0));
        assert_eq!(configured("*"), None);
        assert_eq!(configured("DE"), Some(1));
        assert_eq!(configured(&"x".repeat(5000)), None);
    }

    #[test]
    fn durations_and_dates_read_as_people_write_them() {
        let en = strings("en", "en");
        assert_eq!(en.delay("en", Duration::from_secs(900)), "15 minutes");
        assert_eq!(en.delay("en", Duration::from_secs(30)), "1 minute");
        assert_eq!(en.delay("en", Duration::from_secs(2 * 3600)), "2 hours");
        let pl = strings("pl", "en");
        assert_eq!(pl.delay("pl", Duration::from_secs(3 * 60)), "3 minuty");
        assert_eq!(pl.delay("pl", Duration::from_secs(5 * 60)), "5 minut");
        assert_eq!(pl.delay("pl", Duration::from_secs(60)), "1 minutę");
        let ja = strings("ja", "en");
        assert_eq!(ja.delay("ja", Duration::from_secs(900)), "15分");
        let t = crate::settings::parse_time("2026-11-30T09:16:00Z").unwrap();
        assert_eq!(en.date(t), "30 Nov 2026, 09:16 UTC");
        assert_eq!(strings("de", "en").date(t), "30. Nov. 2026, 09:16 UTC");
        assert_eq!(ja.date(t), "2026年11月30日 09:16 UTC");
    }

    #[test]
    fn a_language_without_sentences_uses_the_default_languages() {
        assert_eq!(strings("fi", "de").heading, strings("de", "en").heading);
        assert_eq!(strings("fi", "fi").heading, strings("en", "en").heading);
        assert_eq!(strings("de-AT", "en").heading, strings("de", "en").heading);
    }

    #[test]
    fn language_tags_are_checked_for_shape() {
        for ok in ["en", "de-AT", "zh-Hant-TW", "pt-BR", "es-419"] {
            assert!(is_language_tag(ok), "{ok}");
        }
        for bad in [
            "",
            "e",
            "english language",
            "de_AT",
            "-de",
            "de-",
            "toolonglanguage",
        ] {
            assert!(!is_language_tag(bad), "{bad}");
        }
    }
}
