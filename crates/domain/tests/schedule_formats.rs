//! Schedule import/export against the real files in `shared/data`.
//!
//! The shared folder is `$CONVENE_SHARED_DIR` or the first `shared/data` found beside an
//! ancestor of the crate (`/work/scheddev` → `/work/shared/data`). Missing: the tests that
//! need it are skipped, or fail when `CONVENE_REQUIRE_SHARED=1`. The same applies to
//! `xmllint` for XSD validation.

use chrono::{DateTime, Duration, TimeZone, Utc};
use chrono_tz::Tz;
use convene_domain::schedule::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn require() -> bool {
    std::env::var("CONVENE_REQUIRE_SHARED").is_ok_and(|v| v == "1")
}

/// The `shared/data` folder, or `None` (after printing why) when it is absent and not
/// required.
fn shared_data() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("CONVENE_SHARED_DIR") {
        let p = PathBuf::from(dir);
        let data = if p.join("schedules").is_dir() {
            p
        } else {
            p.join("data")
        };
        if data.join("schedules").is_dir() {
            return Some(data);
        }
        assert!(
            !require(),
            "CONVENE_SHARED_DIR has no schedules/: {}",
            data.display()
        );
        println!("skipping: CONVENE_SHARED_DIR has no schedules/");
        return None;
    }
    let mut dir = Some(Path::new(env!("CARGO_MANIFEST_DIR")));
    while let Some(d) = dir {
        for cand in [d.join("shared/data"), d.join("../shared/data")] {
            if cand.join("schedules").is_dir() {
                return Some(cand);
            }
        }
        dir = d.parent();
    }
    assert!(
        !require(),
        "shared/data/schedules not found and CONVENE_REQUIRE_SHARED=1"
    );
    println!("skipping: shared/data/schedules not found (set CONVENE_SHARED_DIR)");
    None
}

fn xmllint_available() -> bool {
    let ok = Command::new("xmllint")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(!require(), "xmllint missing and CONVENE_REQUIRE_SHARED=1");
        println!("skipping XSD validation: xmllint not installed (apt-get install libxml2-utils)");
    }
    ok
}

fn validate_json_v1(data: &Path, json: &str) {
    let errors = json_v1_errors(data, json);
    assert!(
        errors.is_empty(),
        "JSON export invalid:\n{}",
        errors.join("\n")
    );
}

