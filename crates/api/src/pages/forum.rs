//! The read pages: public forums, forum home, programme (one page per programme day),
//! session, speakers. Each reads through the same domain operations as the API, as an
//! anonymous caller (so a draft is 404, as in the API).

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use bytes::Bytes;
use chrono::{NaiveDate, Utc};
use chrono_tz::Tz;
use convene_domain::accounts::Caller;
use convene_domain::declarations::{self, DeclarationView};
use convene_domain::forums::{self, ForumAccess, ForumQuery};
use convene_domain::links::Links;
use convene_domain::registrations::{self, RegistrationState};
use convene_domain::schedule::{self, store, IcalOptions};
use convene_domain::sessions::{self, SessionQuery, SessionStatus, SessionView};
use convene_domain::speakers;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{Nav, PageError, PageResult, Pg, Req};
use crate::AppState;

/// A forum the public may see, with the page's language chosen (the forum's first
/// language as the last resort) and the navigation.
pub(super) struct ForumPage {
    pub access: ForumAccess,
    pub pg: Pg,
    pub nav: Nav,
    pub declarations: Vec<DeclarationView>,
}

impl ForumPage {
    pub(super) async fn load(s: &AppState, req: &Req, slug: &str) -> Result<ForumPage, PageError> {
        let access = match forums::find_visible(&s.db, &Caller::Anonymous, slug).await {
            Ok(a) => a,
            Err(e) => return Err(Pg::new(&s.links, req, None).fail(e)),
        };
        let default: Option<String> = access
            .forum
            .languages
            .as_array()
            .and_then(|a| a.first())
            .and_then(|v| v.as_str())
            .map(str::to_owned);
        let pg = Pg::new(&s.links, req, default.as_deref());
        let declarations = declarations::list(&s.db, &Caller::Anonymous, slug)
            .await
            .map_err(|e| pg.fail(e))?;
        let decl_links: Vec<(String, String)> = declarations
            .iter()
            .map(|d| (d.slug.clone(), d.title.clone()))
            .collect();
        let nav = pg.nav(&access.forum, &decl_links);
        Ok(ForumPage {
            access,
            pg,
            nav,
            declarations,
        })
    }

    fn tz(&self) -> Tz {
        self.access.tz()
    }

    /// The programme days with their labels and links.
    fn days(&self, current: Option<NaiveDate>) -> Vec<Value> {
        let f = &self.access.forum;
        f.first_day
            .iter_days()
            .take_while(|d| *d <= f.last_day)
            .take(forums::MAX_FORUM_DAYS as usize + 1)
            .map(|d| {
                json!({
                    "label": self.pg.lang.day_short(d),
                    "href": self.pg.href(&Links::programme_day_rel(&f.slug, d)),
                    "current": Some(d) == current,
                })
            })
            .collect()
    }

    fn place(&self) -> Option<String> {
        let f = &self.access.forum;
        match (&f.city, &f.country) {
            (Some(c), Some(k)) => Some(format!("{c}, {k}")),
            (Some(c), None) => Some(c.clone()),
            (None, Some(k)) => Some(k.clone()),
            (None, None) => None,
        }
    }
}

/// `GET /`: the public forums.
pub async fn index(State(s): State<AppState>, req: Req) -> PageResult {
    let pg = Pg::new(&s.links, &req, None);
    let page = forums::list(
        &s.db,
        &Caller::Anonymous,
        ForumQuery {
            status: None,
            cursor: None,
            limit: Some(convene_domain::util::MAX_LIMIT),
        },
    )
    .await
    .map_err(|e| pg.fail(e))?;
    let forums: Vec<Value> = page
        .items
        .iter()
        .map(|f| {
            let place = match (&f.city, &f.country) {
                (Some(c), Some(k)) => Some(format!("{c}, {k}")),
                (c, k) => c.clone().or(k.clone()),
            };
            json!({
                "title": f.title,
                "href": pg.href(&Links::forum_rel(&f.slug)),
                "dates": pg.lang.date_range(f.first_day, f.last_day),
                "place": place,
            })
        })
        .collect();
    pg.page("index.html", None, json!({ "forums": forums }))
}

