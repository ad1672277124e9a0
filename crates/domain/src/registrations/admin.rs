//! Organizer views: list and search registrations, counts, CSV export.

use std::collections::BTreeMap;

use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::entity::{registration, session_counters};
use super::{counters_of, questions_of, Category, Counters, RegistrationView, Status};
use crate::accounts::Caller;
use crate::error::Result;
use crate::forums;
use crate::teams::Permission;
use crate::util::{self, Page};

/// Query of `GET /forums/{slug}/registrations`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct RegistrationQuery {
    /// Only this status.
    pub status: Option<Status>,
    /// Only this category.
    pub category: Option<Category>,
    /// Only this country (ISO 3166-1 alpha-2).
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::CODE }, _, _>"
    )]
    #[param(max_length = 100)]
    pub country: Option<String>,
    /// Text search in name, e-mail, organization, city (case-insensitive substring).
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::NAME }, _, _>"
    )]
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// Cursor from a previous page.
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::PARAM }, _, _>"
    )]
    #[param(max_length = 1000)]
    pub cursor: Option<String>,
    /// Page size, 1–500, default 50.
    #[serde(default, deserialize_with = "crate::bounds::int::<1, 500, _, _>")]
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u64>,
}

fn filtered(forum_id: Uuid, q: &RegistrationQuery) -> sea_orm::Select<registration::Entity> {
    let mut sel = registration::Entity::find().filter(registration::Column::ForumId.eq(forum_id));
    if let Some(s) = q.status {
        sel = sel.filter(registration::Column::Status.eq(s.as_str()));
    }
    if let Some(c) = q.category {
        sel = sel.filter(registration::Column::Category.eq(c.as_str()));
    }
    if let Some(c) = q.country.as_deref().filter(|c| !c.is_empty()) {
        sel = sel.filter(registration::Column::Country.eq(c.trim().to_uppercase()));
    }
    if let Some(t) = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let pat = format!(
            "%{}%",
            t.to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let mut any = Condition::any();
        for col in [
            registration::Column::Name,
            registration::Column::Email,
            registration::Column::Organization,
            registration::Column::City,
        ] {
            any = any.add(
                Expr::expr(Func::lower(Expr::col(col)))
                    .like(sea_orm::sea_query::LikeExpr::new(pat.clone()).escape('\\')),
            );
        }
        sel = sel.filter(any);
    }
    sel
}

/// One participant on the public list: only what they agreed to show.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicParticipant {
    /// Name.
    pub name: String,
    /// Organization.
    pub organization: String,
    /// City.
    pub city: String,
    /// Country, ISO 3166-1 alpha-2.
    pub country: Option<String>,
}

/// Query of `GET /forums/{slug}/participants`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct PublicListQuery {
    /// Cursor from a previous page.
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::PARAM }, _, _>"
    )]
    #[param(max_length = 1000)]
    pub cursor: Option<String>,
    /// Page size, 1–500, default 50.
    #[serde(default, deserialize_with = "crate::bounds::int::<1, 500, _, _>")]
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u64>,
}

/// The public list of participants (anyone): confirmed registrations whose holder gave
/// `public_consent`, by arrival, with name, organization, city and country only. Only when
/// the forum turned `public_participant_list` on; otherwise 404, as for a forum without
/// one. Errors: 404; 422 bad cursor or limit.
pub async fn public_list(
    db: &DatabaseConnection,
    caller: &Caller,
    slug: &str,
    q: PublicListQuery,
) -> Result<Page<PublicParticipant>> {
    let a = forums::find_visible(db, caller, slug).await?;
    if !a.forum.public_participant_list {
        return Err(crate::Error::NotFound("participant list"));
    }
    let limit = util::page_limit(q.limit)?;
    let sel = registration::Entity::find()
        .filter(registration::Column::ForumId.eq(a.forum.id))
        .filter(registration::Column::Status.eq(Status::Confirmed.as_str()))
        .filter(registration::Column::PublicConsent.eq(true));
    let (rows, next_cursor) = util::keyset_page(
        db,
        sel,
        registration::Column::Seq,
        q.cursor.as_deref(),
        limit,
        |r| r.seq,
    )
    .await?;
    Ok(Page {
        items: rows
            .into_iter()
            .map(|r| PublicParticipant {
                name: r.name,
                organization: r.organization,
                city: r.city,
                country: r.country,
            })
            .collect(),
        next_cursor,
    })
}

/// Lists a forum's registrations by arrival (`seq`), filtered, one page at a time
/// (check-in staff and up). Errors: 401/403/404; 422 bad cursor or limit.
pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    slug: &str,
    q: RegistrationQuery,
) -> Result<Page<RegistrationView>> {
    let a = forums::find_for_write(db, caller, slug, Permission::Read).await?;
    let limit = util::page_limit(q.limit)?;
    let (rows, next_cursor) = util::keyset_page(
        db,
        filtered(a.forum.id, &q),
        registration::Column::Seq,
        q.cursor.as_deref(),
        limit,
        |r| r.seq,
    )
    .await?;
    Ok(Page {
        items: rows.iter().map(RegistrationView::from).collect(),
        next_cursor,
    })
}

