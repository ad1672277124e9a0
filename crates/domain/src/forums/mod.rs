//! Forums: the gathering itself, its time zone and days, its status, who may see and
//! change it.

pub mod entity;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use entity::Model as Forum;

use crate::accounts::{self, Caller, Role};
use crate::change::Change;
use crate::error::{ConflictKind, Error, FieldError, Result};
use crate::teams::{self, Permission};
use crate::util::{self, double_option, Page};

/// The longest forum, in days.
pub const MAX_FORUM_DAYS: i64 = 62;

/// Default lead of the forum reminder: 24 h before the forum starts, in minutes.
pub const DEFAULT_FORUM_REMINDER_MINUTES: i32 = 24 * 60;

/// Default lead of session reminders: 1 h before each session starts, in minutes.
pub const DEFAULT_SESSION_REMINDER_MINUTES: i32 = 60;

/// The longest reminder lead, in minutes (30 days).
pub const MAX_REMINDER_MINUTES: i32 = 30 * 24 * 60;

/// A forum's lifecycle: draft → published → closed → archived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ForumStatus {
    /// Being prepared; visible to its members only.
    Draft,
    /// Public; registration may open.
    Published,
    /// Over or closed for changes by participants; still public.
    Closed,
    /// Kept for the record; still public, read-only.
    Archived,
}

impl ForumStatus {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ForumStatus::Draft => "draft",
            ForumStatus::Published => "published",
            ForumStatus::Closed => "closed",
            ForumStatus::Archived => "archived",
        }
    }
    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "draft" => Some(Self::Draft),
            "published" => Some(Self::Published),
            "closed" => Some(Self::Closed),
            "archived" => Some(Self::Archived),
            _ => None,
        }
    }
    /// Whether the public may read a forum in this status.
    pub fn is_public(self) -> bool {
        !matches!(self, ForumStatus::Draft)
    }
}

/// How registrations are decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RegistrationMode {
    /// Confirmed while seats remain, then wait-listed.
    Open,
    /// Pending until an organizer approves or rejects.
    Approval,
}

/// A forum as the API shows it. Dates are local to `time_zone`; instants are RFC 3339 UTC.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ForumView {
    /// Id.
    pub id: Uuid,
    /// URL name, unique: `[a-z0-9][a-z0-9-]{1,62}`.
    pub slug: String,
    /// Title.
    pub title: String,
    /// Short name, e.g. `MF2019`.
    pub acronym: Option<String>,
    /// Free text.
    pub description: String,
    /// Host city.
    pub city: Option<String>,
    /// Host country, ISO 3166-1 alpha-2 (upper case).
    pub country: Option<String>,
    /// Venue.
    pub venue: Option<String>,
    /// IANA time zone, e.g. `Europe/Istanbul`.
    pub time_zone: String,
    /// First day (local date).
    pub first_day: NaiveDate,
    /// Last day (local date, inclusive).
    pub last_day: NaiveDate,
    /// Local time at which a programme day turns into the next, `HH:MM` (default `00:00`).
    pub day_change: String,
    /// Programme grid step, minutes.
    pub timeslot_minutes: i32,
    /// Overall capacity (participants), if limited.
    pub capacity: Option<i32>,
    /// Registration mode.
    pub registration_mode: RegistrationMode,
    /// Registration opens at (UTC), if set.
    pub registration_opens_at: Option<DateTime<Utc>>,
    /// Registration closes at (UTC), if set.
    pub registration_closes_at: Option<DateTime<Utc>>,
    /// Languages of the forum, BCP 47 tags.
    pub languages: Vec<String>,
    /// Minutes before the forum's start at which each confirmed participant gets the
    /// `reminder.forum` e-mail; `0` = off. The forum starts at its earliest scheduled
    /// session, else at 00:00 local time of `first_day`.
    pub forum_reminder_minutes: i32,
    /// Minutes before each session's start at which each seat holder gets the
    /// `reminder.session` e-mail; `0` = off.
    pub session_reminder_minutes: i32,
    /// Whether `GET /forums/{slug}/participants` publishes the confirmed participants who
    /// consented (name, organization, city, country); off unless the organizer turns it on.
    pub public_participant_list: bool,
    /// Status.
    pub status: ForumStatus,
    /// Row version; the ETag is `"<version>"`.
    pub version: i32,
    /// Created at (UTC).
    pub created_at: DateTime<Utc>,
    /// Last changed at (UTC).
    pub updated_at: DateTime<Utc>,
}

