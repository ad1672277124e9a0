//! The notification worker, black-box: the real binary, a real SMTP server on loopback
//! (`common/smtp.rs`), the real database (SQLite, or PostgreSQL with
//! `CONVENE_TEST_DATABASE_URL`). Rows are written by the API (a session moved or
//! cancelled notifies its speakers) or, for volume, cloned from such a row in SQL.

mod common;
#[path = "common/outbox.rs"]
mod outbox;
#[path = "common/relay.rs"]
mod relay;
#[path = "common/smtp.rs"]
mod smtp;

use std::collections::{HashMap, HashSet};
use std::process::Child;
use std::time::{Duration, Instant};

use mail_parser::MimeHeaders;
use serde_json::{json, Value};
use smtp::{Mode, Options, SmtpSink};

const HOST: &str = "forum.test";

fn smtp_env(port: u16) -> Vec<(&'static str, String)> {
    vec![
        ("CONVENE_MAIL__TRANSPORT", "smtp".into()),
        ("CONVENE_MAIL__FROM", "Forum <forum@forum.test>".into()),
        ("CONVENE_MAIL__SMTP__HOST", "127.0.0.1".into()),
        ("CONVENE_MAIL__SMTP__PORT", port.to_string()),
        ("CONVENE_MAIL__SMTP__SECURITY", "none".into()),
        ("CONVENE_MAIL__SMTP__TIMEOUT_SECS", "5".into()),
        ("CONVENE_HTTP__PUBLIC_BASE_URL", format!("http://{HOST}")),
        ("CONVENE_WORKER__POLL_INTERVAL_MS", "200".into()),
        ("CONVENE_WORKER__RETRY_BASE_SECS", "1".into()),
        ("CONVENE_WORKER__RETRY_MAX_SECS", "2".into()),
        ("CONVENE_WORKER__MAX_ATTEMPTS", "30".into()),
        ("CONVENE_WORKER__LEASE_SECS", "4".into()),
        (
            "CONVENE_LOG",
            "info,convene_notifier=debug,sqlx=warn,sea_orm=warn".into(),
        ),
    ]
}

async fn start(args: &[&str], port: u16, extra: &[(&str, &str)]) -> common::Server {
    let env = smtp_env(port);
    let mut all: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    all.extend_from_slice(extra);
    common::Server::start_with(args, &all).await
}

struct Forum {
    token: String,
    session: String,
}