/// Attendance of one session.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SessionAttendance {
    /// The session.
    pub session_id: Uuid,
    /// Its title.
    pub title: String,
    /// Its start and end in the forum's zone.
    pub local: crate::sessions::LocalTimes,
    /// Seats taken.
    pub confirmed: i32,
    /// Wait-listed.
    pub waitlisted: i32,
    /// Checked in.
    pub checked_in: i32,
}

/// Counts of a forum's registrations.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RegistrationStats {
    /// Forum capacity (`null` = unlimited).
    pub capacity: Option<i32>,
    /// The stored seat counters.
    pub counters: Counters,
    /// Rows by status.
    pub by_status: BTreeMap<String, u64>,
    /// Rows by category.
    pub by_category: BTreeMap<String, u64>,
    /// Rows by country (`""` = not given).
    pub by_country: BTreeMap<String, u64>,
    /// Per session with sign-ups.
    pub sessions: Vec<SessionAttendance>,
}

async fn group(
    db: &DatabaseConnection,
    forum_id: Uuid,
    col: registration::Column,
) -> Result<BTreeMap<String, u64>> {
    let rows: Vec<(Option<String>, i64)> = registration::Entity::find()
        .select_only()
        .column(col)
        .column_as(Expr::col(registration::Column::Id).count(), "n")
        .filter(registration::Column::ForumId.eq(forum_id))
        .group_by(col)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(k, n)| (k.unwrap_or_default(), n as u64))
        .collect())
}

/// Counts by status, category and country, and attendance per forum and session
/// (check-in staff and up).
pub async fn stats(
    db: &DatabaseConnection,
    caller: &Caller,
    slug: &str,
) -> Result<RegistrationStats> {
    let a = forums::find_for_write(db, caller, slug, Permission::Read).await?;
    let id = a.forum.id;
    let counters: Vec<session_counters::Model> = session_counters::Entity::find()
        .filter(session_counters::Column::ForumId.eq(id))
        .all(db)
        .await?;
    let rows: std::collections::HashMap<Uuid, crate::sessions::Session> =
        crate::sessions::entity::session::Entity::find()
            .filter(crate::sessions::entity::session::Column::ForumId.eq(id))
            .all(db)
            .await?
            .into_iter()
            .map(|s| (s.id, s))
            .collect();
    let mut sessions: Vec<SessionAttendance> = counters
        .into_iter()
        .filter_map(|c| {
            let s = rows.get(&c.session_id)?;
            Some(SessionAttendance {
                session_id: c.session_id,
                title: s.title.clone(),
                local: crate::sessions::LocalTimes::of(&a.forum, s.starts_at, s.ends_at),
                confirmed: c.confirmed_count,
                waitlisted: c.waitlisted_count,
                checked_in: c.checked_in_count,
            })
        })
        .collect();
    sessions.sort_by_key(|s| (s.local.starts_at, s.session_id));
    Ok(RegistrationStats {
        capacity: a.forum.capacity,
        counters: counters_of(db, id).await?,
        by_status: group(db, id, registration::Column::Status).await?,
        by_category: group(db, id, registration::Column::Category).await?,
        by_country: group(db, id, registration::Column::Country).await?,
        sessions,
    })
}

/// The participants as CSV ([`crate::csv_out`]: RFC 4180, formulas neutralised), filtered like
/// [`list`], one row per registration in arrival order, one column per custom question
/// after the standard ones (the team: [`Permission::Read`]).
pub async fn export_csv(
    db: &DatabaseConnection,
    caller: &Caller,
    slug: &str,
    q: RegistrationQuery,
) -> Result<String> {
    let a = forums::find_for_write(db, caller, slug, Permission::Read).await?;
    let form = questions_of(db, a.forum.id).await?;
    let rows = filtered(a.forum.id, &q)
        .order_by_asc(registration::Column::Seq)
        .all(db)
        .await?;
    let mut header: Vec<String> = [
        "seq",
        "id",
        "status",
        "name",
        "email",
        "organization",
        "position",
        "category",
        "city",
        "country",
        "language",
        "accessibility_needs",
        "public_consent",
        "check_in_code",
        "checked_in_at",
        "registered_at",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    header.extend(form.questions.iter().map(|q| q.id.clone()));
    let mut table = crate::csv_out::Table::new(&header);
    for r in rows {
        let mut rec = vec![
            r.seq.to_string(),
            r.id.to_string(),
            r.status.clone(),
            r.name.clone(),
            r.email.clone(),
            r.organization.clone(),
            r.position.clone(),
            r.category.clone(),
            r.city.clone(),
            r.country.clone().unwrap_or_default(),
            r.language.clone(),
            r.accessibility_needs.clone(),
            r.public_consent.to_string(),
            r.check_in_code.clone(),
            r.checked_in_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
            r.created_at.to_rfc3339(),
        ];
        for qn in &form.questions {
            let v = r.answers.get(&qn.id);
            rec.push(match v {
                None | Some(serde_json::Value::Null) => String::new(),
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(serde_json::Value::Bool(b)) => if *b { "yes" } else { "no" }.into(),
                Some(serde_json::Value::Array(xs)) => xs
                    .iter()
                    .filter_map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
                Some(other) => other.to_string(),
            });
        }
        table.row(&rec);
    }
    Ok(table.finish())
}