impl From<&Forum> for ForumView {
    fn from(f: &Forum) -> Self {
        ForumView {
            id: f.id,
            slug: f.slug.clone(),
            title: f.title.clone(),
            acronym: f.acronym.clone(),
            description: f.description.clone(),
            city: f.city.clone(),
            country: f.country.clone(),
            venue: f.venue.clone(),
            time_zone: f.time_zone.clone(),
            first_day: f.first_day,
            last_day: f.last_day,
            day_change: f.day_change.format("%H:%M").to_string(),
            timeslot_minutes: f.timeslot_minutes,
            capacity: f.capacity,
            registration_mode: if f.registration_mode == "approval" {
                RegistrationMode::Approval
            } else {
                RegistrationMode::Open
            },
            registration_opens_at: f.registration_opens_at,
            registration_closes_at: f.registration_closes_at,
            languages: serde_json::from_value(f.languages.clone()).unwrap_or_default(),
            forum_reminder_minutes: f.forum_reminder_minutes,
            session_reminder_minutes: f.session_reminder_minutes,
            public_participant_list: f.public_participant_list,
            status: ForumStatus::parse(&f.status).unwrap_or(ForumStatus::Draft),
            version: f.version,
            created_at: f.created_at,
            updated_at: f.updated_at,
        }
    }
}

/// Body of `POST /forums`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewForum {
    /// URL name, unique: lower-case letters, digits and `-`, 2–63 characters.
    #[serde(deserialize_with = "crate::text::line::<{ crate::text::CODE }, _, _>")]
    #[schema(max_length = 100)]
    pub slug: String,
    /// Title, 1–300 characters.
    #[serde(deserialize_with = "crate::text::line::<{ crate::text::TITLE }, _, _>")]
    #[schema(max_length = 300)]
    pub title: String,
    /// Short name.
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::NAME }, _, _>"
    )]
    #[schema(max_length = 200)]
    pub acronym: Option<String>,
    /// Free text.
    #[serde(
        default,
        deserialize_with = "crate::text::text::<{ crate::text::LONG }, _, _>"
    )]
    #[schema(max_length = 10000)]
    pub description: Option<String>,
    /// Host city.
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::NAME }, _, _>"
    )]
    #[schema(max_length = 200)]
    pub city: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::CODE }, _, _>"
    )]
    #[schema(max_length = 100)]
    pub country: Option<String>,
    /// Venue.
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::NAME }, _, _>"
    )]
    #[schema(max_length = 200)]
    pub venue: Option<String>,
    /// IANA time zone name.
    #[serde(deserialize_with = "crate::text::line::<{ crate::text::CODE }, _, _>")]
    #[schema(max_length = 100)]
    pub time_zone: String,
    /// First local day, `YYYY-MM-DD`.
    pub first_day: NaiveDate,
    /// Last local day, `YYYY-MM-DD`, not before `first_day`, at most 62 days after it.
    pub last_day: NaiveDate,
    /// `HH:MM`, default `00:00`.
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::CODE }, _, _>"
    )]
    #[schema(max_length = 100)]
    pub day_change: Option<String>,
    /// Minutes, 1–240, default 5.
    #[serde(default, deserialize_with = "crate::bounds::int::<1, 240, _, _>")]
    #[schema(minimum = 1, maximum = 240)]
    pub timeslot_minutes: Option<i32>,
    /// Participants, ≥ 0.
    #[serde(default, deserialize_with = "crate::bounds::int::<0, 1000000, _, _>")]
    #[schema(minimum = 0, maximum = 1000000)]
    pub capacity: Option<i32>,
    /// Default `open`.
    #[serde(default)]
    pub registration_mode: Option<RegistrationMode>,
    /// RFC 3339 instant.
    #[serde(default)]
    pub registration_opens_at: Option<DateTime<Utc>>,
    /// RFC 3339 instant, after `registration_opens_at`.
    #[serde(default)]
    pub registration_closes_at: Option<DateTime<Utc>>,
    /// BCP 47 tags, default `["en"]`.
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::CODE }, _, _>"
    )]
    pub languages: Option<Vec<String>>,
    /// Minutes before the forum's start for the `reminder.forum` e-mail, 0–43200 (30 days);
    /// absent = 1440 (24 h); `0` or `null` = no forum reminder.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i32>, minimum = 0, maximum = 43200)]
    pub forum_reminder_minutes: Option<Option<i32>>,
    /// Minutes before each session's start for the `reminder.session` e-mail, 0–43200;
    /// absent = 60 (1 h); `0` or `null` = no session reminders.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i32>, minimum = 0, maximum = 43200)]
    pub session_reminder_minutes: Option<Option<i32>>,
    /// Publish the list of consenting confirmed participants; default `false`.
    #[serde(default)]
    pub public_participant_list: Option<bool>,
}