/// A forum `nf` (Europe/Istanbul) with rooms A and B and one session in A on
/// 2030-11-26 09:00–10:00 local, in `language`, with the given speakers (name, e-mail).
async fn programme(s: &common::Server, speakers: &[(&str, Option<&str>)], language: &str) -> Forum {
    let token = s.organizer_token("org@example.org");
    let post = |path: &str, body: Value| {
        s.client
            .post(s.url(path))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let r = post(
        "/api/v1/forums",
        json!({"slug": "nf", "title": "Forum on Local Solutions", "city": "Gaziantep",
               "country": "TR", "time_zone": "Europe/Istanbul",
               "first_day": "2030-11-26", "last_day": "2030-11-27"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let mut rooms = vec![];
    for name in ["Hall A", "Hall B"] {
        let r: Value = post("/api/v1/forums/nf/rooms", json!({"name": name}))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        rooms.push(r["id"].as_str().unwrap().to_string());
    }
    let mut people = vec![];
    for (name, email) in speakers {
        let r = post(
            "/api/v1/forums/nf/speakers",
            json!({"name": name, "email": email}),
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 201);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["email"].as_str(), *email, "organizers see the e-mail");
        people.push(json!({"speaker_id": v["id"]}));
    }
    let r = post(
        "/api/v1/forums/nf/sessions",
        json!({"kind": "panel", "title": "Cities of Refuge", "room_id": rooms[0],
               "language": language, "speakers": people,
               "starts_at": "2030-11-26T09:00:00+03:00", "ends_at": "2030-11-26T10:00:00+03:00"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let v: Value = r.json().await.unwrap();
    Forum {
        token,
        session: v["id"].as_str().unwrap().to_string(),
    }
}

/// [`programme`] with one speaker `A <a@example.org>`, whose session is then moved to
/// 11:00–12:00 local: one `session.changed` notice to A, in `language`.
async fn moved_programme(s: &common::Server, language: &str) -> Forum {
    let f = programme(s, &[("A", Some("a@example.org"))], language).await;
    move_session(
        s,
        &f,
        "2030-11-26T11:00:00+03:00",
        "2030-11-26T12:00:00+03:00",
    )
    .await;
    f
}

async fn move_session(s: &common::Server, f: &Forum, start: &str, end: &str) {
    let r = s
        .client
        .patch(s.url(&format!("/api/v1/forums/nf/sessions/{}", f.session)))
        .bearer_auth(&f.token)
        .json(&json!({"starts_at": start, "ends_at": end}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

async fn list(s: &common::Server, f: &Forum, query: &str) -> Vec<Value> {
    let r = s
        .client
        .get(s.url(&format!("/api/v1/forums/nf/notifications{query}")))
        .bearer_auth(&f.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    v["items"].as_array().unwrap().clone()
}

fn ics_of(msg: &mail_parser::Message<'_>) -> String {
    let part = msg
        .attachments()
        .find(|a| a.attachment_name() == Some("invite.ics"))
        .expect("an invite.ics attachment");
    String::from_utf8(part.contents().to_vec()).unwrap()
}

#[tokio::test]
async fn speakers_get_change_and_cancel_notices_over_smtp() {
    let sink = SmtpSink::start(Options::default());
    let s = start(&["serve"], sink.port, &[]).await;
    let f = programme(
        &s,
        &[("Ayşe Yılmaz", Some("ayse@example.org")), ("No Mail", None)],
        "tr",
    )
    .await;
    // The public does not see speakers' e-mails.
    let v: Value = s
        .client
        .get(s.url("/api/v1/forums/nf/speakers"))
        .bearer_auth(&f.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(v["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["email"] == "ayse@example.org"));

    move_session(
        &s,
        &f,
        "2030-11-26T11:00:00+03:00",
        "2030-11-26T12:00:00+03:00",
    )
    .await;
    common::wait_until("the change notice", Duration::from_secs(20), || async {
        sink.accepted() >= 1
    })
    .await;
    let sent = list(&s, &f, "?status=sent").await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let got = sink.received();
    assert_eq!(got.len(), 1);
    assert!(
        got[0].to.iter().any(|t| t.contains("ayse@example.org")),
        "{:?}",
        got[0].to
    );
    let msg = mail_parser::MessageParser::default()
        .parse(&got[0].data)
        .unwrap();
    assert_eq!(
        msg.message_id(),
        Some(format!("{}@{HOST}", sent[0]["id"].as_str().unwrap()).as_str())
    );
    let subject = msg.subject().unwrap();
    assert!(
        subject.contains("Cities of Refuge") && subject.contains("değişti"),
        "{subject}"
    );
    let text = msg.body_text(0).unwrap();
    assert!(text.contains("Sayın Ayşe Yılmaz"), "{text}");
    assert!(text.contains("11:00–12:00 (Europe/Istanbul)"), "{text}");
    assert!(text.contains("09:00–10:00"), "the previous time: {text}");
    assert!(text.contains("Hall A"), "{text}");
    let html = msg.body_html(0).unwrap();
    assert!(
        html.contains("lang=\"tr\"") && html.contains("Ayşe Yılmaz"),
        "{html}"
    );
    let ics = ics_of(&msg);
    assert!(ics.contains("METHOD:REQUEST"), "{ics}");
    assert!(ics.contains("SEQUENCE:1"), "{ics}");
    assert!(
        ics.contains("DTSTART;TZID=Europe/Istanbul:20301126T110000"),
        "{ics}"
    );
    assert!(
        ics.contains(&format!("@{HOST}")) && ics.contains("BEGIN:VTIMEZONE"),
        "{ics}"
    );
    let parsed: icalendar::Calendar = ics.parse().expect("a parseable .ics");
    assert_eq!(parsed.components.len(), 2, "VTIMEZONE + VEVENT");

    let r = s
        .client
        .post(s.url(&format!("/api/v1/forums/nf/sessions/{}/cancel", f.session)))
        .bearer_auth(&f.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    common::wait_until(
        "the cancellation notice",
        Duration::from_secs(20),
        || async { sink.accepted() >= 2 },
    )
    .await;
    let got = sink.received();
    let msg = mail_parser::MessageParser::default()
        .parse(&got[1].data)
        .unwrap();
    assert!(
        msg.subject().unwrap().contains("iptal"),
        "{:?}",
        msg.subject()
    );
    let ics = ics_of(&msg);
    assert!(
        ics.contains("METHOD:CANCEL")
            && ics.contains("STATUS:CANCELLED")
            && ics.contains("SEQUENCE:2"),
        "{ics}"
    );
    assert!(list(&s, &f, "").await.is_empty(), "nothing pending or dead");
    assert_eq!(list(&s, &f, "?status=sent").await.len(), 2);
}

#[tokio::test]
async fn smtp_down_then_4xx_then_up_delivers_everything_once() {
    let port = smtp::free_port();
    let s = start(&["serve"], port, &[]).await;
    let f = programme(
        &s,
        &[
            ("A", Some("a@example.org")),
            ("B", Some("b@example.org")),
            ("C", Some("c@example.org")),
        ],
        "en",
    )
    .await;
    move_session(
        &s,
        &f,
        "2030-11-26T11:00:00+03:00",
        "2030-11-26T12:00:00+03:00",
    )
    .await;
    // Nobody listens: connection refused, retried with backoff.
    common::wait_until(
        "failed attempts while SMTP is down",
        Duration::from_secs(20),
        || async {
            let l = list(&s, &f, "").await;
            l.len() == 3
                && l.iter()
                    .all(|n| n["attempts"].as_i64() >= Some(1) && n["last_error"].is_string())
        },
    )
    .await;
    // The server comes up but answers 451.
    let sink = SmtpSink::start_on(
        port,
        Options {
            mode: Mode::TempFail,
            ..Default::default()
        },
    );
    common::wait_until("451 answers recorded", Duration::from_secs(20), || async {
        sink.rejected() >= 3
            && list(&s, &f, "")
                .await
                .iter()
                .all(|n| n["last_error"].as_str().is_some_and(|e| e.contains("451")))
    })
    .await;
    assert_eq!(sink.accepted(), 0);
    assert_eq!(
        list(&s, &f, "?status=dead").await.len(),
        0,
        "4xx is not permanent"
    );
    sink.set_mode(Mode::Accept);
    common::wait_until("all delivered", Duration::from_secs(30), || async {
        list(&s, &f, "?status=sent").await.len() == 3
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let ids: Vec<String> = sink
        .received()
        .iter()
        .map(|r| r.message_id.clone())
        .collect();
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(ids.len(), 3, "{ids:?}");
    assert_eq!(unique.len(), 3);
}

#[tokio::test]
async fn permanent_failure_is_dead_and_an_organizer_retry_delivers_it() {
    let sink = SmtpSink::start(Options {
        mode: Mode::PermFail,
        ..Default::default()
    });
    let s = start(&["serve"], sink.port, &[]).await;
    let f = moved_programme(&s, "fr").await;
    common::wait_until("a dead row", Duration::from_secs(20), || async {
        list(&s, &f, "?status=dead").await.len() == 1
    })
    .await;
    let dead = list(&s, &f, "?status=dead").await.remove(0);
    assert_eq!(dead["attempts"], 1, "5xx is not retried: {dead}");
    assert!(
        dead["last_error"].as_str().unwrap().contains("550"),
        "{dead}"
    );
    assert!(
        list(&s, &f, "").await.iter().any(|n| n["id"] == dead["id"]),
        "listed by default"
    );
    let id = dead["id"].as_str().unwrap();
    let retry_url = s.url(&format!("/api/v1/forums/nf/notifications/{id}/retry"));

    // Only the forum's organizers see or retry it.
    let other = s.organizer_token("other@example.org");
    let r = s
        .client
        .post(&retry_url)
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "a draft forum is invisible to others");
    let r = s.client.post(&retry_url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = s
        .client
        .get(s.url("/api/v1/forums/nf/notifications?status=nope"))
        .bearer_auth(&f.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);

    sink.set_mode(Mode::Accept);
    let r = s
        .client
        .post(&retry_url)
        .bearer_auth(&f.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "pending");
    assert_eq!(v["attempts"], 0);
    common::wait_until(
        "delivered after the retry",
        Duration::from_secs(20),
        || async { sink.accepted() == 1 },
    )
    .await;
    let got = sink.received();
    let msg = mail_parser::MessageParser::default()
        .parse(&got[0].data)
        .unwrap();
    assert_eq!(msg.message_id(), Some(format!("{id}@{HOST}").as_str()));
    assert!(
        msg.subject().unwrap().contains("a changé"),
        "{:?}",
        msg.subject()
    );
    common::wait_until("marked sent", Duration::from_secs(10), || async {
        list(&s, &f, "?status=sent").await.len() == 1
    })
    .await;
    let r = s
        .client
        .post(&retry_url)
        .bearer_auth(&f.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409, "a sent row cannot be retried");
    let p: Value = r.json().await.unwrap();
    assert_eq!(
        p["type"].as_str().unwrap().rsplit('/').next(),
        Some("invalid-state")
    );
}

/// `n` rows for the volume tests: one written by the API, the rest cloned from it.
async fn rows(s: &common::Server, f: &Forum, n: i64) -> outbox::Outbox {
    move_session(
        s,
        f,
        "2030-11-26T11:00:00+03:00",
        "2030-11-26T12:00:00+03:00",
    )
    .await;
    let one = list(s, f, "").await;
    assert_eq!(one.len(), 1);
    let db = outbox::Outbox::connect(&s.db.url).await;
    db.clone_row(one[0]["dedupe_key"].as_str().unwrap(), n - 1)
        .await;
    assert_eq!(db.count("status = 'pending'").await, n);
    db
}

fn message_ids(sink: &SmtpSink) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for r in sink.received() {
        let id = r
            .message_id
            .trim_matches(['<', '>'])
            .split('@')
            .next()
            .unwrap_or("")
            .to_string();
        *m.entry(id).or_insert(0) += 1;
    }
    m
}

#[tokio::test]
async fn a_worker_killed_mid_batch_loses_nothing_and_repeats_only_rows_in_flight() {
    let sink = SmtpSink::start(Options {
        store_bodies: false,
        delay: Duration::from_millis(30),
        ..Default::default()
    });
    let s = start(&["serve", "--no-worker"], sink.port, &[]).await;
    let f = programme(&s, &[("A", Some("a@example.org"))], "en").await;
    let n = 300;
    let db = rows(&s, &f, n).await;
    let worker_env = [
        ("CONVENE_WORKER__BATCH_SIZE", "40"),
        ("CONVENE_WORKER__CONCURRENCY", "8"),
    ];
    // SIGKILL lands at a random instant. The rare one between two batches (every claimed
    // row already marked, the next claim not made yet) leaves nothing in flight to test,
    // so then a new worker is started and killed again, further on.
    let mut in_flight: HashSet<String> = HashSet::new();
    for round in 1..=5 {
        let target = sink.accepted() + 40;
        let mut w = s.spawn_cli(&format!("worker{round}"), &["worker"], &worker_env);
        common::wait_until("the worker is mid-way", Duration::from_secs(60), || async {
            sink.accepted() >= target
        })
        .await;
        w.kill().expect("SIGKILL"); // std's kill() is SIGKILL on Unix
        let _ = w.wait();
        in_flight = db
            .ids_where("status = 'pending' AND lease_owner IS NOT NULL")
            .await
            .into_iter()
            .collect();
        if !in_flight.is_empty() {
            break;
        }
    }
    let sent_before = sink.accepted();
    assert!(
        !in_flight.is_empty(),
        "five kills all fell between batches: no leased rows"
    );
    assert!((sent_before as i64) < n, "killed before the end");
    let mut w2 = s.spawn_cli("worker-restart", &["worker"], &worker_env);
    common::wait_until(
        "everything sent after the restart",
        Duration::from_secs(90),
        || async { db.count("status <> 'sent'").await == 0 },
    )
    .await;
    let _ = w2.kill();
    let _ = w2.wait();
    let seen = message_ids(&sink);
    let all: Vec<String> = db.ids_where("1 = 1").await;
    assert_eq!(all.len() as i64, n);
    for id in &all {
        assert!(seen.contains_key(id), "row {id} was never delivered");
    }
    let dups: Vec<&String> = seen
        .iter()
        .filter(|(_, c)| **c > 1)
        .map(|(id, _)| id)
        .collect();
    for d in &dups {
        assert!(
            in_flight.contains(*d),
            "row {d} was sent twice but was not in flight at the kill"
        );
    }
    eprintln!(
        "SIGKILL test: {} rows, {} in flight at the kill, {} sent twice",
        n,
        in_flight.len(),
        dups.len()
    );
}

async fn exactly_once_with(workers: usize, n: i64) {
    let sink = SmtpSink::start(Options {
        store_bodies: false,
        ..Default::default()
    });
    let s = start(&["serve", "--no-worker"], sink.port, &[]).await;
    let f = programme(&s, &[("A", Some("a@example.org"))], "en").await;
    let db = rows(&s, &f, n).await;
    let env = [
        ("CONVENE_WORKER__BATCH_SIZE", "25"),
        ("CONVENE_LOG", "warn"),
    ];
    let mut ws: Vec<_> = (0..workers)
        .map(|i| s.spawn_cli(&format!("worker{i}"), &["worker"], &env))
        .collect();
    common::wait_until("all sent", Duration::from_secs(120), || async {
        db.count("status = 'sent'").await == n
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    for w in ws.iter_mut() {
        let _ = w.kill();
        let _ = w.wait();
    }
    let seen = message_ids(&sink);
    assert_eq!(
        sink.accepted() as i64,
        n,
        "{workers} workers: every row exactly once"
    );
    assert_eq!(seen.len() as i64, n);
    assert!(seen.values().all(|c| *c == 1));
}

/// Two and four worker processes share the outbox; each row goes out exactly once.
/// 2,000 rows on PostgreSQL (the scale-out database); 400 on SQLite.
#[tokio::test]
async fn several_workers_deliver_each_row_exactly_once() {
    let n = if common::backend_name() == "postgres" {
        2000
    } else {
        400
    };
    exactly_once_with(2, n).await;
    exactly_once_with(4, n).await;
}

/// The embedded default: `convene serve` writes each message as `<id>.eml` into the mail
/// folder, with the same Message-ID a relay would get; SIGTERM stops it cleanly.
/// A name with a line break (written before names were checked, or behind the API's back)
/// is delivered with the break turned into a space — one `To:` line, no injected header —
/// instead of stopping the worker on that row.
#[tokio::test]
async fn a_line_break_in_a_stored_name_is_delivered_as_one_line() {
    let sink = SmtpSink::start(Options::default());
    let s = start(&["serve", "--no-worker"], sink.port, &[]).await;
    let f = moved_programme(&s, "en").await;
    let ob = outbox::Outbox::connect(&s.db.url).await;
    assert_eq!(
        ob.set_recipient_name("Eve\r\nBcc: victim@example.org")
            .await,
        1
    );
    let env = smtp_env(sink.port);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut w = s.spawn_cli("worker", &["worker"], &env);
    common::wait_until("marked sent", Duration::from_secs(20), || async {
        list(&s, &f, "?status=sent").await.len() == 1
    })
    .await;
    let _ = w.kill();
    let _ = w.wait();
    let got = sink.received();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].to,
        ["a@example.org"],
        "the envelope has the one recipient"
    );
    let msg = mail_parser::MessageParser::default()
        .parse(&got[0].data)
        .unwrap();
    assert!(msg.bcc().is_none());
    let to = msg.to().unwrap().first().unwrap();
    assert_eq!(to.name(), Some("Eve  Bcc: victim@example.org"));
}

#[tokio::test]
async fn embedded_worker_writes_eml_files_by_default() {
    let s = common::Server::start_with(
        &["serve"],
        &[
            ("CONVENE_HTTP__PUBLIC_BASE_URL", "http://forum.test"),
            ("CONVENE_WORKER__POLL_INTERVAL_MS", "5000"),
        ],
    )
    .await;
    let f = moved_programme(&s, "es").await;
    // Woken by the in-process signal, well before the 5 s poll.
    let t0 = Instant::now();
    common::wait_until("an .eml file", Duration::from_secs(4), || async {
        std::fs::read_dir(s.mail_dir())
            .map(|d| {
                d.flatten()
                    .any(|e| e.path().extension().is_some_and(|x| x == "eml"))
            })
            .unwrap_or(false)
    })
    .await;
    assert!(t0.elapsed() < Duration::from_secs(4));
    common::wait_until("marked sent", Duration::from_secs(10), || async {
        list(&s, &f, "?status=sent").await.len() == 1
    })
    .await;
    let sent = list(&s, &f, "?status=sent").await;
    let id = sent[0]["id"].as_str().unwrap();
    let raw = std::fs::read(s.mail_dir().join(format!("{id}.eml"))).expect("<id>.eml");
    let msg = mail_parser::MessageParser::default().parse(&raw).unwrap();
    assert_eq!(msg.message_id(), Some(format!("{id}@{HOST}").as_str()));
    assert!(
        msg.subject().unwrap().contains("ha cambiado"),
        "{:?}",
        msg.subject()
    );
    assert!(ics_of(&msg).contains("METHOD:REQUEST"));
}

/// Each Message-ID (row id) seen by the relay, with its count.
fn relay_ids(relay: &relay::Relay) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for id in relay.message_ids() {
        let row = id.split('@').next().unwrap_or("").to_string();
        *m.entry(row).or_insert(0) += 1;
    }
    m
}

/// The relay keeps pooled connections open between messages; it then closes them all
/// (a relay restart, or its idle timeout) while the worker's pool still holds them. The
/// rows enqueued afterwards are all delivered, once each, none dead; the worker opened
/// new connections. Done twice, the second time with the relay cutting again while the
/// pool is refilling.
#[tokio::test]
async fn pooled_connections_closed_by_the_server_lose_nothing() {
    let relay = relay::Relay::start();
    let s = start(&["serve", "--no-worker"], relay.port, &[]).await;
    let f = programme(&s, &[("A", Some("a@example.org"))], "en").await;
    let db = rows(&s, &f, 10).await;
    let key = db.keys_where("1 = 1").await.remove(0);
    let mut w = s.spawn_cli(
        "worker",
        &["worker"],
        &[("CONVENE_WORKER__CONCURRENCY", "4")],
    );
    common::wait_until("the first 10 sent", Duration::from_secs(30), || async {
        db.count("status = 'sent'").await == 10
    })
    .await;
    assert!(relay.open() >= 1, "the pool keeps its connections open");
    for round in 1..=2 {
        let before = relay.connections();
        relay.cut();
        common::wait_until(
            "the relay closed its connections",
            Duration::from_secs(5),
            || async { relay.open() == 0 },
        )
        .await;
        db.clone_row_as(&key, &format!("r{round}"), 20).await;
        if round == 2 {
            // Cut again while the first of these are being sent over new connections.
            common::wait_until("a new connection", Duration::from_secs(10), || async {
                relay.connections() > before
            })
            .await;
            relay.cut();
        }
        let want = 10 + 20 * round;
        common::wait_until("every row sent", Duration::from_secs(30), || async {
            db.count("status = 'sent'").await == want
        })
        .await;
        assert!(relay.connections() > before, "new connections were opened");
        eprintln!(
            "round {round}: {} rows retried so far",
            db.count("attempts > 1").await
        );
    }
    let _ = w.kill();
    let _ = w.wait();
    assert_eq!(
        db.count("status <> 'sent'").await,
        0,
        "none dead or pending"
    );
    let seen = relay_ids(&relay);
    for id in db.ids_where("1 = 1").await {
        assert!(seen.contains_key(&id), "row {id} was never delivered");
    }
    // A cut between messages costs no attempt; a cut during one (round 2) at most a retry.
    assert_eq!(db.count("attempts > 2").await, 0);
    let twice: Vec<_> = seen.iter().filter(|(_, c)| **c > 1).collect();
    eprintln!(
        "pool test: {} messages, {} connections, {} rows retried, sent twice: {twice:?}",
        relay.accepted(),
        relay.connections(),
        db.count("attempts > 1").await
    );
    assert!(
        twice.len() <= 4,
        "only a message in flight at the second cut may go twice: {twice:?}"
    );
}

/// Sends SIGTERM to a child process.
fn sigterm(child: &Child) {
    // SAFETY: kill(2) on the pid of our own child, which has not been waited for.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(rc, 0, "kill -TERM {}", child.id());
}

/// Waits (at most `limit`) for a child to exit; its exit status.
async fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let t0 = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        if t0.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the worker did not exit within {limit:?} of SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// SIGTERM while a slow relay holds a batch in flight: the worker exits promptly and
/// cleanly; every row it claimed is either sent (the sends in flight finish) or pending
/// again with no lease and no attempt counted (released) — none waits for a lease to
/// expire; a new worker delivers the rest at once, and nothing is sent twice.
#[tokio::test]
async fn sigterm_mid_batch_finishes_or_releases_every_claimed_row() {
    let sink = SmtpSink::start(Options {
        store_bodies: false,
        delay: Duration::from_millis(1000),
        ..Default::default()
    });
    let s = start(&["serve", "--no-worker"], sink.port, &[]).await;
    let f = programme(&s, &[("A", Some("a@example.org"))], "en").await;
    let n = 24;
    let db = rows(&s, &f, n).await;
    let env = [
        ("CONVENE_WORKER__BATCH_SIZE", "24"),
        ("CONVENE_WORKER__CONCURRENCY", "4"),
        // Long: a row left leased would stay stuck well past the test.
        ("CONVENE_WORKER__LEASE_SECS", "300"),
    ];
    let mut w = s.spawn_cli("worker1", &["worker"], &env);
    common::wait_until(
        "the batch is in flight",
        Duration::from_secs(30),
        || async { sink.accepted() >= 4 && db.count("lease_owner IS NOT NULL").await > 4 },
    )
    .await;
    let held = db.count("lease_owner IS NOT NULL").await;
    sigterm(&w);
    let t0 = Instant::now();
    let status = wait_exit(&mut w, Duration::from_secs(10)).await;
    let took = t0.elapsed();
    assert!(
        status.success(),
        "a clean exit: {status:?}\n{}",
        s.cli_stderr("worker1")
    );
    let log = s.cli_stderr("worker1");
    assert!(log.contains("released unsent notifications"), "{log}");
    assert_eq!(
        db.count("lease_owner IS NOT NULL OR lease_expires_at IS NOT NULL")
            .await,
        0,
        "no row left leased"
    );
    let sent = db.count("status = 'sent'").await;
    assert_eq!(
        sent as u64,
        sink.accepted(),
        "what the relay accepted is marked sent"
    );
    assert_eq!(
        db.count("status = 'pending' AND attempts = 0").await,
        n - sent,
        "the others are pending again, their attempt given back"
    );
    assert!(sent < n, "stopped mid-batch");
    eprintln!("SIGTERM test: {held} rows held, {sent} sent, exit after {took:?}");

    let mut w2 = s.spawn_cli(
        "worker2",
        &["worker"],
        &[("CONVENE_WORKER__CONCURRENCY", "8")],
    );
    common::wait_until("the rest sent", Duration::from_secs(30), || async {
        db.count("status = 'sent'").await == n
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    sigterm(&w2);
    assert!(wait_exit(&mut w2, Duration::from_secs(10)).await.success());
    let seen = message_ids(&sink);
    assert_eq!(sink.accepted() as i64, n, "no message sent twice: {seen:?}");
    assert_eq!(seen.len() as i64, n);
}

/// A slow relay (3.5 s a message) and a 2 s lease (2–3 s: leases end on whole seconds):
/// one worker claims every row in one batch that takes over two leases to send, each
/// message longer than a lease; a second worker polls all along. The first
/// keeps extending its leases (heartbeat), so the second never takes a row over: each row
/// goes out exactly once, after exactly one attempt.
#[tokio::test]
async fn a_batch_slower_than_its_lease_keeps_its_rows() {
    let sink = SmtpSink::start(Options {
        store_bodies: false,
        delay: Duration::from_millis(3500),
        ..Default::default()
    });
    let s = start(&["serve", "--no-worker"], sink.port, &[]).await;
    let f = programme(&s, &[("A", Some("a@example.org"))], "en").await;
    let n = 12;
    let db = rows(&s, &f, n).await;
    let env = [
        ("CONVENE_WORKER__BATCH_SIZE", "12"),
        ("CONVENE_WORKER__CONCURRENCY", "6"),
        ("CONVENE_WORKER__LEASE_SECS", "2"),
        ("CONVENE_WORKER__POLL_INTERVAL_MS", "100"),
    ];
    let mut a = s.spawn_cli("worker_a", &["worker"], &env);
    common::wait_until(
        "the first worker holds every row",
        Duration::from_secs(30),
        || async { db.count("lease_owner IS NOT NULL").await == n },
    )
    .await;
    let t0 = Instant::now();
    let mut b = s.spawn_cli("worker_b", &["worker"], &env);
    common::wait_until("every row sent", Duration::from_secs(60), || async {
        db.count("status = 'sent'").await == n
    })
    .await;
    let took = t0.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    for w in [&mut a, &mut b] {
        let _ = w.kill();
        let _ = w.wait();
    }
    assert!(
        took > Duration::from_secs(6),
        "the batch outlived two leases ({took:?})"
    );
    let seen = message_ids(&sink);
    let twice: Vec<_> = seen.iter().filter(|(_, c)| **c > 1).collect();
    assert!(twice.is_empty(), "sent twice: {twice:?}");
    assert_eq!(sink.accepted() as i64, n);
    assert_eq!(
        db.count("attempts <> 1").await,
        0,
        "no row was claimed twice"
    );
    assert!(
        !s.cli_stderr("worker_b").contains("claimed"),
        "the second worker claimed nothing:\n{}",
        s.cli_stderr("worker_b")
    );
}

/// Nagle's algorithm is off on the worker's pooled SMTP connections: lettre writes a
/// message's body and its `\r\n.\r\n` as two writes, and with Nagle on the second waits
/// for the relay's delayed ACK — 40 ms a message, ≥ 4 s for 100 over one connection
/// (see `convene_domain::db::nodelay`). One worker, one connection, one message at a time.
#[tokio::test]
async fn one_pooled_smtp_connection_sends_without_the_delayed_ack_stall() {
    let sink = SmtpSink::start(Options {
        store_bodies: false,
        ..Default::default()
    });
    let s = start(&["serve", "--no-worker"], sink.port, &[]).await;
    let f = programme(&s, &[("A", Some("a@example.org"))], "en").await;
    let n = 105;
    let db = rows(&s, &f, n).await;
    let env = [
        ("CONVENE_WORKER__BATCH_SIZE", "200"),
        ("CONVENE_WORKER__CONCURRENCY", "1"),
        ("CONVENE_MAIL__SMTP__POOL_SIZE", "1"),
        ("CONVENE_LOG", "warn"),
    ];
    let mut w = s.spawn_cli("worker", &["worker"], &env);
    // The first messages may go before the new connection is found and set.
    common::wait_until("5 sent", Duration::from_secs(30), || async {
        sink.accepted() >= 5
    })
    .await;
    let t0 = Instant::now();
    common::wait_until("all sent", Duration::from_secs(60), || async {
        sink.accepted() as i64 >= n
    })
    .await;
    let took = t0.elapsed();
    // The relay has every message; the worker marks the last ones sent just after.
    common::wait_until("all marked sent", Duration::from_secs(15), || async {
        db.count("status = 'sent'").await == n
    })
    .await;
    let _ = w.kill();
    let _ = w.wait();
    assert_eq!(db.count("status = 'sent'").await, n);
    eprintln!("100 messages over one pooled connection: {took:?}");
    assert!(
        took < Duration::from_millis(2500),
        "100 messages over one connection took {took:?}: ~40 ms each is the Nagle/delayed-ACK stall"
    );
}