/// `GET /forums/{slug}`: the forum home.
pub async fn home(State(s): State<AppState>, req: Req, Path(slug): Path<String>) -> PageResult {
    let fp = ForumPage::load(&s, &req, &slug).await?;
    let pg = &fp.pg;
    let f = &fp.access.forum;
    let tz = fp.tz();
    let now = Utc::now();
    let state = registrations::public_state(&s.db, f, now)
        .await
        .map_err(|e| pg.fail(e))?;
    let when = |t: chrono::DateTime<Utc>| pg.lang.instant(t.with_timezone(&tz));
    let detail = match state {
        RegistrationState::Closed => f
            .registration_opens_at
            .filter(|o| *o > now && f.status == "published")
            .map(|o| pg.lang.t("registration-opens", &[("when", when(o).into())])),
        RegistrationState::Waitlist => Some(pg.t("registration-full")),
        _ => f.registration_closes_at.map(|c| {
            pg.lang
                .t("registration-closes", &[("when", when(c).into())])
        }),
    };
    let state_name = match state {
        RegistrationState::Open => "open",
        RegistrationState::Waitlist => "waitlist",
        RegistrationState::Approval => "approval",
        RegistrationState::Closed => "closed",
    };
    let declarations: Vec<Value> = fp
        .declarations
        .iter()
        .map(|d| {
            json!({
                "title": d.title,
                "href": pg.href(&Links::declaration_rel(&f.slug, &d.slug)),
                "status": serde_json::to_value(d.status).unwrap_or(Value::Null),
            })
        })
        .collect();
    pg.page(
        "forum.html",
        Some(&fp.nav),
        json!({
            "forum": {
                "title": f.title,
                "dates": pg.lang.date_range(f.first_day, f.last_day),
                "zone": super::i18n::zone_on(tz, f.first_day),
                "place": fp.place(),
                "venue": f.venue,
                "description": f.description,
                "register": pg.href(&Links::register_rel(&f.slug)),
                "speakers": pg.href(&Links::speakers_rel(&f.slug)),
                "webcal": s.links.schedule_webcal_url(&f.slug),
                "ics": pg.href(&Links::schedule_ics_rel(&f.slug)),
            },
            "registration": {
                "state": state_name,
                "detail": detail,
                "can_register": state != RegistrationState::Closed,
            },
            "days": fp.days(None),
            "declarations": declarations,
        }),
    )
}

/// `GET /forums/{slug}/programme`: the days of the programme.
pub async fn programme_index(
    State(s): State<AppState>,
    req: Req,
    Path(slug): Path<String>,
) -> PageResult {
    let fp = ForumPage::load(&s, &req, &slug).await?;
    let pg = &fp.pg;
    let f = &fp.access.forum;
    pg.page(
        "programme.html",
        Some(&fp.nav),
        json!({
            "zone": super::i18n::zone_on(fp.tz(), f.first_day),
            "days": fp.days(None),
            "day": Value::Null,
            "webcal": s.links.schedule_webcal_url(&f.slug),
            "ics": pg.href(&Links::schedule_ics_rel(&f.slug)),
        }),
    )
}

/// At most this many sessions on one programme page (pages of the domain's list).
const MAX_DAY_SESSIONS: usize = 5000;