/// Body of `PATCH /forums/{slug}`: absent fields stay, `null` clears a nullable field.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForumPatch {
    /// New slug.
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::CODE }, _, _>"
    )]
    #[schema(max_length = 100)]
    pub slug: Option<String>,
    /// New title.
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::TITLE }, _, _>"
    )]
    #[schema(max_length = 300)]
    pub title: Option<String>,
    /// New acronym or `null`.
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::NAME }, _, _>"
    )]
    #[schema(value_type = Option<String>, max_length = 200)]
    pub acronym: Option<Option<String>>,
    /// New description.
    #[serde(
        default,
        deserialize_with = "crate::text::text::<{ crate::text::LONG }, _, _>"
    )]
    #[schema(max_length = 10000)]
    pub description: Option<String>,
    /// New city or `null`.
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::NAME }, _, _>"
    )]
    #[schema(value_type = Option<String>, max_length = 200)]
    pub city: Option<Option<String>>,
    /// New country or `null`.
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::CODE }, _, _>"
    )]
    #[schema(value_type = Option<String>, max_length = 100)]
    pub country: Option<Option<String>>,
    /// New venue or `null`.
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::NAME }, _, _>"
    )]
    #[schema(value_type = Option<String>, max_length = 200)]
    pub venue: Option<Option<String>>,
    /// New time zone. Session instants are kept; their local times change.
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::CODE }, _, _>"
    )]
    #[schema(max_length = 100)]
    pub time_zone: Option<String>,
    /// New first day.
    pub first_day: Option<NaiveDate>,
    /// New last day.
    pub last_day: Option<NaiveDate>,
    /// New day change, `HH:MM`.
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::CODE }, _, _>"
    )]
    #[schema(max_length = 100)]
    pub day_change: Option<String>,
    /// New grid step.
    #[serde(default, deserialize_with = "crate::bounds::int::<1, 240, _, _>")]
    #[schema(minimum = 1, maximum = 240)]
    pub timeslot_minutes: Option<i32>,
    /// New capacity or `null` (unlimited).
    #[serde(default, deserialize_with = "crate::bounds::int::<0, 1000000, _, _>")]
    #[schema(value_type = Option<i32>, minimum = 0, maximum = 1000000)]
    pub capacity: Option<Option<i32>>,
    /// New registration mode.
    pub registration_mode: Option<RegistrationMode>,
    /// New opening instant or `null`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub registration_opens_at: Option<Option<DateTime<Utc>>>,
    /// New closing instant or `null`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub registration_closes_at: Option<Option<DateTime<Utc>>>,
    /// New languages.
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::CODE }, _, _>"
    )]
    pub languages: Option<Vec<String>>,
    /// New forum reminder lead, minutes 0–43200; `0` or `null` turns it off. Pending
    /// forum reminders are re-timed in the same transaction.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i32>, minimum = 0, maximum = 43200)]
    pub forum_reminder_minutes: Option<Option<i32>>,
    /// New session reminder lead, minutes 0–43200; `0` or `null` turns them off. Pending
    /// session reminders are re-timed in the same transaction.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i32>, minimum = 0, maximum = 43200)]
    pub session_reminder_minutes: Option<Option<i32>>,
    /// Publish (or stop publishing) the list of consenting confirmed participants.
    pub public_participant_list: Option<bool>,
}