fn json_v1_errors(data: &Path, json: &str) -> Vec<String> {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(data.join("schemas/schedule.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("v1 schema compiles");
    let instance: serde_json::Value = serde_json::from_str(json).expect("export is JSON");
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .take(20)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    errors
}

fn validate_xml(data: &Path, xml: &str, tag: &str) {
    if !xmllint_available() {
        return;
    }
    let out = xmllint(data, xml, tag);
    assert!(
        out.status.success(),
        "XML export invalid:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn xmllint(data: &Path, xml: &str, tag: &str) -> std::process::Output {
    let path = std::env::temp_dir().join(format!(
        "convene-schedule-{}-{}.xml",
        tag,
        std::process::id()
    ));
    std::fs::write(&path, xml).unwrap();
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(data.join("schemas/schedule.xml.xsd"))
        .arg(&path)
        .output()
        .expect("run xmllint");
    let _ = std::fs::remove_file(&path);
    out
}

/// The validators are not no-ops: doctored exports are rejected.
#[test]
fn validators_reject_broken_exports() {
    let Some(data) = shared_data() else {
        return;
    };
    let start = Utc.with_ymd_and_hms(2021, 5, 1, 10, 0, 0).unwrap();
    let p = one_event_programme(start, start + Duration::hours(1), Tz::UTC);
    let json = export_c3voc_json(&p, Tz::UTC);
    assert!(json_v1_errors(&data, &json).is_empty());
    let bad = json.replace("\"acronym\": \"dst_test\"", "\"acronym\": \"DST Test\"");
    assert_ne!(bad, json);
    assert!(!json_v1_errors(&data, &bad).is_empty());
    let bad = json.replace("\"duration\": \"01:00\"", "\"duration\": \"1h\"");
    assert_ne!(bad, json);
    assert!(!json_v1_errors(&data, &bad).is_empty());
    if xmllint_available() {
        let xml = export_frab_xml(&p, Tz::UTC);
        assert!(xmllint(&data, &xml, "good").status.success());
        let bad = xml.replace("<duration>01:00</duration>", "<duration>1h</duration>");
        assert_ne!(bad, xml);
        assert!(!xmllint(&data, &bad, "bad").status.success());
    }
}

/// Compares every event of `back` (a re-import of an export) with `orig`.
fn assert_same_events(orig: &Programme, back: &Programme, what: &str) {
    assert_eq!(orig.events.len(), back.events.len(), "{what}: event count");
    let by_guid: HashMap<&str, &EventSpec> =
        back.events.iter().map(|e| (e.guid.as_str(), e)).collect();
    for e in &orig.events {
        let g = export_uuid(&e.guid).to_string();
        let b = by_guid
            .get(g.as_str())
            .unwrap_or_else(|| panic!("{what}: event {} ({g}) missing", e.guid));
        assert_eq!(b.title, e.title, "{what}: title of {g}");
        assert_eq!(b.start, e.start, "{what}: start of {g}");
        assert_eq!(b.end - b.start, e.end - e.start, "{what}: duration of {g}");
        assert_eq!(b.room, e.room, "{what}: room of {g}");
        let names = |p: &EventSpec| p.persons.iter().map(|x| x.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(b), names(e), "{what}: persons of {g}");
    }
}

fn ical_opts() -> IcalOptions {
    IcalOptions {
        uid_domain: "forum.example.org".into(),
        generated_at: Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap(),
        calendar_name: "Programme".into(),
        sequences: None,
        method: Some("PUBLISH".into()),
    }
}

fn check_ical(p: &Programme, tz: Tz) {
    let a = export_ical(p, tz, &ical_opts());
    let b = export_ical(p, tz, &ical_opts());
    assert_eq!(a, b, "iCalendar export must be deterministic");
    assert!(a.lines().all(|l| l.len() <= 75), "lines must be folded");
    let unfolded = icalendar::parser::unfold(&a);
    let cal = icalendar::parser::read_calendar(&unfolded).expect("icalendar parses the export");
    let comps = &cal.components;
    let vevents: Vec<_> = comps
        .iter()
        .filter(|c| c.name.as_str() == "VEVENT")
        .collect();
    assert_eq!(vevents.len(), p.events.len());
    let vtz: Vec<_> = comps
        .iter()
        .filter(|c| c.name.as_str() == "VTIMEZONE")
        .collect();
    assert_eq!(vtz.len(), 1);
    assert!(vtz[0]
        .properties
        .iter()
        .any(|pr| pr.name.as_str() == "TZID" && pr.val.as_str() == tz.name()));
    assert!(
        !vtz[0].components.is_empty(),
        "VTIMEZONE needs an observance"
    );
    let uid = |c: &icalendar::parser::Component| {
        c.properties
            .iter()
            .find(|pr| pr.name.as_str() == "UID")
            .map(|pr| pr.val.to_string())
            .unwrap()
    };
    let uids: Vec<String> = vevents.iter().map(|c| uid(c)).collect();
    for (u, e) in uids.iter().zip(&p.events) {
        assert_eq!(u, &format!("{}@forum.example.org", export_uuid(&e.guid)));
    }
    let unique: std::collections::HashSet<_> = uids.iter().collect();
    assert_eq!(unique.len(), uids.len(), "UIDs unique");
    // DTSTART carries the TZID of the VTIMEZONE (or is UTC)
    for c in &vevents {
        let st = c
            .properties
            .iter()
            .find(|pr| pr.name.as_str() == "DTSTART")
            .unwrap();
        let has_tzid = st.params.iter().any(|pa| {
            pa.key.as_str() == "TZID" && pa.val.as_ref().map(|v| v.as_str()) == Some(tz.name())
        });
        assert!(has_tzid || st.val.as_str().ends_with('Z'));
    }
}

/// Parses, checks counts, exports to all three formats, validates and re-imports.
fn round_trip(file: &str, events: usize, rooms: Option<usize>) -> Option<Programme> {
    let data = shared_data()?;
    let bytes = std::fs::read(data.join("schedules").join(file)).unwrap();
    let p = parse(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
    assert_eq!(p.events.len(), events, "{file}: events");
    if let Some(r) = rooms {
        assert_eq!(p.rooms.len(), r, "{file}: rooms");
    }
    for e in &p.events {
        let room = e.room.as_deref().expect("room set");
        assert!(
            p.rooms.iter().any(|r| r.name == room),
            "{file}: room {room} listed"
        );
        assert!(e.end >= e.start);
    }
    let tz = p.conference.time_zone.unwrap_or(chrono_tz::Europe::Berlin);

    let json = export_c3voc_json(&p, tz);
    validate_json_v1(&data, &json);
    assert_eq!(
        detect_format(json.as_bytes()).unwrap(),
        ScheduleFormat::C3vocJson
    );
    let back = parse(json.as_bytes()).unwrap_or_else(|e| panic!("{file} JSON re-import: {e}"));
    assert_same_events(&p, &back, &format!("{file} via JSON"));
    assert_eq!(back.conference.day_change, p.conference.day_change);
    assert_eq!(back.conference.time_zone, Some(tz));

    let xml = export_frab_xml(&p, tz);
    validate_xml(&data, &xml, &file.replace('.', "_"));
    assert_eq!(
        detect_format(xml.as_bytes()).unwrap(),
        ScheduleFormat::FrabXml
    );
    let back = parse(xml.as_bytes()).unwrap_or_else(|e| panic!("{file} XML re-import: {e}"));
    assert_same_events(&p, &back, &format!("{file} via XML"));
    assert_eq!(back.conference.day_change, p.conference.day_change);

    check_ical(&p, tz);
    Some(p)
}

#[test]
fn frab_31c3_xml() {
    let Some(p) = round_trip("31c3-schedule.xml", 138, Some(4)) else {
        return;
    };
    assert_eq!(p.conference.acronym, "31c3");
    assert_eq!(p.conference.time_zone, None);
    assert_eq!(p.conference.day_change.to_string(), "04:00:00");
    assert_eq!(p.conference.timeslot_minutes, 5);
    let names: Vec<&str> = p.rooms.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["Saal 1", "Saal 2", "Saal G", "Saal 6"]);
    // non-UUID guids exist and are exported as deterministic v5 UUIDs
    let odd = p
        .events
        .iter()
        .find(|e| e.guid == "HOqeNIb6G7M4hYFKFRkCmQ")
        .expect("31C3 has non-UUID guids");
    assert_eq!(export_uuid(&odd.guid).get_version_num(), 5);
    let first = &p.events[0];
    assert_eq!(first.frab_id, Some(6561));
    assert_eq!(
        first.start,
        Utc.with_ymd_and_hms(2014, 12, 27, 10, 0, 0).unwrap()
    );
    assert_eq!(first.end - first.start, Duration::minutes(30));
    assert_eq!(first.persons[0].external_key.as_deref(), Some("frab:1544"));
    assert_eq!(first.persons[1].name, "Geraldine de Bastion");
}

#[test]
fn frab_camp2019_json() {
    let Some(p) = round_trip("frab-camp2019.json", 79, None) else {
        return;
    };
    assert_eq!(p.conference.acronym, "Camp2019");
    assert_eq!(p.conference.time_zone, Some(chrono_tz::Europe::Berlin));
    assert_eq!(p.conference.day_change.to_string(), "04:00:00");
    assert_eq!(p.conference.timeslot_minutes, 15);
    let json = export_c3voc_json(&p, chrono_tz::Europe::Berlin);
    assert!(json.contains("\"acronym\": \"camp2019\""));
    assert_eq!(
        p.events[0].persons[0].external_key.as_deref(),
        Some("frab:7797")
    );
}

#[test]
fn pretalx_democon_json() {
    let Some(p) = round_trip("pretalx-democon.json", 36, Some(2)) else {
        return;
    };
    assert_eq!(p.conference.time_zone, Some(Tz::UTC));
    assert_eq!(p.rooms[0].name, "Gray Room");
    assert_eq!(p.rooms[1].name, "Tan Room");
    let e = &p.events[0];
    assert_eq!(
        e.start,
        Utc.with_ymd_and_hms(2020, 12, 14, 8, 0, 0).unwrap()
    );
    // pretalx persons have both id and code: the numeric id wins
    assert_eq!(e.persons[0].external_key.as_deref(), Some("frab:26"));
}

#[test]
fn hub_schedule_v2_json() {
    let Some(data) = shared_data() else {
        return;
    };
    let bytes = std::fs::read(data.join("schedules/hub-schedule2.json")).unwrap();
    assert_eq!(detect_format(&bytes).unwrap(), ScheduleFormat::C3vocJsonV2);
    let Some(p) = round_trip("hub-schedule2.json", 2, Some(5)) else {
        return;
    };
    assert_eq!(p.conference.acronym, "38c3");
    assert_eq!(p.conference.day_change.to_string(), "06:00:00");
    let saal1 = &p.rooms[0];
    assert_eq!(saal1.name, "Saal 1");
    assert_eq!(saal1.capacity, Some(3025));
    assert_eq!(
        saal1.guid.as_deref(),
        Some("ba692ba3-421b-5371-8309-60acc34a3c05")
    );
    let e = &p.events[0];
    assert_eq!(e.end - e.start, Duration::minutes(30));
    assert_eq!(e.room.as_deref(), Some("Saal 1"));
    assert_eq!(
        e.persons[0].external_key.as_deref(),
        Some("guid:0c16ffaa-709d-599f-959f-9a38b911361a")
    );
    assert!(e.persons.iter().all(|x| x.role == PersonRole::Speaker));
    // the event after midnight belongs to the first programme day (day change 06:00)
    let json = export_c3voc_json(&p, chrono_tz::Europe::Berlin);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let day0 = &v["schedule"]["conference"]["days"][0];
    assert_eq!(day0["date"], "2024-12-27");
    assert_eq!(day0["rooms"]["Saal ZIGZAG"][0]["title"], e_title(&p, 1));
}

fn e_title(p: &Programme, i: usize) -> serde_json::Value {
    serde_json::Value::from(p.events[i].title.clone())
}

#[test]
fn invalid_example_is_refused_at_the_string_id() {
    let Some(data) = shared_data() else {
        return;
    };
    let bytes = std::fs::read(data.join("schedules/invalid-example.json")).unwrap();
    let e = parse(&bytes).expect_err("invalid-example.json must be refused");
    assert_eq!(
        e.location,
        "schedule.conference.days[0].rooms.Winterchaos[0].id"
    );
    assert!(e.message.contains("expected an integer"), "{e}");
}

#[test]
fn string_person_id_is_refused() {
    let j = br#"{"schedule":{"version":"1","conference":{"acronym":"abcd","title":"t",
        "days":[{"date":"2022-12-28","rooms":{"R":[{"id":7,"guid":"g","title":"x",
        "date":"2022-12-28T14:00:00+01:00","duration":"00:45","room":"R",
        "persons":[{"id":"dsadf","public_name":"M"}]}]}}]}}}"#;
    let e = parse(j).unwrap_err();
    assert_eq!(
        e.location,
        "schedule.conference.days[0].rooms.R[0].persons[0].id"
    );
}