/// `GET /forums/{slug}/programme/{YYYY-MM-DD}`: one programme day (its sessions start
/// between the day's `day_change` and the next day's), rooms side by side on wide
/// screens, local times with the zone. Rendered once per programme version and language.
pub async fn programme_day(
    State(s): State<AppState>,
    req: Req,
    Path((slug, day)): Path<(String, String)>,
) -> PageResult {
    let fp = ForumPage::load(&s, &req, &slug).await?;
    let pg = &fp.pg;
    let f = &fp.access.forum;
    let day = NaiveDate::parse_from_str(&day, "%Y-%m-%d")
        .ok()
        .filter(|d| *d >= f.first_day && *d <= f.last_day)
        .ok_or_else(|| pg.not_found())?;
    let tag = format!(
        "p{}-f{}-d{}",
        f.programme_version,
        f.version,
        fp.declarations
            .iter()
            .map(|d| format!("{}.{}", d.slug, d.version))
            .collect::<Vec<_>>()
            .join(",")
    );
    let key = (f.id, day, pg.lang.code, pg.explicit);
    if let Some((t, body)) = s.pages.programme.get(&key) {
        if t == tag {
            return Ok(cached_html(body));
        }
    }
    let mut sessions: Vec<SessionView> = vec![];
    let mut cursor = None;
    loop {
        let (_, page) = sessions::list(
            &s.db,
            &Caller::Anonymous,
            &slug,
            SessionQuery {
                day: Some(day),
                cursor: cursor.take(),
                limit: Some(convene_domain::util::MAX_LIMIT),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| pg.fail(e))?;
        sessions.extend(page.items);
        match page.next_cursor {
            Some(c) if sessions.len() < MAX_DAY_SESSIONS => cursor = Some(c),
            _ => break,
        }
    }
    let rooms = convene_domain::rooms::list(&s.db, &Caller::Anonymous, &slug)
        .await
        .map_err(|e| pg.fail(e))?;
    let tz = fp.tz();
    let mut by_room: HashMap<Option<Uuid>, Vec<Value>> = HashMap::new();
    for v in &sessions {
        by_room
            .entry(v.room.as_ref().map(|r| r.id))
            .or_default()
            .push(slot(pg, &slug, v, tz));
    }
    let mut columns: Vec<Value> = vec![];
    for r in &rooms {
        if let Some(list) = by_room.remove(&Some(r.id)) {
            columns.push(json!({"name": r.name, "sessions": list}));
        }
    }
    if let Some(list) = by_room.remove(&None) {
        columns.push(json!({"name": pg.t("session-room") + " —", "sessions": list}));
    }
    let body = pg.render(
        "programme.html",
        Some(&fp.nav),
        json!({
            "zone": super::i18n::zone_on(tz, day),
            "days": fp.days(Some(day)),
            "day": pg.lang.date(day),
            "rooms": columns,
            "webcal": s.links.schedule_webcal_url(&f.slug),
            "ics": pg.href(&Links::schedule_ics_rel(&f.slug)),
        }),
    )?;
    let body = Bytes::from(body);
    s.pages.programme.insert(key, (tag, body.clone()));
    Ok(cached_html(body))
}

fn cached_html(body: Bytes) -> axum::response::Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

fn kind_name(v: &SessionView) -> Value {
    serde_json::to_value(v.kind).unwrap_or(json!("other"))
}

fn slot(pg: &Pg, slug: &str, v: &SessionView, tz: Tz) -> Value {
    let a = v.starts_at.with_timezone(&tz);
    let b = v.ends_at.with_timezone(&tz);
    json!({
        "title": v.title,
        "href": pg.href(&Links::session_rel(slug, v.id)),
        "start": pg.lang.time(a),
        "end": pg.lang.time(b),
        "start_iso": v.local.starts_at.to_rfc3339(),
        "end_iso": v.local.ends_at.to_rfc3339(),
        "kind": kind_name(v),
        "track": v.track,
        "cancelled": v.status == SessionStatus::Cancelled,
        "speakers": v.speakers.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", "),
    })
}

fn parse_id(pg: &Pg, id: &str) -> Result<Uuid, PageError> {
    Uuid::parse_str(id).map_err(|_| pg.not_found())
}

/// `GET /forums/{slug}/sessions/{id}`: one session with its speakers and "add to
/// calendar".
pub async fn session(
    State(s): State<AppState>,
    req: Req,
    Path((slug, id)): Path<(String, String)>,
) -> PageResult {
    let fp = ForumPage::load(&s, &req, &slug).await?;
    let pg = &fp.pg;
    let id = parse_id(pg, &id)?;
    let v = sessions::get(&s.db, &Caller::Anonymous, &slug, id)
        .await
        .map_err(|e| pg.fail(e))?;
    let tz = fp.tz();
    let speakers: Vec<Value> = v
        .speakers
        .iter()
        .map(|p| {
            json!({
                "name": p.name,
                "role": p.role,
                "href": pg.href(&Links::speaker_rel(&slug, p.id)),
            })
        })
        .collect();
    pg.page(
        "session.html",
        Some(&fp.nav),
        json!({
            "s": {
                "title": v.title,
                "subtitle": v.subtitle,
                "abstract": v.abstract_text,
                "description": v.description,
                "cancelled": v.status == SessionStatus::Cancelled,
                "when": pg.lang.span(v.starts_at.with_timezone(&tz), v.ends_at.with_timezone(&tz)),
                "start_iso": v.local.starts_at.to_rfc3339(),
                "room": v.room.as_ref().map(|r| r.name.clone()),
                "kind": kind_name(&v),
                "track": v.track,
                "language": v.language,
                "speakers": speakers,
                "day": pg.lang.date(v.local.day),
                "day_href": pg.href(&Links::programme_day_rel(&slug, v.local.day)),
                "ics": pg.href(&Links::session_ics_rel(&slug, v.id)),
            },
            "webcal": s.links.schedule_webcal_url(&slug),
        }),
    )
}