fn opt_text(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// Parses `HH:MM` (or `HH:MM:SS`).
pub fn parse_hhmm(field: &str, s: &str) -> Result<NaiveTime> {
    NaiveTime::parse_from_str(s, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(s, "%H:%M:%S"))
        .map_err(|_| Error::field(field, "must be a local time HH:MM"))
}

/// Checks every field rule of a forum row; returns all field errors at once.
pub fn validate(f: &Forum) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if !valid_slug(&f.slug) {
        errs.push(FieldError::new(
            "slug",
            "must be 2–63 characters of a-z, 0-9 and '-', starting with a letter or digit",
        ));
    }
    let title_len = f.title.chars().count();
    if title_len == 0 || title_len > 300 {
        errs.push(FieldError::new("title", "must be 1–300 characters"));
    }
    if let Some(c) = &f.country {
        if c.len() != 2 || celes::Country::from_alpha2(c).is_err() {
            errs.push(FieldError::new(
                "country",
                format!("`{c}` is not an ISO 3166-1 alpha-2 code"),
            ));
        }
    }
    if f.time_zone.parse::<chrono_tz::Tz>().is_err() {
        errs.push(FieldError::new(
            "time_zone",
            format!("`{}` is not an IANA time zone name", f.time_zone),
        ));
    }
    if f.last_day < f.first_day {
        errs.push(FieldError::new("last_day", "must not be before first_day"));
    } else if (f.last_day - f.first_day).num_days() >= MAX_FORUM_DAYS {
        errs.push(FieldError::new(
            "last_day",
            format!("a forum lasts at most {MAX_FORUM_DAYS} days"),
        ));
    }
    if !(1..=240).contains(&f.timeslot_minutes) {
        errs.push(FieldError::new(
            "timeslot_minutes",
            "must be between 1 and 240",
        ));
    }
    if matches!(f.capacity, Some(c) if c < 0) {
        errs.push(FieldError::new("capacity", "must not be negative"));
    }
    if let (Some(o), Some(c)) = (f.registration_opens_at, f.registration_closes_at) {
        if c <= o {
            errs.push(FieldError::new(
                "registration_closes_at",
                "must be after registration_opens_at",
            ));
        }
    }
    for (field, v) in [
        ("forum_reminder_minutes", f.forum_reminder_minutes),
        ("session_reminder_minutes", f.session_reminder_minutes),
    ] {
        if !(0..=MAX_REMINDER_MINUTES).contains(&v) {
            errs.push(FieldError::new(
                field,
                format!("must be between 0 (off) and {MAX_REMINDER_MINUTES} minutes"),
            ));
        }
    }
    match serde_json::from_value::<Vec<String>>(f.languages.clone()) {
        Ok(langs) => {
            for (i, l) in langs.iter().enumerate() {
                if language_tags::LanguageTag::parse(l).is_err() {
                    errs.push(FieldError::new(
                        format!("languages[{i}]"),
                        format!("`{l}` is not a BCP 47 language tag"),
                    ));
                }
            }
        }
        Err(_) => errs.push(FieldError::new(
            "languages",
            "must be a list of language tags",
        )),
    }
    errs
}

/// The forum's programme as a UTC half-open range `[start, end)`: from `day_change` local
/// time on `first_day` to `day_change` local time on the day after `last_day` (see
/// [`util::programme_day_range`]). Sessions lie inside it (`crate::sessions`), and
/// registration closes at its end unless the forum sets `registration_closes_at`.
pub fn programme_range(f: &Forum) -> (DateTime<Utc>, DateTime<Utc>) {
    let tz: chrono_tz::Tz = f.time_zone.parse().unwrap_or(chrono_tz::UTC);
    (
        util::programme_day_range(f.first_day, tz, f.day_change).0,
        util::programme_day_range(f.last_day, tz, f.day_change).1,
    )
}

/// The instant the forum ends: the end of its last programme day ([`programme_range`]).
pub fn ends_at(f: &Forum) -> DateTime<Utc> {
    programme_range(f).1
}