#[test]
fn json_syntax_error_has_line() {
    let e = parse(b"{\n  \"schedule\": {\n    \"version\": \"1\",,\n}").unwrap_err();
    assert!(e.location.starts_with("line 3, column"), "{e}");
    let e = parse_c3voc_json(b"{\"schedule\": ").unwrap_err();
    assert!(e.location.starts_with("line 1"), "{e}");
}

fn xml_with_event(event_body: &str, second: &str) -> String {
    format!(
        "<?xml version='1.0'?>\n<schedule>\n<version>1</version>\n<conference>\
         <acronym>abcd</acronym><title>T</title></conference>\n\
         <day date='2020-01-01' start='2020-01-01T10:00:00+01:00' end='2020-01-02T04:00:00+01:00' index='1'>\n\
         <room name='R'>\n<event guid='g1' id='1'>{event_body}</event>\n{second}</room>\n</day>\n</schedule>\n"
    )
}

#[test]
fn malformed_xml_has_line() {
    let e = parse(b"<schedule>\n<conference>\n</schedule>").unwrap_err();
    assert!(e.location.starts_with("line 3"), "{e}");
}

#[test]
fn xml_event_without_start_is_located() {
    let xml = xml_with_event(
        "<title>x</title><duration>00:30</duration><room>R</room>",
        "",
    );
    let e = parse_frab_xml(&xml).unwrap_err();
    assert_eq!(e.location, "line 7, column 1", "{e}");
    assert!(e.message.contains("<date>"), "{e}");
    // <start> alone is placed with the day's offset; before the day change → next date
    let xml = xml_with_event(
        "<title>x</title><start>01:30</start><duration>00:30</duration>",
        "",
    );
    let p = parse_frab_xml(&xml).unwrap();
    assert_eq!(
        p.events[0].start,
        Utc.with_ymd_and_hms(2020, 1, 2, 0, 30, 0).unwrap()
    );
    // bad id
    let xml = xml_with_event("", "").replace("id='1'", "id='x1'");
    let e = parse_frab_xml(&xml).unwrap_err();
    assert_eq!(e.location, "line 7, column 1");
    assert!(e.message.contains("integer"));
}

