//! Grouping of a programme's events into programme days for the day-structured exports
//! (c3voc JSON v1 and frab XML).

use super::{EventSpec, Programme, RoomSpec};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime};
use chrono_tz::Tz;

/// Room name under which events without a room are exported (both formats need one).
pub(crate) const NO_ROOM: &str = "No room";

/// One exported programme day.
pub(crate) struct ExportDay {
    /// 1-based.
    pub index: usize,
    /// The programme day's date.
    pub date: NaiveDate,
    /// `date` + day change, in the forum time zone.
    pub start: DateTime<Tz>,
    /// Next date + day change, in the forum time zone.
    pub end: DateTime<Tz>,
    /// Every exported room (in room order) with the indices of its events this day,
    /// sorted by start.
    pub rooms: Vec<(String, Vec<usize>)>,
}

pub use crate::util::programme_day;

/// The instant of a local wall-clock time in `tz`: the earlier one when ambiguous, the
/// first valid time after a gap (DST spring-forward).
pub(crate) fn local_instant(tz: Tz, ndt: NaiveDateTime) -> DateTime<Tz> {
    crate::util::local_to_utc(tz, ndt.date(), ndt.time()).with_timezone(&tz)
}

/// Rooms as exported: the programme's rooms plus any named by an event but missing, plus
/// [`NO_ROOM`] when some event has no room.
pub(crate) fn export_rooms(p: &Programme) -> Vec<RoomSpec> {
    let mut rooms = p.rooms.clone();
    super::add_event_rooms(&mut rooms, &p.events);
    if p.events.iter().any(|e| e.room.is_none()) && !rooms.iter().any(|r| r.name == NO_ROOM) {
        rooms.push(RoomSpec {
            name: NO_ROOM.to_string(),
            guid: None,
            capacity: None,
            description: None,
        });
    }
    rooms
}

pub(crate) fn room_of(e: &EventSpec) -> &str {
    e.room.as_deref().unwrap_or(NO_ROOM)
}

/// Groups events into every programme day from the conference start to its end
/// (extended to cover any event outside), with every room listed in each day.
pub(crate) fn group_days(p: &Programme, tz: Tz, rooms: &[RoomSpec]) -> Vec<ExportDay> {
    let dc = p.conference.day_change;
    let ev_days: Vec<NaiveDate> = p
        .events
        .iter()
        .map(|e| programme_day(e.start, tz, dc))
        .collect();
    let mut first = p.conference.start;
    let mut last = p.conference.end.max(first);
    for d in &ev_days {
        first = first.min(*d);
        last = last.max(*d);
    }
    let mut order: Vec<usize> = (0..p.events.len()).collect();
    order.sort_by_key(|&i| (p.events[i].start, p.events[i].end));
    let mut days = Vec::new();
    let mut date = first;
    while date <= last {
        let start = local_instant(tz, date.and_time(dc));
        let end = local_instant(tz, (date + Duration::days(1)).and_time(dc));
        let rooms_of_day = rooms
            .iter()
            .map(|r| {
                let ids = order
                    .iter()
                    .copied()
                    .filter(|&i| ev_days[i] == date && room_of(&p.events[i]) == r.name)
                    .collect();
                (r.name.clone(), ids)
            })
            .collect();
        days.push(ExportDay {
            index: days.len() + 1,
            date,
            start,
            end,
            rooms: rooms_of_day,
        });
        date += Duration::days(1);
    }
    days
}

/// What both day-structured exporters (c3voc JSON v1, frab XML) derive from a programme
/// before writing: rooms, days, unique event ids, the sanitized acronym and unique slugs.
pub(crate) struct ExportPlan {
    /// Rooms as exported (see [`export_rooms`]).
    pub rooms: Vec<RoomSpec>,
    /// Programme days (see [`group_days`]).
    pub days: Vec<ExportDay>,
    /// One unique positive id per event, in event order.
    pub ids: Vec<i64>,
    /// The acronym as the schema allows it.
    pub acronym: String,
    /// One unique, schema-valid slug per event, in event order.
    pub slugs: Vec<String>,
}

impl ExportPlan {
    /// Plans the export of `p` in zone `tz`.
    pub(crate) fn new(p: &Programme, tz: Tz) -> Self {
        let rooms = export_rooms(p);
        let days = group_days(p, tz, &rooms);
        let ids = super::unique_event_ids(&p.events);
        let acronym = super::export_acronym(&p.conference.acronym);
        let mut used_slugs = std::collections::HashSet::new();
        let slugs = p
            .events
            .iter()
            .zip(&ids)
            .map(|(e, id)| super::export_slug(e, &acronym, *id, &mut used_slugs))
            .collect();
        ExportPlan {
            rooms,
            days,
            ids,
            acronym,
            slugs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveTime, Utc};

    #[test]
    fn day_grouping_across_midnight_with_day_change_0400() {
        let tz = chrono_tz::Europe::Berlin;
        let dc = NaiveTime::from_hms_opt(4, 0, 0).unwrap();
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let d27 = NaiveDate::from_ymd_opt(2014, 12, 27).unwrap();
        let d28 = NaiveDate::from_ymd_opt(2014, 12, 28).unwrap();
        assert_eq!(programme_day(at("2014-12-28T01:00:00+01:00"), tz, dc), d27);
        assert_eq!(programme_day(at("2014-12-28T03:59:00+01:00"), tz, dc), d27);
        assert_eq!(programme_day(at("2014-12-28T04:00:00+01:00"), tz, dc), d28);
        assert_eq!(programme_day(at("2014-12-27T11:00:00+01:00"), tz, dc), d27);
        // Midnight day change: plain local date.
        assert_eq!(
            programme_day(at("2014-12-28T01:00:00+01:00"), tz, NaiveTime::MIN),
            d28
        );
        // In UTC the same instant is 00:00 on the 28th, still before 04:00.
        assert_eq!(
            programme_day(at("2014-12-28T01:00:00+01:00"), Tz::UTC, dc),
            d27
        );
    }

    #[test]
    fn local_instant_skips_dst_gap() {
        let tz = chrono_tz::Europe::Berlin;
        let gap = NaiveDate::from_ymd_opt(2019, 3, 31)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        let t = local_instant(tz, gap);
        assert_eq!(t.naive_local().format("%H:%M").to_string(), "03:00");
    }
}