/// Whether `s` is a valid forum slug.
pub fn valid_slug(s: &str) -> bool {
    let b = s.as_bytes();
    (2..=63).contains(&b.len())
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

/// The one answer to a slug that some forum already holds: 409 `already-exists` with the
/// same words whatever that forum's state — draft, published, closed or archived — and
/// whoever asks. Slugs are one public namespace: that a slug is taken is all it tells.
pub fn slug_taken(slug: &str) -> Error {
    Error::Conflict {
        kind: ConflictKind::AlreadyExists,
        message: format!("the slug `{slug}` is already taken; choose another"),
        session: None,
        errors: vec![FieldError::new("slug", "is already taken")],
    }
}

/// [`slug_taken`] for the unique index on `forums.slug`, else the database error.
pub fn unique_slug(e: sea_orm::DbErr, slug: &str) -> Error {
    match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => slug_taken(slug),
        _ => Error::Db(e),
    }
}

/// Creates a forum in status `draft`; the caller becomes its owner. One transaction.
/// Errors: 401 anonymous; 422 field errors; 409 `already-exists` for a taken slug.
pub async fn create(db: &DatabaseConnection, caller: &Caller, input: NewForum) -> Result<Forum> {
    let account_id = caller.account_id()?;
    may_create(caller)?;
    let now = crate::db::now();
    let day_change = match &input.day_change {
        Some(s) => parse_hhmm("day_change", s)?,
        None => NaiveTime::MIN,
    };
    let model = Forum {
        id: Uuid::new_v4(),
        slug: input.slug.trim().to_owned(),
        title: input.title.trim().to_owned(),
        acronym: opt_text(input.acronym),
        description: input.description.unwrap_or_default(),
        city: opt_text(input.city),
        country: opt_text(input.country).map(|c| c.to_uppercase()),
        venue: opt_text(input.venue),
        time_zone: input.time_zone.trim().to_owned(),
        first_day: input.first_day,
        last_day: input.last_day,
        day_change,
        timeslot_minutes: input.timeslot_minutes.unwrap_or(5),
        capacity: input.capacity,
        registration_mode: match input.registration_mode.unwrap_or(RegistrationMode::Open) {
            RegistrationMode::Open => "open".into(),
            RegistrationMode::Approval => "approval".into(),
        },
        registration_opens_at: input.registration_opens_at,
        registration_closes_at: input.registration_closes_at,
        languages: serde_json::json!(input.languages.unwrap_or_else(|| vec!["en".into()])),
        status: "draft".into(),
        version: 1,
        programme_version: 1,
        forum_reminder_minutes: match input.forum_reminder_minutes {
            None => DEFAULT_FORUM_REMINDER_MINUTES,
            Some(v) => v.unwrap_or(0),
        },
        session_reminder_minutes: match input.session_reminder_minutes {
            None => DEFAULT_SESSION_REMINDER_MINUTES,
            Some(v) => v.unwrap_or(0),
        },
        public_participant_list: input.public_participant_list.unwrap_or(false),
        created_at: now,
        updated_at: now,
    };
    let errs = validate(&model);
    if !errs.is_empty() {
        return Err(Error::Validation(errs));
    }
    let txn = crate::db::begin_write(db).await?;
    let slug = model.slug.clone();
    let forum = model
        .into_active_model()
        .reset_all()
        .insert(&txn)
        .await
        .map_err(|e| unique_slug(e, &slug))?;
    accounts::forum_member::ActiveModel {
        forum_id: Set(forum.id),
        account_id: Set(account_id),
        role: Set(Role::Owner),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(forum)
}

/// 403 unless the caller may create forums: an account acting without a narrower token
/// scope ([`crate::teams::Grant::may_change_account`]).
pub fn may_create(caller: &Caller) -> Result<()> {
    if caller.grant().may_change_account() {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "this token's scope does not allow creating forums",
        ))
    }
}

/// A forum together with the caller's role on it.
#[derive(Debug, Clone)]
pub struct ForumAccess {
    /// The forum row.
    pub forum: Forum,
    /// The role the caller acts with, if any (its member role narrowed by its token's
    /// scope: [`accounts::role_on`]).
    pub role: Option<Role>,
}

impl ForumAccess {
    /// Whether the caller may do what `need` covers here ([`teams::allows`]).
    pub fn may(&self, need: Permission) -> bool {
        self.role.is_some_and(|r| teams::allows(r, need))
    }