#[test]
fn duplicate_guids_are_refused() {
    let body = "<date>2020-01-01T11:00:00+01:00</date><title>x</title><duration>00:30</duration>";
    let xml = xml_with_event(body, &format!("<event guid='g1' id='2'>{body}</event>\n"));
    let e = parse_frab_xml(&xml).unwrap_err();
    assert_eq!(e.location, "line 8, column 1", "{e}");
    assert!(e.message.contains("duplicate guid"));

    let ev = r#"{"id":1,"guid":"same","title":"x","date":"2022-12-28T14:00:00+01:00","duration":"00:45","room":"R"}"#;
    let j = format!(
        r#"{{"schedule":{{"version":"1","conference":{{"acronym":"abcd","title":"t",
        "days":[{{"date":"2022-12-28","rooms":{{"R":[{ev},{ev}]}}}}]}}}}}}"#
    );
    let e = parse(j.as_bytes()).unwrap_err();
    assert_eq!(e.location, "schedule.conference.days[0].rooms.R[1].guid");

    let v2 = r#"{"schedule":{"version":"x","conference":{"acronym":"abcd","title":"t"},
        "events":[{"guid":"a","title":"x","start":"2022-12-28T14:00:00+01:00","end":"2022-12-28T15:00:00+01:00","room":"R"},
                  {"guid":"a","title":"y","start":"2022-12-28T14:00:00+01:00","end":"2022-12-28T15:00:00+01:00","room":"R"}]}}"#;
    let e = parse(v2.as_bytes()).unwrap_err();
    assert_eq!(e.location, "schedule.events[1].guid");
}

