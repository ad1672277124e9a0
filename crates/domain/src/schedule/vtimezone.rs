//! Generation of an RFC 5545 VTIMEZONE (§3.6.5) from chrono-tz's tz database.

use chrono::{DateTime, Duration, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::{OffsetComponents, OffsetName, Tz};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// One change of a zone's UTC offset.
#[derive(Debug, Clone, PartialEq)]
pub struct TzTransition {
    /// The instant of the change, to the minute.
    pub at: DateTime<Utc>,
    /// Local wall-clock time just before the change (the observance's `DTSTART`).
    pub local_before: NaiveDateTime,
    /// UTC offset before, in seconds.
    pub offset_from: i32,
    /// UTC offset after, in seconds.
    pub offset_to: i32,
    /// True when the new offset includes daylight saving time (`DAYLIGHT`), else
    /// `STANDARD`.
    pub daylight: bool,
    /// The abbreviation after the change (`CEST`), used as `TZNAME`.
    pub name: String,
}

fn offset_secs(tz: Tz, t: DateTime<Utc>) -> i32 {
    tz.offset_from_utc_datetime(&t.naive_utc())
        .fix()
        .local_minus_utc()
}

/// All offset changes of `tz` in `[from, to]`: scanned in 6-hour steps, each change
/// bisected to the minute.
pub fn transitions(tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<TzTransition> {
    let step = Duration::hours(6);
    let mut out = Vec::new();
    let mut t = from;
    let mut off = offset_secs(tz, t);
    while t < to {
        let next = (t + step).min(to);
        let next_off = offset_secs(tz, next);
        if next_off != off {
            // invariant: offset at lo == off, at hi != off
            let (mut lo, mut hi) = (t, next);
            while hi - lo > Duration::minutes(1) {
                let mid = lo + (hi - lo) / 2;
                if offset_secs(tz, mid) == off {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            // to the minute: the first whole minute with the new offset
            let secs = hi.timestamp();
            let rounded = DateTime::from_timestamp(secs - secs.rem_euclid(60), 0).unwrap_or(hi);
            let at = if offset_secs(tz, rounded) == off {
                hi
            } else {
                rounded
            };
            let after = tz.offset_from_utc_datetime(&at.naive_utc());
            let to_off = after.fix().local_minus_utc();
            out.push(TzTransition {
                at,
                local_before: at.naive_utc() + Duration::seconds(i64::from(off)),
                offset_from: off,
                offset_to: to_off,
                daylight: !after.dst_offset().is_zero(),
                name: after
                    .abbreviation()
                    .map(str::to_string)
                    .unwrap_or_else(|| format_offset(to_off)),
            });
            // continue scanning from the change (a second change in the same step
            // is found on the next round)
            t = at;
            off = to_off;
            continue;
        }
        t = next;
        off = next_off;
    }
    out
}

/// `+HHMM` (or `+HHMMSS`) as in RFC 5545 §3.3.14 UTC-OFFSET.
pub fn format_offset(secs: i32) -> String {
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.unsigned_abs();
    let (h, m, s) = (a / 3600, (a / 60) % 60, a % 60);
    if s == 0 {
        format!("{sign}{h:02}{m:02}")
    } else {
        format!("{sign}{h:02}{m:02}{s:02}")
    }
}

/// The content lines (without line endings) of a VTIMEZONE for `tz` valid for
/// `[from, to]`: `TZID` = the IANA name, one `STANDARD`/`DAYLIGHT` observance per offset
/// change in the range (`DTSTART` = local time before the change, `TZOFFSETFROM`,
/// `TZOFFSETTO`, `TZNAME`), or, when there is none (UTC, Europe/Istanbul after 2016),
/// a single observance with the constant offset starting at `from`'s local time.
///
/// The lines are ASCII and shorter than 75 octets, so they need no folding.
pub fn vtimezone_lines(tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<String> {
    let mut lines = vec!["BEGIN:VTIMEZONE".to_string(), format!("TZID:{}", tz.name())];
    let ts = transitions(tz, from, to);
    let mut observance = |kind: &str, start: NaiveDateTime, from: i32, to: i32, name: &str| {
        lines.push(format!("BEGIN:{kind}"));
        lines.push(format!("DTSTART:{}", start.format("%Y%m%dT%H%M%S")));
        lines.push(format!("TZOFFSETFROM:{}", format_offset(from)));
        lines.push(format!("TZOFFSETTO:{}", format_offset(to)));
        lines.push(format!("TZNAME:{name}"));
        lines.push(format!("END:{kind}"));
    };
    if ts.is_empty() {
        let o = tz.offset_from_utc_datetime(&from.naive_utc());
        let secs = o.fix().local_minus_utc();
        let kind = if o.dst_offset().is_zero() {
            "STANDARD"
        } else {
            "DAYLIGHT"
        };
        let name = o
            .abbreviation()
            .map(str::to_string)
            .unwrap_or_else(|| format_offset(secs));
        let start = from.naive_utc() + Duration::seconds(i64::from(secs));
        observance(kind, start, secs, secs, &name);
    } else {
        for t in &ts {
            let kind = if t.daylight { "DAYLIGHT" } else { "STANDARD" };
            observance(kind, t.local_before, t.offset_from, t.offset_to, &t.name);
        }
    }
    lines.push("END:VTIMEZONE".to_string());
    lines
}

/// [`vtimezone_lines`] for the whole UTC calendar years `first_year..=last_year`, memoised
/// per process: the scan of [`transitions`] costs about 80 µs for a three-year range (6-hour
/// steps), far more than the rest of an e-mail's rendering, and a worker attaches the same
/// zone's VTIMEZONE to message after message. The memo keeps at most 256 (zone, years)
/// entries and starts afresh when full. The tz database is compiled into the binary, so an
/// entry never goes stale.
pub fn vtimezone_years(tz: Tz, first_year: i32, last_year: i32) -> Arc<[String]> {
    type Memo = Mutex<HashMap<(Tz, i32, i32), Arc<[String]>>>;
    static MEMO: OnceLock<Memo> = OnceLock::new();
    let key = (tz, first_year, last_year);
    let memo = MEMO.get_or_init(Default::default);
    if let Some(hit) = memo.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return hit.clone();
    }
    let year_start = |y: i32| {
        chrono::NaiveDate::from_ymd_opt(y, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc())
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    };
    let lines: Arc<[String]> = vtimezone_lines(
        tz,
        year_start(first_year),
        year_start(last_year.saturating_add(1)),
    )
    .into();
    let mut m = memo.lock().unwrap_or_else(|e| e.into_inner());
    if m.len() >= 256 {
        m.clear();
    }
    m.insert(key, lines.clone());
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn zurich_has_standard_and_daylight() {
        let lines = vtimezone_lines(
            chrono_tz::Europe::Zurich,
            utc("2021-12-28T00:00:00Z"),
            utc("2023-12-30T00:00:00Z"),
        );
        let text = lines.join("\n");
        assert!(text.contains("TZID:Europe/Zurich"));
        assert!(text.contains("BEGIN:STANDARD"));
        assert!(text.contains("BEGIN:DAYLIGHT"));
        // 2022-03-27 02:00 CET -> 03:00 CEST
        assert!(text.contains(
            "BEGIN:DAYLIGHT\nDTSTART:20220327T020000\nTZOFFSETFROM:+0100\nTZOFFSETTO:+0200\nTZNAME:CEST"
        ));
        // 2022-10-30 03:00 CEST -> 02:00 CET
        assert!(text.contains(
            "BEGIN:STANDARD\nDTSTART:20221030T030000\nTZOFFSETFROM:+0200\nTZOFFSETTO:+0100\nTZNAME:CET"
        ));
        assert_eq!(text.matches("BEGIN:DAYLIGHT").count(), 2);
        assert_eq!(text.matches("BEGIN:STANDARD").count(), 2);
    }

    #[test]
    fn transitions_are_exact_to_the_minute() {
        let ts = transitions(
            chrono_tz::Europe::Berlin,
            utc("2019-01-01T00:00:00Z"),
            utc("2019-12-31T00:00:00Z"),
        );
        assert_eq!(ts.len(), 2);
        assert_eq!(ts[0].at, utc("2019-03-31T01:00:00Z"));
        assert_eq!(ts[1].at, utc("2019-10-27T01:00:00Z"));
        assert!(ts[0].daylight && !ts[1].daylight);
    }

    #[test]
    fn fixed_zones_get_one_observance() {
        for tz in [Tz::UTC, chrono_tz::Europe::Istanbul] {
            let lines =
                vtimezone_lines(tz, utc("2019-01-01T00:00:00Z"), utc("2021-01-01T00:00:00Z"));
            let text = lines.join("\n");
            assert_eq!(text.matches("BEGIN:STANDARD").count(), 1, "{text}");
            assert!(!text.contains("DAYLIGHT"));
        }
        let text = vtimezone_lines(
            chrono_tz::Europe::Istanbul,
            utc("2019-01-01T00:00:00Z"),
            utc("2021-01-01T00:00:00Z"),
        )
        .join("\n");
        assert!(text.contains("TZOFFSETTO:+0300"), "{text}");
    }

    #[test]
    fn memoised_years_equal_a_fresh_scan_of_the_same_range() {
        let tz = chrono_tz::Europe::Paris;
        let fresh = vtimezone_lines(tz, utc("2029-01-01T00:00:00Z"), utc("2032-01-01T00:00:00Z"));
        let first = vtimezone_years(tz, 2029, 2031);
        assert_eq!(&first[..], &fresh[..]);
        // three years of Paris: three spring and three autumn changes
        assert_eq!(fresh.iter().filter(|l| *l == "BEGIN:DAYLIGHT").count(), 3);
        let again = vtimezone_years(tz, 2029, 2031);
        assert!(
            Arc::ptr_eq(&first, &again),
            "the second call is served from the memo"
        );
        let other = vtimezone_years(chrono_tz::Europe::Istanbul, 2029, 2031);
        assert!(other.iter().any(|l| l == "TZID:Europe/Istanbul"));
        assert!(!other.iter().any(|l| l == "BEGIN:DAYLIGHT"));
    }
}