    /// The forum's time zone (validated on write, so it parses).
    pub fn tz(&self) -> chrono_tz::Tz {
        self.forum.time_zone.parse().unwrap_or(chrono_tz::UTC)
    }
}

/// Finds a forum the caller may read: public statuses for everyone, drafts for members.
/// Errors: [`Error::NotFound`] otherwise (a draft is indistinguishable from no forum).
pub async fn find_visible(
    db: &impl ConnectionTrait,
    caller: &Caller,
    slug: &str,
) -> Result<ForumAccess> {
    let forum = entity::Entity::find()
        .filter(entity::Column::Slug.eq(slug))
        .one(db)
        .await?
        .ok_or(Error::NotFound("forum"))?;
    let role = accounts::role_on(db, caller, forum.id).await?;
    let public = ForumStatus::parse(&forum.status).is_some_and(ForumStatus::is_public);
    if public || role.is_some() {
        Ok(ForumAccess { forum, role })
    } else {
        Err(Error::NotFound("forum"))
    }
}

/// Finds a forum on which the caller has the permission `need` — the one check of a
/// caller against a forum ([`ForumAccess::may`], by the table [`teams::RIGHTS`]); the
/// API's access gate calls it too, before a request's body is read.
/// Errors: 401 anonymous; 404 when the caller may not even see it; 403 when they may see
/// it but their role (narrowed by their token's scope) lacks the permission.
pub async fn find_for_write(
    db: &impl ConnectionTrait,
    caller: &Caller,
    slug: &str,
    need: Permission,
) -> Result<ForumAccess> {
    caller.account_id()?;
    let access = find_visible(db, caller, slug).await?;
    if access.may(need) {
        Ok(access)
    } else {
        Err(Error::Forbidden(
            "your role on this forum does not allow this",
        ))
    }
}

/// [`find_for_write`] for a change to what the forum holds (its settings, rooms,
/// speakers, sessions, registration form, registrations, sign-ups, check-ins, imports,
/// notification retries). Errors: as [`find_for_write`], and 409 `invalid-state` when the
/// forum is archived ([`not_archived`]).
pub async fn find_for_change(
    db: &impl ConnectionTrait,
    caller: &Caller,
    slug: &str,
    need: Permission,
) -> Result<ForumAccess> {
    let access = find_for_write(db, caller, slug, need).await?;
    not_archived(&access.forum)?;
    Ok(access)
}

/// 409 `invalid-state` when `forum` is archived: an archived forum is kept for the
/// record, read-only (its lifecycle ends there; see [`ForumStatus`]).
pub fn not_archived(forum: &Forum) -> Result<()> {
    if forum.status == ForumStatus::Archived.as_str() {
        return Err(Error::conflict(
            ConflictKind::InvalidState,
            "the forum is archived: it is kept for the record and can no longer be changed",
        ));
    }
    Ok(())
}

/// Query of `GET /forums`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct ForumQuery {
    /// Only forums in this status.
    pub status: Option<ForumStatus>,
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

/// Lists the forums the caller may read, ordered by slug, one page at a time.
pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    q: ForumQuery,
) -> Result<Page<ForumView>> {
    let limit = util::page_limit(q.limit)?;
    let mut visible = Condition::any().add(entity::Column::Status.ne("draft"));
    if let Caller::Organizer { account_id, grant } = caller {
        let member_ids: Vec<Uuid> = accounts::forum_member::Entity::find()
            .filter(accounts::forum_member::Column::AccountId.eq(*account_id))
            .all(db)
            .await?
            .into_iter()
            .map(|m| m.forum_id)
            .filter(|f| grant.forum_id.is_none_or(|g| g == *f))
            .collect();
        if !member_ids.is_empty() {
            visible = visible.add(entity::Column::Id.is_in(member_ids));
        }
    }
    let mut sel = entity::Entity::find().filter(visible);
    if let Some(s) = q.status {
        sel = sel.filter(entity::Column::Status.eq(s.as_str()));
    }
    let (rows, next_cursor) = util::keyset_page(
        db,
        sel,
        entity::Column::Slug,
        q.cursor.as_deref(),
        limit,
        |f| f.slug.clone(),
    )
    .await?;
    Ok(Page {
        items: rows.iter().map(ForumView::from).collect(),
        next_cursor,
    })
}