fn one_event_programme(start: DateTime<Utc>, end: DateTime<Utc>, tz: Tz) -> Programme {
    Programme {
        conference: Conference {
            acronym: "DST Test".into(),
            title: "DST".into(),
            time_zone: Some(tz),
            start: start.with_timezone(&tz).date_naive(),
            end: start.with_timezone(&tz).date_naive(),
            day_change: chrono::NaiveTime::MIN,
            timeslot_minutes: 5,
            base_url: None,
            version: None,
            utc_offset_seconds: None,
        },
        rooms: vec![RoomSpec {
            name: "Hall".into(),
            guid: None,
            capacity: Some(10),
            description: None,
        }],
        events: vec![EventSpec {
            guid: "dst-event".into(),
            frab_id: None,
            title: "Across the change".into(),
            subtitle: String::new(),
            abstract_text: "A; B, C\nD".into(),
            description: String::new(),
            track: None,
            event_type: "talk".into(),
            language: None,
            start,
            end,
            room: Some("Hall".into()),
            slug: None,
            url: None,
            persons: vec![PersonSpec {
                name: "Ana".into(),
                external_key: Some("code:ABC123".into()),
                role: PersonRole::Speaker,
            }],
        }],
        warnings: vec![],
    }
}

#[test]
fn dst_fall_back_event_keeps_instants_and_duration() {
    let tz = chrono_tz::Europe::Berlin;
    let start = DateTime::parse_from_rfc3339("2019-10-27T01:30:00+02:00")
        .unwrap()
        .with_timezone(&Utc);
    let end = DateTime::parse_from_rfc3339("2019-10-27T03:30:00+01:00")
        .unwrap()
        .with_timezone(&Utc);
    assert_eq!(end - start, Duration::hours(3));
    let p = one_event_programme(start, end, tz);

    let json = export_c3voc_json(&p, tz);
    assert!(json.contains("\"duration\": \"03:00\""), "{json}");
    assert!(json.contains("2019-10-27T01:30:00+02:00"));
    if let Some(data) = shared_data() {
        validate_json_v1(&data, &json);
    }
    let back = parse(json.as_bytes()).unwrap();
    assert_eq!(back.events[0].start, start);
    assert_eq!(back.events[0].end, end);
    assert_eq!(
        back.events[0].persons[0].external_key.as_deref(),
        Some("code:ABC123")
    );
    assert_eq!(
        back.events[0].url, None,
        "urn:uuid placeholder dropped on import"
    );

    let xml = export_frab_xml(&p, tz);
    if let Some(data) = shared_data() {
        validate_xml(&data, &xml, "dst");
    }
    let back = parse(xml.as_bytes()).unwrap();
    assert_eq!(back.events[0].start, start);
    assert_eq!(back.events[0].end, end);

    let ics = export_ical(&p, tz, &ical_opts());
    assert!(
        ics.contains("DTSTART;TZID=Europe/Berlin:20191027T013000\r\n"),
        "{ics}"
    );
    assert!(ics.contains("DTEND;TZID=Europe/Berlin:20191027T033000\r\n"));
    assert!(ics.contains("DESCRIPTION:A\\; B\\, C\\nD\r\n"), "{ics}");
    assert!(ics.contains("BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n"));
    assert!(ics.contains("METHOD:PUBLISH\r\n"));
    assert!(ics.contains("SEQUENCE:0\r\n"));
}

