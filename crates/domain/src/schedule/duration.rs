//! Durations in schedule files, read and written in one place.
//!
//! Forms read (every importer, for event durations and `timeslot_duration`):
//! - `H:MM` — hours (1–6 digits, may exceed 23: `120:00` is five days) and minutes
//!   (two digits, ≤ 59); the form of the c3voc JSON v1 schema (`^[0-9]+:[0-9]{2}$`) and
//!   of frab XML under a day;
//! - `D:HH:MM` — days (1–3 digits), hours (two digits, ≤ 23) and minutes (one or two
//!   digits, ≤ 59): the three-part form that pretalx (`serialize_duration`) and frab write
//!   for a day or more, and the second alternative of `schedule.xml.xsd`'s `duration`
//!   type. `1:02:30` is one day, two hours and thirty minutes (1,590 minutes), never
//!   1 h 2 min 30 s;
//! - ISO 8601 `P[nW][nD][T[nH][nM][nS]]` (`PT1H30M`, `P1DT2H`): the `Duration` of the
//!   c3voc JSON v2 schema. Years and months are refused (their length is not fixed).
//!
//! Forms written: [`format_xml`] (frab XML: `HH:MM` under a day, `D:HH:MM` from a day
//! on, so that every length up to [`MAX_SECONDS`] matches the XSD pattern
//! `([0-9]{1,2}:[0-9]{2})|([0-9]{1,2}:[0-9]{2}:[0-9]{1,2})`) and [`format_json`] (c3voc
//! JSON v1: `H:MM` with hours unbounded, the only form its schema allows).

/// The longest duration a schedule may carry, seconds: 99 days 23 h 59 min, the most
/// that `schedule.xml.xsd` can express (its day part has at most two digits). Imports
/// refuse longer events ([`super::limits::check_programme`]).
pub const MAX_SECONDS: i64 = ((99 * 24 + 23) * 60 + 59) * 60;

/// Parses a duration in any of the forms in the module documentation into seconds.
///
/// Surrounding whitespace is ignored. `None` for anything else (empty parts, signs,
/// minutes over 59, hours over 23 in the three-part form, ISO years or months).
pub fn parse(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Some(iso) = s.strip_prefix('P') {
        return parse_iso(iso);
    }
    let parts: Vec<&str> = s.split(':').collect();
    let num = |p: &str, max_len: usize| -> Option<i64> {
        if p.is_empty() || p.len() > max_len || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        p.parse().ok()
    };
    match parts.as_slice() {
        [h, m] if m.len() == 2 => {
            let (h, m) = (num(h, 6)?, num(m, 2)?);
            (m <= 59).then_some((h * 60 + m) * 60)
        }
        [d, h, m] if h.len() == 2 => {
            let (d, h, m) = (num(d, 3)?, num(h, 2)?, num(m, 2)?);
            (h <= 23 && m <= 59).then_some(((d * 24 + h) * 60 + m) * 60)
        }
        _ => None,
    }
}

/// ISO 8601 duration after its `P`: weeks, days, then after `T` hours, minutes, whole
/// seconds; at least one number, no years or months.
fn parse_iso(s: &str) -> Option<i64> {
    let (date, time) = match s.split_once('T') {
        Some((d, t)) if !t.is_empty() => (d, Some(t)),
        Some(_) => return None,
        None => (s, None),
    };
    let mut total = 0i64;
    let mut any = false;
    let mut take = |part: &str, units: &[(char, i64)]| -> Option<()> {
        let mut rest = part;
        let mut next_unit = 0;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 || digits > 9 {
                return None;
            }
            let n: i64 = rest[..digits].parse().ok()?;
            let unit = rest[digits..].chars().next()?;
            let i = units[next_unit..].iter().position(|(u, _)| *u == unit)? + next_unit;
            total = total.checked_add(n.checked_mul(units[i].1)?)?;
            any = true;
            next_unit = i + 1;
            rest = &rest[digits + 1..];
        }
        Some(())
    };
    take(date, &[('W', 7 * 86_400), ('D', 86_400)])?;
    if let Some(t) = time {
        take(t, &[('H', 3_600), ('M', 60), ('S', 1)])?;
    }
    any.then_some(total)
}