/// `GET /forums/{slug}/sessions/{id}/calendar.ics`: one scheduled session as an RFC 5545
/// calendar (same UID and SEQUENCE as in the forum's feed, so calendars update it).
pub async fn session_ics(
    State(s): State<AppState>,
    req: Req,
    Path((slug, id)): Path<(String, String)>,
) -> PageResult {
    let fp = ForumPage::load(&s, &req, &slug).await?;
    let pg = &fp.pg;
    let id = parse_id(pg, &id)?;
    let v = sessions::get(&s.db, &Caller::Anonymous, &slug, id)
        .await
        .map_err(|e| pg.fail(e))?;
    let (mut p, seq) = store::load(&s.db, &fp.access, &s.links)
        .await
        .map_err(|e| pg.fail(e))?;
    let events = std::mem::take(&mut p.events);
    let mut sequences = vec![];
    for (e, q) in events.into_iter().zip(seq) {
        if e.guid == v.guid {
            p.events.push(e);
            sequences.push(q);
        }
    }
    if p.events.is_empty() {
        // Cancelled: no longer in the calendar feed either.
        return Err(pg.not_found());
    }
    let opts = IcalOptions {
        uid_domain: s.links.host().to_owned(),
        generated_at: fp.access.forum.updated_at,
        calendar_name: format!("{} — {}", fp.access.forum.title, v.title),
        sequences: Some(sequences),
        method: Some("PUBLISH".into()),
    };
    let body = schedule::export_ical(&p, fp.tz(), &opts);
    let disposition = format!("attachment; filename=\"{slug}-{id}.ics\"");
    let mut res = (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/calendar; charset=utf-8"),
        )],
        body,
    )
        .into_response();
    if let Ok(d) = HeaderValue::from_str(&disposition) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, d);
    }
    Ok(res)
}

/// `GET /forums/{slug}/speakers`: everyone on the programme.
pub async fn speakers(State(s): State<AppState>, req: Req, Path(slug): Path<String>) -> PageResult {
    let fp = ForumPage::load(&s, &req, &slug).await?;
    let pg = &fp.pg;
    let list = speakers::list(&s.db, &Caller::Anonymous, &slug)
        .await
        .map_err(|e| pg.fail(e))?;
    let items: Vec<Value> = list
        .iter()
        .map(|p| {
            json!({
                "name": p.name,
                "organization": p.organization,
                "href": pg.href(&Links::speaker_rel(&slug, p.id)),
            })
        })
        .collect();
    pg.page("speakers.html", Some(&fp.nav), json!({ "speakers": items }))
}

/// `GET /forums/{slug}/speakers/{id}`: one speaker and their sessions.
pub async fn speaker(
    State(s): State<AppState>,
    req: Req,
    Path((slug, id)): Path<(String, String)>,
) -> PageResult {
    let fp = ForumPage::load(&s, &req, &slug).await?;
    let pg = &fp.pg;
    let id = parse_id(pg, &id)?;
    let p = speakers::get(&s.db, &Caller::Anonymous, &slug, id)
        .await
        .map_err(|e| pg.fail(e))?;
    let tz = fp.tz();
    let list = sessions::of_speaker(&s.db, &Caller::Anonymous, &slug, id)
        .await
        .map_err(|e| pg.fail(e))?;
    let sessions: Vec<Value> = list
        .iter()
        .map(|v| {
            json!({
                "title": v.title,
                "href": pg.href(&Links::session_rel(&slug, v.id)),
                "when": pg.lang.span(v.starts_at.with_timezone(&tz), v.ends_at.with_timezone(&tz)),
                "start_iso": v.local.starts_at.to_rfc3339(),
                "cancelled": v.status == SessionStatus::Cancelled,
            })
        })
        .collect();
    pg.page(
        "speaker.html",
        Some(&fp.nav),
        json!({
            "p": {"name": p.name, "organization": p.organization, "biography": p.biography},
            "sessions": sessions,
        }),
    )
}