#[test]
fn ical_ambiguous_local_time_uses_utc_and_sequences_apply() {
    let tz = chrono_tz::Europe::Berlin;
    // 02:30 happens twice on 2019-10-27; the second (CET) one cannot be a TZID time.
    let start = DateTime::parse_from_rfc3339("2019-10-27T02:30:00+01:00")
        .unwrap()
        .with_timezone(&Utc);
    let p = one_event_programme(start, start + Duration::minutes(30), tz);
    let mut opts = ical_opts();
    opts.sequences = Some(vec![7]);
    opts.method = None;
    let ics = export_ical(&p, tz, &opts);
    assert!(ics.contains("DTSTART:20191027T013000Z\r\n"), "{ics}");
    assert!(ics.contains("SEQUENCE:7\r\n"));
    assert!(!ics.contains("METHOD"));
    check_ical(&p, tz);
}

#[test]
fn utc_programme_gets_single_observance() {
    let start = Utc.with_ymd_and_hms(2021, 5, 1, 10, 0, 0).unwrap();
    let p = one_event_programme(start, start + Duration::hours(1), Tz::UTC);
    let ics = export_ical(&p, Tz::UTC, &ical_opts());
    assert_eq!(ics.matches("BEGIN:STANDARD").count(), 1, "{ics}");
    assert!(!ics.contains("BEGIN:DAYLIGHT"));
    check_ical(&p, Tz::UTC);
}

/// The first event of every room of every day of a c3voc JSON v1 file.
fn v1_events_mut(v: &mut serde_json::Value) -> Vec<&mut serde_json::Value> {
    let days = v["schedule"]["conference"]["days"].as_array_mut().unwrap();
    let mut out = vec![];
    for d in days {
        for (_, evs) in d["rooms"].as_object_mut().unwrap() {
            out.extend(evs.as_array_mut().unwrap().iter_mut());
        }
    }
    out
}