/// Writes seconds for frab XML: `HH:MM` under 24 hours, `D:HH:MM` (days unpadded, as
/// pretalx writes them) from 24 hours on. Seconds are dropped; negative values count as
/// 0. Valid against `schedule.xml.xsd` up to [`MAX_SECONDS`].
pub fn format_xml(seconds: i64) -> String {
    let m = seconds.max(0) / 60;
    let (d, h, m) = (m / (24 * 60), m / 60 % 24, m % 60);
    if d == 0 {
        format!("{h:02}:{m:02}")
    } else {
        format!("{d}:{h:02}:{m:02}")
    }
}

/// Writes seconds for c3voc JSON v1: `HH:MM`, hours unbounded (`120:00`), as its schema's
/// `^[0-9]+:[0-9]{2}$` requires. Seconds are dropped; negative values count as 0.
pub fn format_json(seconds: i64) -> String {
    let m = seconds.max(0) / 60;
    format!("{:02}:{:02}", m / 60, m % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60;
    const HOUR: i64 = 3_600;
    const DAY: i64 = 86_400;

    #[test]
    fn every_form_the_importers_accept() {
        for (s, want) in [
            ("00:45", 45 * MIN),
            ("1:30", 90 * MIN),
            (" 01:00 ", HOUR),
            ("120:00", 120 * HOUR),
            ("1:02:30", DAY + 2 * HOUR + 30 * MIN),
            ("0:00:05", 5 * MIN),
            ("2:23:5", 2 * DAY + 23 * HOUR + 5 * MIN),
            ("PT15M", 15 * MIN),
            ("PT1H30M", 90 * MIN),
            ("P1DT2H", DAY + 2 * HOUR),
            ("P1W", 7 * DAY),
            ("PT90S", 90),
        ] {
            assert_eq!(parse(s), Some(want), "{s}");
        }
        for s in [
            "",
            "45",
            ":30",
            "1:3",
            "1:60",
            "1:24:00",
            "1:02:60",
            "-1:00",
            "1:00:00:00",
            "P",
            "PT",
            "P1M",
            "P1Y",
            "PT1D",
            "P1H",
            "PT1M1H",
            "1h",
            "01:00:5x",
        ] {
            assert_eq!(parse(s), None, "{s:?}");
        }
    }

    #[test]
    fn every_length_round_trips_in_both_written_forms() {
        let xsd = |s: &str| {
            let p: Vec<&str> = s.split(':').collect();
            let digits = |x: &str, lo: usize, hi: usize| {
                (lo..=hi).contains(&x.len()) && x.bytes().all(|b| b.is_ascii_digit())
            };
            match p.as_slice() {
                [a, b] => digits(a, 1, 2) && digits(b, 2, 2),
                [a, b, c] => digits(a, 1, 2) && digits(b, 2, 2) && digits(c, 1, 2),
                _ => false,
            }
        };
        let lengths = [
            0,
            MIN,
            59 * MIN,
            23 * HOUR + 59 * MIN,
            DAY,
            DAY + 2 * HOUR + 30 * MIN,
            120 * HOUR,
            7 * DAY + 23 * HOUR + 59 * MIN,
            MAX_SECONDS,
        ];
        for secs in lengths {
            let x = format_xml(secs);
            assert!(xsd(&x), "{secs} s → {x} does not match the XSD pattern");
            assert_eq!(parse(&x), Some(secs), "xml {x}");
            let j = format_json(secs);
            assert!(j
                .split_once(':')
                .is_some_and(|(h, m)| !h.is_empty() && m.len() == 2));
            assert_eq!(parse(&j), Some(secs), "json {j}");
        }
        assert_eq!(format_xml(120 * HOUR), "5:00:00");
        assert_eq!(format_json(120 * HOUR), "120:00");
        assert_eq!(format_xml(90 * MIN), "01:30");
    }
}