/// Applies a PATCH to a forum under `If-Match`, inside `txn`; the version rises by one
/// when anything changed (an empty or no-op patch changes nothing). Returns the forum and
/// [`Change::ForumChanged`] when it changed; the public operation (one transaction that
/// also applies the consequences) is `crate::effects::forums::update`.
/// Errors: 401/403/404 as [`find_for_write`]; 412 stale ETag; 422 field errors; 409 slug taken.
pub async fn update_in(
    txn: &DatabaseTransaction,
    caller: &Caller,
    slug: &str,
    if_match: Option<&str>,
    patch: ForumPatch,
) -> Result<(Forum, Vec<Change>)> {
    let access = find_for_change(txn, caller, slug, Permission::Edit).await?;
    crate::db::lock_forum(txn, access.forum.id).await?;
    let current = entity::Entity::find_by_id(access.forum.id)
        .one(txn)
        .await?
        .ok_or(Error::NotFound("forum"))?;
    util::check_if_match(if_match, current.version)?;
    let mut f = current.clone();
    if let Some(v) = patch.slug {
        f.slug = v.trim().to_owned();
    }
    if let Some(v) = patch.title {
        f.title = v.trim().to_owned();
    }
    if let Some(v) = patch.acronym {
        f.acronym = opt_text(v);
    }
    if let Some(v) = patch.description {
        f.description = v;
    }
    if let Some(v) = patch.city {
        f.city = opt_text(v);
    }
    if let Some(v) = patch.country {
        f.country = opt_text(v).map(|c| c.to_uppercase());
    }
    if let Some(v) = patch.venue {
        f.venue = opt_text(v);
    }
    if let Some(v) = patch.time_zone {
        f.time_zone = v.trim().to_owned();
    }
    if let Some(v) = patch.first_day {
        f.first_day = v;
    }
    if let Some(v) = patch.last_day {
        f.last_day = v;
    }
    if let Some(v) = patch.day_change {
        f.day_change = parse_hhmm("day_change", &v)?;
    }
    if let Some(v) = patch.timeslot_minutes {
        f.timeslot_minutes = v;
    }
    if let Some(v) = patch.capacity {
        f.capacity = v;
    }
    if let Some(v) = patch.registration_mode {
        f.registration_mode = match v {
            RegistrationMode::Open => "open".into(),
            RegistrationMode::Approval => "approval".into(),
        };
    }
    if let Some(v) = patch.registration_opens_at {
        f.registration_opens_at = v;
    }
    if let Some(v) = patch.registration_closes_at {
        f.registration_closes_at = v;
    }
    if let Some(v) = patch.languages {
        f.languages = serde_json::json!(v);
    }
    if let Some(v) = patch.forum_reminder_minutes {
        f.forum_reminder_minutes = v.unwrap_or(0);
    }
    if let Some(v) = patch.session_reminder_minutes {
        f.session_reminder_minutes = v.unwrap_or(0);
    }
    if let Some(v) = patch.public_participant_list {
        f.public_participant_list = v;
    }
    let mut errs = validate(&f);
    if errs.is_empty() && programme_range(&f) != programme_range(&current) {
        errs.extend(sessions_outside(txn, &f).await?);
    }
    if !errs.is_empty() {
        return Err(Error::Validation(errs));
    }
    if f == current {
        return Ok((current, vec![]));
    }
    f.version = current.version + 1;
    f.updated_at = crate::db::now();
    let saved = save(txn, f).await?;
    // A higher capacity promotes from the wait-list; a new first day, time zone or
    // reminder lead re-times the pending reminders (both in `effects`).
    let change = Change::ForumChanged {
        before: current,
        after: saved.clone(),
    };
    Ok((saved, vec![change]))
}