/// Durations of a day or more are read as the producers write them (`D:HH:MM`; ISO 8601
/// in v2) and written so that every export validates (issue 11: `1:02:30` was read as
/// 62 minutes, and `<duration>120:00</duration>` failed the XSD).
#[test]
fn durations_of_a_day_or_more_read_and_write_as_producers_do() {
    let Some(data) = shared_data() else {
        return;
    };
    let day_2h30 = Duration::minutes(24 * 60 + 150);

    // pretalx JSON v1 (the real democon file), one event made to last 1:02:30.
    let mut v: serde_json::Value = serde_json::from_slice(
        &std::fs::read(data.join("schedules/pretalx-democon.json")).unwrap(),
    )
    .unwrap();
    let guid = {
        let mut evs = v1_events_mut(&mut v);
        evs[0]["duration"] = "1:02:30".into();
        evs[0]["guid"].as_str().unwrap().to_owned()
    };
    let p = parse(v.to_string().as_bytes()).expect("D:HH:MM is accepted");
    let e = p.events.iter().find(|e| e.guid == guid).unwrap();
    assert_eq!(
        e.end - e.start,
        day_2h30,
        "1:02:30 is a day, 2 h and 30 min"
    );

    // frab XML (the real 31C3 file), the same.
    let xml = std::fs::read_to_string(data.join("schedules/31c3-schedule.xml")).unwrap();
    let xml = xml.replacen(
        "<duration>01:00</duration>",
        "<duration>1:02:30</duration>",
        1,
    );
    let p = parse(xml.as_bytes()).expect("D:HH:MM in XML");
    assert!(
        p.events.iter().any(|e| e.end - e.start == day_2h30),
        "the 31C3 event of 1:02:30 lasts a day, 2 h and 30 min"
    );

    // hub JSON v2: ISO 8601 duration when `end` is absent.
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join("schedules/hub-schedule2.json")).unwrap())
            .unwrap();
    let ev = &mut v["schedule"]["events"][0];
    ev.as_object_mut().unwrap().remove("end");
    ev["duration"] = "P1DT2H30M".into();
    let guid = ev["guid"].as_str().unwrap().to_owned();
    let p = parse(v.to_string().as_bytes()).expect("ISO 8601 duration in v2");
    let e = p.events.iter().find(|e| e.guid == guid).unwrap();
    assert_eq!(e.end - e.start, day_2h30);

    // Every length the exporters can meet validates, and reads back the same.
    let start = Utc.with_ymd_and_hms(2030, 6, 1, 8, 0, 0).unwrap();
    for (len, xml_form, json_form) in [
        (Duration::minutes(45), "00:45", "00:45"),
        (Duration::hours(24), "1:00:00", "24:00"),
        (Duration::hours(120), "5:00:00", "120:00"),
        (
            Duration::minutes(7 * 1440 + 23 * 60 + 59),
            "7:23:59",
            "191:59",
        ),
        (
            Duration::minutes(99 * 1440 + 23 * 60 + 59),
            "99:23:59",
            "2399:59",
        ),
    ] {
        let p = one_event_programme(start, start + len, Tz::UTC);
        let xml = export_frab_xml(&p, Tz::UTC);
        assert!(
            xml.contains(&format!("<duration>{xml_form}</duration>")),
            "{len}: {xml}"
        );
        validate_xml(&data, &xml, "long");
        let back = parse(xml.as_bytes()).unwrap();
        assert_eq!(
            back.events[0].end - back.events[0].start,
            len,
            "xml {xml_form}"
        );
        let json = export_c3voc_json(&p, Tz::UTC);
        assert!(
            json.contains(&format!("\"duration\": \"{json_form}\"")),
            "{len}: {json}"
        );
        validate_json_v1(&data, &json);
        let back = parse(json.as_bytes()).unwrap();
        assert_eq!(
            back.events[0].end - back.events[0].start,
            len,
            "json {json_form}"
        );
    }

    // Longer than the XSD can write: refused at import, at the event's duration.
    let p = one_event_programme(start, start + Duration::days(100), Tz::UTC);
    let json = export_c3voc_json(&p, Tz::UTC);
    let e = parse(json.as_bytes()).unwrap_err();
    assert!(e.location.ends_with(".duration"), "{e}");
}