/// The complaint when scheduled sessions would fall outside `f`'s new programme days
/// ([`programme_range`]): a forum's days cannot shrink under its programme (move or
/// cancel those sessions first). Names how many and the first of them.
async fn sessions_outside(txn: &impl ConnectionTrait, f: &Forum) -> Result<Vec<FieldError>> {
    use crate::sessions::entity::session;
    let (from, to) = programme_range(f);
    let outside = session::Entity::find()
        .filter(session::Column::ForumId.eq(f.id))
        .filter(session::Column::Status.eq("scheduled"))
        .filter(
            Condition::any()
                .add(session::Column::StartsAt.lt(from))
                .add(session::Column::EndsAt.gt(to)),
        )
        .order_by_asc(session::Column::StartsAt)
        .all(txn)
        .await?;
    let Some(first) = outside.first() else {
        return Ok(vec![]);
    };
    let tz: chrono_tz::Tz = f.time_zone.parse().unwrap_or(chrono_tz::UTC);
    let field = if first.starts_at < from {
        "first_day"
    } else {
        "last_day"
    };
    Ok(vec![FieldError::new(
        field,
        format!(
            "{} scheduled session(s) would fall outside the programme days {} – {}, e.g. “{}” at {}; move or cancel them first",
            outside.len(),
            f.first_day,
            f.last_day,
            first.title,
            first.starts_at.with_timezone(&tz).fixed_offset().to_rfc3339()
        ),
    )])
}

async fn save(txn: &impl ConnectionTrait, f: Forum) -> Result<Forum> {
    let slug = f.slug.clone();
    let mut am = f.into_active_model().reset_all();
    am.id = sea_orm::ActiveValue::Unchanged(am.id.take().expect("id set"));
    am.created_at = sea_orm::ActiveValue::NotSet;
    am.update(txn).await.map_err(|e| unique_slug(e, &slug))
}

/// Moves a forum to `to` inside `txn` when the transition is allowed: draft→published,
/// published→closed, closed→published (re-open), closed→archived. Archiving returns
/// [`Change::ForumArchived`] (its pending reminders are cancelled by `effects`); the
/// public operation is `crate::effects::forums::transition`.
/// Errors: 401/403/404; 409 `invalid-state` for any other transition; 412 stale ETag.
pub async fn transition_in(
    txn: &DatabaseTransaction,
    caller: &Caller,
    slug: &str,
    if_match: Option<&str>,
    to: ForumStatus,
) -> Result<(Forum, Vec<Change>)> {
    let access = find_for_write(txn, caller, slug, Permission::Edit).await?;
    crate::db::lock_forum(txn, access.forum.id).await?;
    let mut f = entity::Entity::find_by_id(access.forum.id)
        .one(txn)
        .await?
        .ok_or(Error::NotFound("forum"))?;
    util::check_if_match(if_match, f.version)?;
    let from = ForumStatus::parse(&f.status).unwrap_or(ForumStatus::Draft);
    use ForumStatus::*;
    let allowed = matches!(
        (from, to),
        (Draft, Published) | (Published, Closed) | (Closed, Published) | (Closed, Archived)
    );
    if !allowed {
        return Err(Error::Conflict {
            kind: ConflictKind::InvalidState,
            message: format!(
                "{} {} forum cannot become {}",
                if from == Archived { "an" } else { "a" },
                from.as_str(),
                to.as_str()
            ),
            session: None,
            errors: vec![],
        });
    }
    f.status = to.as_str().into();
    f.version += 1;
    f.updated_at = crate::db::now();
    let saved = save(txn, f).await?;
    let mut changes = vec![];
    if to == Archived {
        changes.push(Change::ForumArchived { forum_id: saved.id });
    }
    Ok((saved, changes))
}

/// Deletes a draft forum and everything in it (owner only).
/// Errors: 401/403/404; 409 `invalid-state` unless the forum is a draft.
pub async fn delete(db: &DatabaseConnection, caller: &Caller, slug: &str) -> Result<()> {
    let txn = crate::db::begin_write(db).await?;
    let access = find_for_write(&txn, caller, slug, Permission::ManageTeam).await?;
    if access.forum.status != "draft" {
        return Err(Error::Conflict {
            kind: ConflictKind::InvalidState,
            message: "only a draft forum can be deleted; close or archive it instead".into(),
            session: None,
            errors: vec![],
        });
    }
    entity::Entity::delete_by_id(access.forum.id)
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// The forum with this id, unconditionally (for internal use by imports and exports).
pub async fn by_id(db: &impl ConnectionTrait, id: Uuid) -> Result<Forum> {
    entity::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(Error::NotFound("forum"))
}

#[allow(unused_imports)]
use QuerySelect as _;
