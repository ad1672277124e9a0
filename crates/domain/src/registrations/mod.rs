//! Registrations: the forum's registration form, public registration (open or approval
//! mode), capacity and wait-list, manage tokens, organizer decisions.
//!
//! # Exactness
//! Every change of who holds a forum seat runs in one transaction that first locks the
//! forum's `registration_counters` row (PostgreSQL `SELECT … FOR UPDATE`; SQLite: the
//! database write lock of `BEGIN IMMEDIATE`), then changes the registrations and the
//! counters together. So `confirmed_count ≤ capacity` (unless capacity was lowered below
//! it), counters equal row counts, and the wait-list order is `seq`, a number taken from
//! the counter row in that transaction. A freed seat (cancellation, rejection, capacity
//! increase) goes to the lowest `seq` on the wait-list in the same transaction, once.
//! Nothing here depends on the in-process [`batcher`]: it only groups work.
//!
//! Lock order (no deadlocks): forum row → forum counters → registration rows → session
//! counters (by session id) → sign-up rows.
//!
//! # One live registration per e-mail
//! A forum holds at most one registration per e-mail that is not `cancelled` (partial
//! unique index `registrations_forum_email_live_key`, migration 000007). A `rejected` one
//! counts as live: the organizer decided, and registering again answers as for a
//! duplicate. After a cancellation the person registers anew ([`register_batch`]): a new
//! row with its own id, `seq` (back of the queue), manage token and check-in code; the
//! cancelled row stays as history. Look-ups by e-mail take the live row ([`by_email`]).
//!
//! # Idempotency keys
//! A stored `Idempotency-Key` answers replays for the registrar's time to live
//! (`registration.idempotency_ttl_seconds`, default 24 h, as the IETF httpapi
//! Idempotency-Key draft and Stripe); after it the key is a new request, and
//! [`crate::idempotency::purge_expired`] deletes it (the rules: [`crate::idempotency`]).

pub mod admin;
pub mod batcher;
pub mod checkin;
pub mod entity;
pub mod signups;

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use rand::Rng;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::accounts::{self, Caller};
use crate::error::{ConflictKind, Error, FieldError, Result};
use crate::forums::{self, Forum};
use crate::notifications::{self, reminders, NewNotification};
use crate::teams::Permission;

use crate::idempotency;
pub use entity::registration::Model as Registration;
use entity::{counters, form, registration, token};

/// Prefix of participants' manage tokens.
pub const MANAGE_TOKEN_PREFIX: &str = "cvn_reg_";

/// The link that lets its holder manage one registration, as a path under
/// `http.public_base_url` ([`crate::links::Links::manage_rel`]): the outbox keeps it so,
/// and the e-mail worker and the API make it absolute with their [`crate::links::Links`].
/// The page it opens moves the token into a cookie; the token also works as
/// `Authorization: Bearer` on the API.
pub fn manage_url(forum_slug: &str, id: Uuid, token: &str) -> String {
    crate::links::Links::manage_rel(forum_slug, id, token)
}

// ---------------------------------------------------------------------------------------
// Types

/// Participant category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Mayor.
    Mayor,
    /// Municipal official.
    MunicipalOfficial,
    /// Civil society.
    CivilSociety,
    /// NGO.
    Ngo,
    /// UN or international organization.
    UnInternational,
    /// Government.
    Government,
    /// Academia.
    Academia,
    /// Media.
    Media,
    /// Other.
    Other,
}

impl Category {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Mayor => "mayor",
            Category::MunicipalOfficial => "municipal_official",
            Category::CivilSociety => "civil_society",
            Category::Ngo => "ngo",
            Category::UnInternational => "un_international",
            Category::Government => "government",
            Category::Academia => "academia",
            Category::Media => "media",
            Category::Other => "other",
        }
    }
}

/// Registration status: pending → confirmed | waitlisted | rejected; any → cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Waiting for an organizer's decision (approval mode).
    Pending,
    /// Holds a seat.
    Confirmed,
    /// On the wait-list (promoted in `seq` order when a seat frees).
    Waitlisted,
    /// Refused by an organizer.
    Rejected,
    /// Cancelled by the participant or an organizer.
    Cancelled,
}

impl Status {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Confirmed => "confirmed",
            Status::Waitlisted => "waitlisted",
            Status::Rejected => "rejected",
            Status::Cancelled => "cancelled",
        }
    }
    /// Parses a stored name.
    pub fn parse(s: &str) -> Status {
        match s {
            "confirmed" => Status::Confirmed,
            "waitlisted" => Status::Waitlisted,
            "rejected" => Status::Rejected,
            "cancelled" => Status::Cancelled,
            _ => Status::Pending,
        }
    }
}

/// Kind of a custom question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    /// Free text (answer: string, ≤ 2000 characters).
    Text,
    /// One of `options` (answer: string).
    SingleChoice,
    /// Any of `options` (answer: array of distinct strings).
    MultipleChoice,
    /// Yes or no (answer: boolean).
    YesNo,
}

/// A custom question of a forum's registration form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// Stable key of the answer: `[a-z0-9_]{1,40}`, unique in the form.
    #[serde(deserialize_with = "crate::text::line::<{ crate::text::CODE }, _, _>")]
    #[schema(max_length = 100)]
    pub id: String,
    /// The question as shown.
    #[serde(deserialize_with = "crate::text::line::<{ crate::text::TITLE }, _, _>")]
    #[schema(max_length = 300)]
    pub label: String,
    /// Kind.
    pub kind: QuestionKind,
    /// Choices (choice kinds only; 1–50 distinct, non-empty).
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::NAME }, _, _>"
    )]
    pub options: Vec<String>,
    /// Whether an answer is required.
    #[serde(default)]
    pub required: bool,
}

/// A forum's registration form: the standard fields (see [`NewRegistration`]) are always
/// asked; `questions` are the organizer's own.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RegistrationForm {
    /// Custom questions, in display order (at most 50).
    pub questions: Vec<Question>,
    /// Version (raised on every change); `0` when never set.
    #[serde(default)]
    pub version: i32,
}

/// Body of `POST /forums/{slug}/registrations` (standard fields + answers).
///
/// The person's text fields (name, organization, position, city, accessibility needs)
/// are checked by [`prepare`]'s own one-line/free-text rules with the same limits as
/// [`crate::text`], so that a form with several bad fields hears about all of them at once.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRegistration {
    /// Full name, 1–200 characters.
    #[schema(max_length = 200)]
    pub name: String,
    /// E-mail; one live (not cancelled) registration per (normalised, lower-case) e-mail
    /// per forum. After a cancellation the same e-mail may register again.
    #[serde(deserialize_with = "crate::text::line::<{ crate::text::EMAIL }, _, _>")]
    #[schema(max_length = 254)]
    pub email: String,
    /// Organization (≤ 200).
    #[serde(default)]
    #[schema(max_length = 200)]
    pub organization: Option<String>,
    /// Position / title (≤ 200).
    #[serde(default)]
    #[schema(max_length = 200)]
    pub position: Option<String>,
    /// Category.
    pub category: Category,
    /// City (≤ 200).
    #[serde(default)]
    #[schema(max_length = 200)]
    pub city: Option<String>,
    /// Country, ISO 3166-1 alpha-2.
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::CODE }, _, _>"
    )]
    #[schema(max_length = 100)]
    pub country: Option<String>,
    /// Preferred language (BCP 47), default `en`.
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::CODE }, _, _>"
    )]
    #[schema(max_length = 100)]
    pub language: Option<String>,
    /// Accessibility needs (≤ 2000).
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub accessibility_needs: Option<String>,
    /// Consent to appear on public participant lists (default false).
    #[serde(default)]
    pub public_consent: bool,
    /// Answers to the form's questions, by question id.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub answers: BTreeMap<String, serde_json::Value>,
}

/// Body of `PATCH /forums/{slug}/registrations/{id}`: absent fields stay. The e-mail
/// cannot change.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistrationPatch {
    /// New name.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub name: Option<String>,
    /// New organization.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub organization: Option<String>,
    /// New position.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub position: Option<String>,
    /// New category.
    pub category: Option<Category>,
    /// New city.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub city: Option<String>,
    /// New country (ISO 3166-1 alpha-2; empty string clears).
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::CODE }, _, _>"
    )]
    #[schema(max_length = 100)]
    pub country: Option<String>,
    /// New language.
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::CODE }, _, _>"
    )]
    #[schema(max_length = 100)]
    pub language: Option<String>,
    /// New accessibility needs.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub accessibility_needs: Option<String>,
    /// New consent.
    pub public_consent: Option<bool>,
    /// Changes to the answers, as a JSON Merge Patch (RFC 7396): a question absent here
    /// keeps its answer, `null` removes it, any other value replaces it; `"answers": null`
    /// removes every answer. The merged answers are then checked against the form.
    #[serde(default, deserialize_with = "crate::util::double_option")]
    #[schema(value_type = Option<Object>)]
    pub answers: Option<Option<BTreeMap<String, serde_json::Value>>>,
}

/// A registration as shown to its holder and to organizers.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RegistrationView {
    /// Id.
    pub id: Uuid,
    /// Arrival number in the forum (1, 2, …); wait-list order.
    pub seq: i64,
    /// Status.
    pub status: Status,
    /// 1-based place on the wait-list when wait-listed (single reads only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waitlist_position: Option<i64>,
    /// Name.
    pub name: String,
    /// Normalised e-mail.
    pub email: String,
    /// Organization.
    pub organization: String,
    /// Position.
    pub position: String,
    /// Category.
    pub category: Category,
    /// City.
    pub city: String,
    /// Country (ISO 3166-1 alpha-2).
    pub country: Option<String>,
    /// Preferred language.
    pub language: String,
    /// Accessibility needs.
    pub accessibility_needs: String,
    /// Consent to public lists.
    pub public_consent: bool,
    /// Answers by question id.
    #[schema(value_type = Object)]
    pub answers: serde_json::Value,
    /// Reason given with a rejection or cancellation.
    pub status_reason: Option<String>,
    /// Short code printed on the badge (check-in).
    pub check_in_code: String,
    /// When checked in (UTC).
    pub checked_in_at: Option<DateTime<Utc>>,
    /// Row version.
    pub version: i32,
    /// Registered at (UTC).
    pub created_at: DateTime<Utc>,
    /// Last changed (UTC).
    pub updated_at: DateTime<Utc>,
}

impl From<&Registration> for RegistrationView {
    fn from(r: &Registration) -> Self {
        RegistrationView {
            id: r.id,
            seq: r.seq,
            status: Status::parse(&r.status),
            waitlist_position: None,
            name: r.name.clone(),
            email: r.email.clone(),
            organization: r.organization.clone(),
            position: r.position.clone(),
            category: serde_json::from_value(serde_json::json!(r.category))
                .unwrap_or(Category::Other),
            city: r.city.clone(),
            country: r.country.clone(),
            language: r.language.clone(),
            accessibility_needs: r.accessibility_needs.clone(),
            public_consent: r.public_consent,
            answers: r.answers.clone(),
            status_reason: r.status_reason.clone(),
            check_in_code: r.check_in_code.clone(),
            checked_in_at: r.checked_in_at,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// Answer of a successful registration (201): the registration and its manage token,
/// shown once (only its SHA-256 is stored).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RegistrationCreated {
    /// The registration.
    pub registration: RegistrationView,
    /// Manage token (`cvn_reg_…`): `Authorization: Bearer` or `?token=` on the
    /// registration's own endpoints.
    pub manage_token: String,
    /// The manage link (also e-mailed).
    pub manage_url: String,
}

/// Who acts on a registration endpoint.
#[derive(Debug, Clone)]
pub enum Actor {
    /// An organizer (or anonymous) API caller.
    Staff(Caller),
    /// The holder of a manage token.
    Participant(String),
}

// ---------------------------------------------------------------------------------------
// Helpers

/// Increments and returns the count of notification `kind` in a `mail_counts` JSON map.
pub(crate) fn bump(counts: &mut serde_json::Value, kind: &str) -> i64 {
    if !counts.is_object() {
        *counts = serde_json::json!({});
    }
    let map = counts.as_object_mut().expect("object");
    let n = map.get(kind).and_then(|v| v.as_i64()).unwrap_or(0) + 1;
    map.insert(kind.to_owned(), serde_json::json!(n));
    n
}

/// `data.forum` of every notification.
pub(crate) fn forum_data(f: &Forum) -> serde_json::Value {
    serde_json::json!({"slug": f.slug, "title": f.title, "time_zone": f.time_zone, "city": f.city})
}

/// A short check-in code: 8 characters of Crockford base32 (no I, L, O, U).
pub fn new_check_in_code() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut rng = rand::rng();
    (0..8)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Locks the forum's counter row (creating it on first use) and returns it.
pub(crate) async fn lock_counters(
    txn: &impl ConnectionTrait,
    forum_id: Uuid,
) -> Result<counters::Model> {
    if let Some(c) = counters::Entity::find_by_id(forum_id)
        .lock_exclusive()
        .one(txn)
        .await?
    {
        return Ok(c);
    }
    counters::Entity::insert(counters::ActiveModel {
        forum_id: Set(forum_id),
        confirmed_count: Set(0),
        waitlisted_count: Set(0),
        pending_count: Set(0),
        checked_in_count: Set(0),
        next_seq: Set(1),
    })
    .on_conflict(
        OnConflict::column(counters::Column::ForumId)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    counters::Entity::find_by_id(forum_id)
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or(Error::NotFound("forum"))
}

pub(crate) async fn save_counters(txn: &impl ConnectionTrait, c: &counters::Model) -> Result<()> {
    let mut am = c.clone().into_active_model();
    am.confirmed_count = Set(c.confirmed_count);
    am.waitlisted_count = Set(c.waitlisted_count);
    am.pending_count = Set(c.pending_count);
    am.checked_in_count = Set(c.checked_in_count);
    am.next_seq = Set(c.next_seq);
    am.update(txn).await?;
    Ok(())
}

/// Whether a seat is free under `capacity` (`None` = unlimited).
pub(crate) fn seat_free(capacity: Option<i32>, confirmed: i32) -> bool {
    capacity.is_none_or(|c| confirmed < c)
}

async fn save_registration(txn: &impl ConnectionTrait, r: &Registration) -> Result<Registration> {
    let mut am = r.clone().into_active_model().reset_all();
    am.id = sea_orm::ActiveValue::Unchanged(r.id);
    Ok(am.update(txn).await?)
}

/// Inserts a new manage token for a registration and returns it in clear.
pub(crate) async fn mint_token(txn: &impl ConnectionTrait, r: &Registration) -> Result<String> {
    let t = accounts::new_token(MANAGE_TOKEN_PREFIX);
    token::ActiveModel {
        id: Set(Uuid::new_v4()),
        forum_id: Set(r.forum_id),
        registration_id: Set(r.id),
        token_hash: Set(accounts::hash_token(&t)),
        created_at: Set(crate::db::now()),
        revoked_at: Set(None),
    }
    .insert(txn)
    .await?;
    Ok(t)
}

/// Writes a participant notification about registration `r` (kind without the
/// `registration.` prefix), counting repeats in `r.mail_counts` (caller saves `r`).
/// `with_link` mints a manage token for the `manage_url`.
pub(crate) async fn notify(
    txn: &impl ConnectionTrait,
    forum: &Forum,
    r: &mut Registration,
    kind: &str,
    extra: serde_json::Value,
    with_link: bool,
) -> Result<()> {
    let n = bump(&mut r.mail_counts, kind);
    let mut data = serde_json::json!({
        "forum": forum_data(forum),
        "registration_id": r.id,
    });
    if let serde_json::Value::Object(m) = extra {
        for (k, v) in m {
            data[k] = v;
        }
    }
    if with_link {
        let t = mint_token(txn, r).await?;
        data["manage_url"] = serde_json::json!(manage_url(&forum.slug, r.id, &t));
    }
    let dedupe_key = match kind {
        "received" | "rejected" | "cancelled" => format!("registration.{kind}:{}", r.id),
        _ => format!("registration.{kind}:{}:{n}", r.id),
    };
    notifications::enqueue(
        txn,
        NewNotification {
            forum_id: forum.id,
            kind: format!("registration.{kind}"),
            recipient_email: r.email.clone(),
            recipient_name: r.name.clone(),
            language: r.language.clone(),
            data,
            dedupe_key,
            send_after: None,
        },
    )
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Form and validation

fn valid_question_id(s: &str) -> bool {
    (1..=40).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Checks a form's questions; all field errors at once.
pub fn validate_form(questions: &[Question]) -> Vec<FieldError> {
    let mut errs = vec![];
    if questions.len() > 50 {
        errs.push(FieldError::new("questions", "at most 50 questions"));
    }
    let mut seen = HashSet::new();
    for (i, q) in questions.iter().enumerate() {
        let f = |n: &str| format!("questions[{i}].{n}");
        if !valid_question_id(&q.id) {
            errs.push(FieldError::new(f("id"), "must be 1–40 of a-z, 0-9, _"));
        } else if !seen.insert(q.id.clone()) {
            errs.push(FieldError::new(f("id"), "is used twice"));
        }
        if q.label.trim().is_empty() || q.label.chars().count() > 500 {
            errs.push(FieldError::new(f("label"), "must be 1–500 characters"));
        }
        let choice = matches!(
            q.kind,
            QuestionKind::SingleChoice | QuestionKind::MultipleChoice
        );
        if choice {
            let distinct: HashSet<_> = q.options.iter().collect();
            if q.options.is_empty()
                || q.options.len() > 50
                || distinct.len() != q.options.len()
                || q.options.iter().any(|o| o.trim().is_empty())
            {
                errs.push(FieldError::new(
                    f("options"),
                    "needs 1–50 distinct, non-empty options",
                ));
            }
        } else if !q.options.is_empty() {
            errs.push(FieldError::new(f("options"), "only for choice questions"));
        }
    }
    errs
}

/// Checks answers against the questions; all field errors at once.
pub fn validate_answers(
    questions: &[Question],
    answers: &BTreeMap<String, serde_json::Value>,
) -> Vec<FieldError> {
    let mut errs = vec![];
    let by_id: HashMap<&str, &Question> = questions.iter().map(|q| (q.id.as_str(), q)).collect();
    for k in answers.keys() {
        if !by_id.contains_key(k.as_str()) {
            errs.push(FieldError::new(format!("answers.{k}"), "no such question"));
        }
    }
    for q in questions {
        let field = format!("answers.{}", q.id);
        let a = answers.get(&q.id).filter(|v| !v.is_null());
        let Some(a) = a else {
            if q.required {
                errs.push(FieldError::new(field, "is required"));
            }
            continue;
        };
        let ok = match q.kind {
            QuestionKind::Text => a
                .as_str()
                .is_some_and(|s| s.chars().count() <= 2000 && !(q.required && s.trim().is_empty())),
            QuestionKind::YesNo => a.is_boolean(),
            QuestionKind::SingleChoice => {
                a.as_str().is_some_and(|s| q.options.iter().any(|o| o == s))
            }
            QuestionKind::MultipleChoice => a.as_array().is_some_and(|xs| {
                let set: HashSet<_> = xs.iter().filter_map(|x| x.as_str()).collect();
                set.len() == xs.len()
                    && set.iter().all(|s| q.options.iter().any(|o| o == s))
                    && !(q.required && xs.is_empty())
            }),
        };
        if !ok {
            let msg = match q.kind {
                QuestionKind::Text => "must be text of at most 2000 characters".to_owned(),
                QuestionKind::YesNo => "must be true or false".to_owned(),
                QuestionKind::SingleChoice => format!("must be one of {:?}", q.options),
                QuestionKind::MultipleChoice => {
                    format!("must be a list of distinct choices from {:?}", q.options)
                }
            };
            errs.push(FieldError::new(field, msg));
        }
    }
    errs
}

/// The forum's custom questions (empty when none were set).
pub async fn questions_of(db: &impl ConnectionTrait, forum_id: Uuid) -> Result<RegistrationForm> {
    Ok(match form::Entity::find_by_id(forum_id).one(db).await? {
        Some(f) => RegistrationForm {
            questions: serde_json::from_value(f.questions).unwrap_or_default(),
            version: f.version,
        },
        None => RegistrationForm {
            questions: vec![],
            version: 0,
        },
    })
}

/// Reads a forum's registration form (anyone who may see the forum).
pub async fn get_form(
    db: &DatabaseConnection,
    caller: &Caller,
    slug: &str,
) -> Result<RegistrationForm> {
    let a = forums::find_visible(db, caller, slug).await?;
    questions_of(db, a.forum.id).await
}

/// Replaces a forum's custom questions (organizer). Errors: 401/403/404; 422.
pub async fn put_form(
    db: &DatabaseConnection,
    caller: &Caller,
    slug: &str,
    questions: Vec<Question>,
) -> Result<RegistrationForm> {
    let errs = validate_form(&questions);
    if !errs.is_empty() {
        return Err(Error::Validation(errs));
    }
    let txn = crate::db::begin_write(db).await?;
    let a = forums::find_for_change(&txn, caller, slug, Permission::Edit).await?;
    crate::db::lock_forum(&txn, a.forum.id).await?;
    let current = form::Entity::find_by_id(a.forum.id).one(&txn).await?;
    let version = current.as_ref().map_or(0, |f| f.version) + 1;
    let am = form::ActiveModel {
        forum_id: Set(a.forum.id),
        questions: Set(serde_json::json!(questions)),
        version: Set(version),
        updated_at: Set(crate::db::now()),
    };
    if current.is_some() {
        am.update(&txn).await?;
    } else {
        am.insert(&txn).await?;
    }
    txn.commit().await?;
    Ok(RegistrationForm { questions, version })
}

/// A trimmed one-line text field ([`crate::util::single_line`]) of at most `max` characters.
fn text_field(errs: &mut Vec<FieldError>, field: &str, v: Option<String>, max: usize) -> String {
    let s = trimmed_within(errs, field, v, max);
    errs.extend(crate::util::single_line(field, &s));
    s
}

/// A trimmed free-text field of at most `max` characters: line breaks and tabs are fine,
/// other control characters are not.
fn free_text_field(
    errs: &mut Vec<FieldError>,
    field: &str,
    v: Option<String>,
    max: usize,
) -> String {
    let s = trimmed_within(errs, field, v, max);
    if s.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        errs.push(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    s
}

fn trimmed_within(
    errs: &mut Vec<FieldError>,
    field: &str,
    v: Option<String>,
    max: usize,
) -> String {
    let s = v.map(|s| s.trim().to_owned()).unwrap_or_default();
    if s.chars().count() > max {
        errs.push(FieldError::new(field, format!("at most {max} characters")));
    }
    s
}

fn check_country(errs: &mut Vec<FieldError>, c: Option<String>) -> Option<String> {
    let c = c.map(|c| c.trim().to_uppercase()).filter(|c| !c.is_empty());
    if let Some(code) = &c {
        if code.len() != 2 || celes::Country::from_alpha2(code).is_err() {
            errs.push(FieldError::new(
                "country",
                format!("`{code}` is not an ISO 3166-1 alpha-2 code"),
            ));
        }
    }
    c
}

fn check_language(errs: &mut Vec<FieldError>, l: Option<String>) -> String {
    let l = l
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| "en".into());
    if language_tags::LanguageTag::parse(&l).is_err() {
        errs.push(FieldError::new(
            "language",
            format!("`{l}` is not a BCP 47 tag"),
        ));
    }
    l
}

/// A registration request validated outside any transaction, ready for
/// [`register_batch`].
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The forum it is for.
    pub forum_id: Uuid,
    /// The row to insert (id, seq, status, tokens are set in the transaction).
    pub row: Registration,
    /// `Idempotency-Key` header, if any.
    pub idempotency_key: Option<String>,
    /// SHA-256 of the canonical body.
    pub fingerprint: String,
}

/// Validates a registration request for the forum `slug` (visible to the public) and
/// returns it ready for [`register_batch`]. Errors: 404 (no such public forum), 422.
pub async fn prepare(
    db: &impl ConnectionTrait,
    slug: &str,
    input: NewRegistration,
    idempotency_key: Option<String>,
) -> Result<Prepared> {
    let access = forums::find_visible(db, &Caller::Anonymous, slug).await?;
    if let Some(k) = &idempotency_key {
        idempotency::check_key(k)?;
    }
    let fingerprint = idempotency::fingerprint(&input);
    let form = questions_of(db, access.forum.id).await?;
    let mut errs = vec![];
    let email = match accounts::normalise_email("email", &input.email) {
        Ok(e) => e,
        Err(Error::Validation(mut e)) => {
            errs.append(&mut e);
            String::new()
        }
        Err(e) => return Err(e),
    };
    let name = text_field(&mut errs, "name", Some(input.name), 200);
    if name.is_empty() {
        errs.push(FieldError::new("name", "is required"));
    }
    let organization = text_field(&mut errs, "organization", input.organization, 200);
    let position = text_field(&mut errs, "position", input.position, 200);
    let city = text_field(&mut errs, "city", input.city, 200);
    let accessibility_needs = free_text_field(
        &mut errs,
        "accessibility_needs",
        input.accessibility_needs,
        2000,
    );
    let country = check_country(&mut errs, input.country);
    let language = check_language(&mut errs, input.language);
    errs.extend(validate_answers(&form.questions, &input.answers));
    if !errs.is_empty() {
        return Err(Error::Validation(errs));
    }
    let now = crate::db::now();
    Ok(Prepared {
        forum_id: access.forum.id,
        row: Registration {
            id: Uuid::new_v4(),
            forum_id: access.forum.id,
            seq: 0,
            email,
            name,
            organization,
            position,
            category: input.category.as_str().into(),
            city,
            country,
            language,
            accessibility_needs,
            public_consent: input.public_consent,
            answers: serde_json::json!(input.answers),
            status: "pending".into(),
            status_reason: None,
            check_in_code: new_check_in_code(),
            checked_in_at: None,
            mail_counts: serde_json::json!({}),
            version: 1,
            created_at: now,
            updated_at: now,
        },
        idempotency_key,
        fingerprint,
    })
}

/// The instant registration closes for `f`: its `registration_closes_at` when set, else
/// the end of the forum's last programme day ([`crate::forums::ends_at`]), as pretix
/// closes sales at the event's end.
pub fn registration_closes_at(f: &Forum) -> DateTime<Utc> {
    f.registration_closes_at
        .unwrap_or_else(|| crate::forums::ends_at(f))
}

/// Whether registration is open for `f` at `now`: published, from `registration_opens_at`
/// (if set) until [`registration_closes_at`]. Errors: [`Error::RegistrationClosed`] (409
/// `registration-closed`) with the instant it closed or opens.
pub fn registration_open(f: &Forum, now: DateTime<Utc>) -> Result<()> {
    if f.status != "published" {
        return Err(Error::RegistrationClosed {
            message: format!("registration is closed: the forum is {}", f.status),
            closed_at: None,
            opens_at: None,
        });
    }
    if let Some(o) = f.registration_opens_at.filter(|o| now < *o) {
        return Err(Error::RegistrationClosed {
            message: format!("registration opens at {}", o.to_rfc3339()),
            closed_at: None,
            opens_at: Some(o),
        });
    }
    let c = registration_closes_at(f);
    if now >= c {
        return Err(Error::RegistrationClosed {
            message: format!(
                "registration closed at {}{}",
                c.to_rfc3339(),
                if f.registration_closes_at.is_none() {
                    " (the end of the forum)"
                } else {
                    ""
                }
            ),
            closed_at: Some(c),
            opens_at: None,
        });
    }
    Ok(())
}

/// What a person registering now would get: shown on the forum's public page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RegistrationState {
    /// Open mode with a free seat and nobody waiting: confirmed at once.
    Open,
    /// Open mode, every seat taken (or people already waiting): wait-listed.
    Waitlist,
    /// Approval mode: pending until an organizer decides.
    Approval,
    /// Not published, or outside the registration window ([`registration_open`]).
    Closed,
}

/// The [`RegistrationState`] of `f` at `now`, by the same rules as [`register_batch`]
/// (window, mode, seat free and nobody waiting). One read of the forum's counters.
pub async fn public_state(
    db: &impl ConnectionTrait,
    f: &Forum,
    now: DateTime<Utc>,
) -> Result<RegistrationState> {
    if registration_open(f, now).is_err() {
        return Ok(RegistrationState::Closed);
    }
    if f.registration_mode == "approval" {
        return Ok(RegistrationState::Approval);
    }
    let c = counters_of(db, f.id).await?;
    Ok(if seat_free(f.capacity, c.confirmed) && c.waitlisted == 0 {
        RegistrationState::Open
    } else {
        RegistrationState::Waitlist
    })
}

/// What one registration request of a batch came to.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Created (201).
    Created(Box<RegistrationCreated>),
    /// A replay of an earlier request with the same `Idempotency-Key` and body: the
    /// stored answer, with a fresh manage token for the same registration.
    Replayed(Box<RegistrationCreated>),
}

/// Applies many registration requests of **one** forum in one transaction (one lock of
/// the counter row, one commit), in order; each gets its own result. This is the group
/// commit of the [`batcher`]; a batch of one is the plain path.
///
/// Per request: `Idempotency-Key` stored less than `idempotency_ttl` ago with the same body
/// → the stored registration again ([`Outcome::Replayed`]); with another body → 422; held
/// by a concurrent transaction (PostgreSQL advisory lock) → 409 `idempotency-key-in-flight`.
/// A key stored `idempotency_ttl` or longer ago has expired: the request is new, and the
/// stored row is replaced (see [`idempotency::purge_expired`] for the others). An e-mail with a
/// live (not cancelled) registration — `rejected` included — → 409 `already-registered`,
/// and that registration's manage link is e-mailed (at most once a minute) — the answer
/// shows nothing of it. A person whose registrations are all cancelled registers anew (new
/// id, `seq`, token and check-in code; the cancelled rows stay). Otherwise the registration is
/// inserted as `confirmed` (open mode, seat free), `waitlisted` (open mode, full) or
/// `pending` (approval mode), with its outbox row. Errors for the whole batch: registration
/// closed (409), database.
pub async fn register_batch(
    db: &DatabaseConnection,
    forum_id: Uuid,
    jobs: Vec<Prepared>,
    idempotency_ttl: chrono::Duration,
) -> Result<Vec<Result<Outcome>>> {
    let txn = crate::db::begin_write(db).await?;
    // The forum start that reminders are scheduled for holds until this commits.
    crate::db::lock_forum_shared(&txn, forum_id).await?;
    let mut ctr = lock_counters(&txn, forum_id).await?;
    let forum = forums::by_id(&txn, forum_id).await?;
    let now = crate::db::now();
    registration_open(&forum, now)?;
    // Confirmed registrations get their forum reminder in this transaction.
    let forum_start = if forum.registration_mode == "open" && forum.forum_reminder_minutes > 0 {
        Some(reminders::forum_start(&txn, &forum).await?)
    } else {
        None
    };

    // Idempotency keys already used.
    let keys: Vec<String> = jobs
        .iter()
        .filter_map(|j| j.idempotency_key.clone())
        .collect();
    // Keys stored so long ago that they expired (`expired`): a request with one is new.
    let (stored, expired) =
        idempotency::find_many(&txn, forum_id, &keys, now, idempotency_ttl).await?;
    // E-mails with a live registration (one at most: `registrations_forum_email_live_key`).
    let emails: Vec<String> = jobs.iter().map(|j| j.row.email.clone()).collect();
    let mut known: HashMap<String, Uuid> = registration::Entity::find()
        .select_only()
        .column(registration::Column::Email)
        .column(registration::Column::Id)
        .filter(registration::Column::ForumId.eq(forum_id))
        .filter(registration::Column::Email.is_in(emails))
        .filter(registration::Column::Status.ne(Status::Cancelled.as_str()))
        .into_tuple::<(String, Uuid)>()
        .all(&txn)
        .await?
        .into_iter()
        .collect();

    let approval = forum.registration_mode == "approval";
    let mut results = Vec::with_capacity(jobs.len());
    let mut rows = vec![];
    let mut tokens = vec![];
    let mut keys_rows = vec![];
    let mut mails = vec![];
    let mut keys_in_batch: HashSet<String> = HashSet::new();
    for job in jobs {
        if let Some(k) = &job.idempotency_key {
            if let Some(s) = stored.get(k) {
                if s.fingerprint != job.fingerprint {
                    results.push(Err(idempotency::different_body()));
                    continue;
                }
                let mut created: RegistrationCreated =
                    match serde_json::from_value(s.response.clone()) {
                        Ok(c) => c,
                        Err(e) => {
                            tracing::error!(error = %e, "stored idempotent response unreadable");
                            results.push(Err(Error::conflict(
                                ConflictKind::AlreadyRegistered,
                                "this request was already processed",
                            )));
                            continue;
                        }
                    };
                let reg = registration::Entity::find_by_id(created.registration.id)
                    .one(&txn)
                    .await?;
                if let Some(reg) = reg {
                    let t = mint_token(&txn, &reg).await?;
                    created.manage_url = manage_url(&forum.slug, reg.id, &t);
                    created.manage_token = t;
                }
                results.push(Ok(Outcome::Replayed(Box::new(created))));
                continue;
            }
            if !keys_in_batch.insert(k.clone()) || !idempotency::try_lock(&txn, forum_id, k).await?
            {
                results.push(Err(idempotency::in_flight()));
                continue;
            }
        }
        if let Some(existing) = known.get(&job.row.email).copied() {
            resend_link_in(&txn, &forum, existing, &job.row.email).await?;
            results.push(Err(Error::conflict(
                ConflictKind::AlreadyRegistered,
                "this e-mail is already registered for this forum; its manage link has been e-mailed to it",
            )));
            continue;
        }
        let mut r = job.row;
        r.seq = ctr.next_seq;
        ctr.next_seq += 1;
        r.created_at = now;
        r.updated_at = now;
        let kind;
        if approval {
            r.status = Status::Pending.as_str().into();
            ctr.pending_count += 1;
            kind = "received";
        } else if seat_free(forum.capacity, ctr.confirmed_count) && ctr.waitlisted_count == 0 {
            r.status = Status::Confirmed.as_str().into();
            ctr.confirmed_count += 1;
            kind = "confirmed";
        } else {
            r.status = Status::Waitlisted.as_str().into();
            ctr.waitlisted_count += 1;
            kind = "waitlisted";
        }
        let n = bump(&mut r.mail_counts, kind);
        let t = accounts::new_token(MANAGE_TOKEN_PREFIX);
        let url = manage_url(&forum.slug, r.id, &t);
        let mut data = serde_json::json!({
            "forum": forum_data(&forum),
            "registration_id": r.id,
            "manage_url": url,
        });
        if kind == "confirmed" {
            data["check_in_code"] = serde_json::json!(r.check_in_code);
        }
        let dedupe_key = if kind == "received" {
            format!("registration.received:{}", r.id)
        } else {
            format!("registration.{kind}:{}:{n}", r.id)
        };
        mails.push(NewNotification {
            forum_id,
            kind: format!("registration.{kind}"),
            recipient_email: r.email.clone(),
            recipient_name: r.name.clone(),
            language: r.language.clone(),
            data,
            dedupe_key,
            send_after: None,
        });
        if let (Some(start), "confirmed") = (forum_start, kind) {
            mails.extend(reminders::forum_reminder(&forum, start, &r, now));
        }
        tokens.push(token::ActiveModel {
            id: Set(Uuid::new_v4()),
            forum_id: Set(forum_id),
            registration_id: Set(r.id),
            token_hash: Set(accounts::hash_token(&t)),
            created_at: Set(now),
            revoked_at: Set(None),
        });
        known.insert(r.email.clone(), r.id);
        let mut view = RegistrationView::from(&r);
        if r.status == "waitlisted" {
            view.waitlist_position = Some(ctr.waitlisted_count as i64);
        }
        let created = RegistrationCreated {
            registration: view,
            manage_token: t,
            manage_url: url,
        };
        if let Some(k) = &job.idempotency_key {
            let mut stored = serde_json::to_value(&created).unwrap_or_default();
            // Never keep a token in clear: a replay mints a new one.
            stored["manage_token"] = serde_json::json!("");
            stored["manage_url"] = serde_json::json!("");
            keys_rows.push(idempotency::row(
                forum_id,
                k,
                &job.fingerprint,
                201,
                stored,
                now,
            ));
        }
        rows.push(r.into_active_model());
        results.push(Ok(Outcome::Created(Box::new(created))));
    }
    for chunk in rows.chunks(200) {
        registration::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&txn)
            .await?;
    }
    for chunk in tokens.chunks(500) {
        token::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&txn)
            .await?;
    }
    // Only the expired keys that are used again now.
    idempotency::delete_expired(&txn, forum_id, expired, now - idempotency_ttl).await?;
    idempotency::store(&txn, keys_rows).await?;
    notifications::enqueue_many(&txn, mails).await?;
    save_counters(&txn, &ctr).await?;
    txn.commit().await?;
    Ok(results)
}

/// E-mails a new manage link for the registration `id` unless one went out in this minute
/// (dedupe key `registration.manage_link:<id>:<minute>`).
async fn resend_link_in(
    txn: &impl ConnectionTrait,
    forum: &Forum,
    id: Uuid,
    email: &str,
) -> Result<()> {
    let Some(r) = registration::Entity::find_by_id(id).one(txn).await? else {
        return Ok(());
    };
    let minute = crate::db::now().timestamp() / 60;
    let dedupe_key = format!("registration.manage_link:{id}:{minute}");
    let exists = notifications::entity::Entity::find()
        .filter(notifications::entity::Column::DedupeKey.eq(dedupe_key.clone()))
        .count(txn)
        .await?
        > 0;
    if exists {
        return Ok(());
    }
    let t = mint_token(txn, &r).await?;
    notifications::enqueue(
        txn,
        NewNotification {
            forum_id: forum.id,
            kind: "registration.manage_link".into(),
            recipient_email: email.to_owned(),
            recipient_name: r.name.clone(),
            language: r.language.clone(),
            data: serde_json::json!({
                "forum": forum_data(forum),
                "manage_url": manage_url(&forum.slug, id, &t),
            }),
            dedupe_key,
            send_after: None,
        },
    )
    .await?;
    Ok(())
}

/// The registration that answers for `email` in a forum: the live one (not cancelled; at
/// most one, by `registrations_forum_email_live_key`), else the latest cancelled one (the
/// person's history), else none.
pub async fn by_email(
    db: &impl ConnectionTrait,
    forum_id: Uuid,
    email: &str,
) -> Result<Option<Registration>> {
    let rows = registration::Entity::find()
        .filter(registration::Column::ForumId.eq(forum_id))
        .filter(registration::Column::Email.eq(email))
        .order_by_desc(registration::Column::Seq)
        .all(db)
        .await?;
    let live = rows
        .iter()
        .position(|r| r.status != Status::Cancelled.as_str());
    Ok(match live {
        Some(i) => rows.into_iter().nth(i),
        None => rows.into_iter().next(),
    })
}

/// `POST /forums/{slug}/registrations/resend-link`: e-mails the manage link of the
/// registration with this e-mail (see [`by_email`]: the live one, else the latest
/// cancelled one), if there is one (at most once a minute). The answer is the same whether
/// or not one exists. Errors: 404 forum; 422 e-mail.
pub async fn resend_link(db: &DatabaseConnection, slug: &str, email: &str) -> Result<()> {
    let email = accounts::normalise_email("email", email)?;
    let access = forums::find_visible(db, &Caller::Anonymous, slug).await?;
    let txn = crate::db::begin_write(db).await?;
    let found = by_email(&txn, access.forum.id, &email).await?;
    if let Some(r) = found {
        resend_link_in(&txn, &access.forum, r.id, &email).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// E-mails a fresh manage link to the holder of registration `id` (asked from the manage
/// page: the holder's token, or staff), through the outbox like every e-mail, at most once
/// a minute (as [`resend_link`]). The link already held stays valid. Errors: 401/403/404.
pub async fn send_fresh_link(
    db: &DatabaseConnection,
    actor: &Actor,
    slug: &str,
    id: Uuid,
) -> Result<()> {
    let txn = crate::db::begin_write(db).await?;
    let (forum, r) = resolve(&txn, actor, slug, id, Permission::Edit).await?;
    resend_link_in(&txn, &forum, r.id, &r.email).await?;
    txn.commit().await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Access to one registration

/// Resolves the forum and registration `id` for `actor`: a participant token reaches
/// only its own registration (404 otherwise; unknown or revoked token → 401); staff need
/// `need` on the forum (401/403/404 as [`forums::find_for_write`]).
pub async fn resolve(
    db: &impl ConnectionTrait,
    actor: &Actor,
    slug: &str,
    id: Uuid,
    need: Permission,
) -> Result<(Forum, Registration)> {
    match actor {
        Actor::Participant(t) => {
            let tok = token::Entity::find()
                .filter(token::Column::TokenHash.eq(accounts::hash_token(t)))
                .one(db)
                .await?;
            let tok = match tok {
                Some(t) if t.revoked_at.is_none() => t,
                _ => {
                    return Err(Error::TokenRefused(format!(
                        "this endpoint takes the registration's manage token (`cvn_reg_…`, from \
                         the manage link) or an organizer's API token (`cvn_org_…`); this manage \
                         token is unknown or was replaced by a newer link — use the latest link, \
                         or get it again: POST /api/v1/forums/{slug}/registrations/resend-link \
                         with your e-mail address"
                    )))
                }
            };
            let forum = forums::entity::Entity::find()
                .filter(forums::entity::Column::Slug.eq(slug))
                .one(db)
                .await?
                .ok_or(Error::NotFound("registration"))?;
            if tok.registration_id != id || tok.forum_id != forum.id {
                return Err(Error::NotFound("registration"));
            }
            let r = registration::Entity::find_by_id(id)
                .one(db)
                .await?
                .ok_or(Error::NotFound("registration"))?;
            Ok((forum, r))
        }
        Actor::Staff(caller) => {
            let a = forums::find_for_write(db, caller, slug, need).await?;
            let r = registration::Entity::find_by_id(id)
                .one(db)
                .await?
                .filter(|r| r.forum_id == a.forum.id)
                .ok_or(Error::NotFound("registration"))?;
            Ok((a.forum, r))
        }
    }
}

/// Locks one registration row (PostgreSQL `FOR UPDATE`) and returns it fresh.
pub(crate) async fn lock_registration(
    txn: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Registration> {
    registration::Entity::find_by_id(id)
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or(Error::NotFound("registration"))
}

async fn with_position(db: &impl ConnectionTrait, r: &Registration) -> Result<RegistrationView> {
    let mut v = RegistrationView::from(r);
    if r.status == "waitlisted" {
        let ahead = registration::Entity::find()
            .filter(registration::Column::ForumId.eq(r.forum_id))
            .filter(registration::Column::Status.eq("waitlisted"))
            .filter(registration::Column::Seq.lte(r.seq))
            .count(db)
            .await?;
        v.waitlist_position = Some(ahead as i64);
    }
    Ok(v)
}

/// Reads one registration (its holder, or check-in staff and up).
pub async fn get(
    db: &DatabaseConnection,
    actor: &Actor,
    slug: &str,
    id: Uuid,
) -> Result<RegistrationView> {
    let (_, r) = resolve(db, actor, slug, id, Permission::Read).await?;
    with_position(db, &r).await
}

/// Updates a registration's own fields (holder or organizer). Errors: 401/403/404; 422;
/// 409 `invalid-state` once cancelled or rejected.
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    slug: &str,
    id: Uuid,
    p: RegistrationPatch,
) -> Result<RegistrationView> {
    let txn = crate::db::begin_write(db).await?;
    let (forum, _) = resolve(&txn, actor, slug, id, Permission::Edit).await?;
    crate::forums::not_archived(&forum)?;
    let mut r = lock_registration(&txn, id).await?;
    if matches!(
        Status::parse(&r.status),
        Status::Cancelled | Status::Rejected
    ) {
        return Err(Error::conflict(
            ConflictKind::InvalidState,
            format!("a {} registration cannot be changed", r.status),
        ));
    }
    let before = r.clone();
    let mut errs = vec![];
    if let Some(v) = p.name {
        r.name = text_field(&mut errs, "name", Some(v), 200);
        if r.name.is_empty() {
            errs.push(FieldError::new("name", "is required"));
        }
    }
    if let Some(v) = p.organization {
        r.organization = text_field(&mut errs, "organization", Some(v), 200);
    }
    if let Some(v) = p.position {
        r.position = text_field(&mut errs, "position", Some(v), 200);
    }
    if let Some(v) = p.category {
        r.category = v.as_str().into();
    }
    if let Some(v) = p.city {
        r.city = text_field(&mut errs, "city", Some(v), 200);
    }
    if let Some(v) = p.country {
        r.country = check_country(&mut errs, Some(v));
    }
    if let Some(v) = p.language {
        r.language = check_language(&mut errs, Some(v));
    }
    if let Some(v) = p.accessibility_needs {
        r.accessibility_needs = free_text_field(&mut errs, "accessibility_needs", Some(v), 2000);
    }
    if let Some(v) = p.public_consent {
        r.public_consent = v;
    }
    if let Some(a) = p.answers {
        let mut merged = r.answers.clone();
        crate::util::merge_patch(&mut merged, &serde_json::json!(a));
        let merged: BTreeMap<String, serde_json::Value> =
            serde_json::from_value(merged).unwrap_or_default();
        let form = questions_of(&txn, forum.id).await?;
        errs.extend(validate_answers(&form.questions, &merged));
        r.answers = serde_json::json!(merged);
    }
    if !errs.is_empty() {
        return Err(Error::Validation(errs));
    }
    if r != before {
        r.version += 1;
        r.updated_at = crate::db::now();
        r = save_registration(&txn, &r).await?;
    }
    let v = with_position(&txn, &r).await?;
    txn.commit().await?;
    Ok(v)
}

/// Revokes every manage token of the registration and returns a new one (holder or
/// organizer). The old tokens answer 401 from now on.
pub async fn rotate_token(
    db: &DatabaseConnection,
    actor: &Actor,
    slug: &str,
    id: Uuid,
) -> Result<RegistrationCreated> {
    let txn = crate::db::begin_write(db).await?;
    let (forum, r) = resolve(&txn, actor, slug, id, Permission::Edit).await?;
    token::Entity::update_many()
        .col_expr(
            token::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(crate::db::now()),
        )
        .filter(token::Column::RegistrationId.eq(id))
        .filter(token::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    let t = mint_token(&txn, &r).await?;
    let v = with_position(&txn, &r).await?;
    txn.commit().await?;
    Ok(RegistrationCreated {
        registration: v,
        manage_url: manage_url(&forum.slug, id, &t),
        manage_token: t,
    })
}

// ---------------------------------------------------------------------------------------
// Transitions

/// Promotes the longest-waiting people while seats are free, once per free seat. Runs
/// with the counter row locked; `ctr` is updated (the caller saves it).
pub(crate) async fn promote_waiting(
    txn: &impl ConnectionTrait,
    forum: &Forum,
    ctr: &mut counters::Model,
) -> Result<Vec<Uuid>> {
    let mut promoted = vec![];
    while ctr.waitlisted_count > 0 && seat_free(forum.capacity, ctr.confirmed_count) {
        let free = match forum.capacity {
            Some(c) => (c - ctr.confirmed_count).min(ctr.waitlisted_count),
            None => ctr.waitlisted_count,
        };
        let next = registration::Entity::find()
            .filter(registration::Column::ForumId.eq(forum.id))
            .filter(registration::Column::Status.eq("waitlisted"))
            .order_by_asc(registration::Column::Seq)
            .limit(free.max(1) as u64)
            .lock_exclusive()
            .all(txn)
            .await?;
        if next.is_empty() {
            tracing::error!(forum = %forum.id, "wait-list counter says more than the rows");
            break;
        }
        for mut r in next {
            r.status = Status::Confirmed.as_str().into();
            r.version += 1;
            r.updated_at = crate::db::now();
            ctr.waitlisted_count -= 1;
            ctr.confirmed_count += 1;
            let code = r.check_in_code.clone();
            notify(
                txn,
                forum,
                &mut r,
                "promoted",
                serde_json::json!({"check_in_code": code}),
                true,
            )
            .await?;
            let r = save_registration(txn, &r).await?;
            promoted.push(r);
        }
    }
    reminders::schedule_forum(txn, forum, &promoted).await?;
    Ok(promoted.into_iter().map(|r| r.id).collect())
}

/// Called by [`forums::update`] in its transaction when the capacity changed: a higher
/// capacity promotes from the wait-list; a lower one never promotes or un-confirms.
pub async fn capacity_changed(txn: &impl ConnectionTrait, forum: &Forum) -> Result<()> {
    let mut ctr = lock_counters(txn, forum.id).await?;
    let promoted = promote_waiting(txn, forum, &mut ctr).await?;
    if !promoted.is_empty() {
        save_counters(txn, &ctr).await?;
    }
    Ok(())
}

/// Body of cancel / reject.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    /// Why (≤ 2000 characters), shown to the participant.
    #[serde(
        default,
        deserialize_with = "crate::text::text::<{ crate::text::REASON }, _, _>"
    )]
    #[schema(max_length = 2000)]
    pub reason: Option<String>,
}

/// Body of `POST …/{id}/promote`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromoteOptions {
    /// Raise the forum's capacity by one to make room when no seat is free.
    #[serde(default)]
    pub raise_capacity: bool,
}

fn reason_text(r: Option<String>) -> Result<Option<String>> {
    let r = r.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    if r.as_ref().is_some_and(|s| s.chars().count() > 2000) {
        return Err(Error::field("reason", "at most 2000 characters"));
    }
    Ok(r)
}

/// Takes a registration out (to `cancelled` or `rejected`) with the counter row locked:
/// frees its seat (promoting the next in line) and its session seats.
async fn leave(
    txn: &impl ConnectionTrait,
    forum: &Forum,
    ctr: &mut counters::Model,
    mut r: Registration,
    to: Status,
    reason: Option<String>,
    by: &str,
) -> Result<Registration> {
    let from = Status::parse(&r.status);
    match from {
        Status::Confirmed => ctr.confirmed_count -= 1,
        Status::Waitlisted => ctr.waitlisted_count -= 1,
        Status::Pending => ctr.pending_count -= 1,
        Status::Cancelled | Status::Rejected => {}
    }
    r.status = to.as_str().into();
    r.status_reason = reason.clone();
    r.version += 1;
    r.updated_at = crate::db::now();
    let (kind, extra) = if to == Status::Rejected {
        ("rejected", serde_json::json!({"reason": reason}))
    } else {
        ("cancelled", serde_json::json!({"reason": reason, "by": by}))
    };
    notify(txn, forum, &mut r, kind, extra, false).await?;
    let r = save_registration(txn, &r).await?;
    reminders::cancel_registration(txn, forum.id, r.id).await?;
    signups::release_all(txn, forum, r.id).await?;
    if from == Status::Confirmed {
        promote_waiting(txn, forum, ctr).await?;
    }
    Ok(r)
}

/// Cancels a registration (holder or organizer), with an optional reason. Idempotent on a
/// cancelled one. Frees the seat and session seats; the next in line is promoted in the
/// same transaction. Errors: 401/403/404; 409 `invalid-state` when rejected.
pub async fn cancel(
    db: &DatabaseConnection,
    actor: &Actor,
    slug: &str,
    id: Uuid,
    reason: Reason,
) -> Result<RegistrationView> {
    let reason = reason_text(reason.reason)?;
    let txn = crate::db::begin_write(db).await?;
    let (forum, _) = resolve(&txn, actor, slug, id, Permission::Edit).await?;
    crate::forums::not_archived(&forum)?;
    crate::db::lock_forum_shared(&txn, forum.id).await?;
    let mut ctr = lock_counters(&txn, forum.id).await?;
    let forum = forums::by_id(&txn, forum.id).await?;
    let r = lock_registration(&txn, id).await?;
    let by = if matches!(actor, Actor::Participant(_)) {
        "participant"
    } else {
        "organizer"
    };
    let r = match Status::parse(&r.status) {
        Status::Cancelled => r,
        Status::Rejected => {
            return Err(Error::conflict(
                ConflictKind::InvalidState,
                "a rejected registration cannot be cancelled",
            ))
        }
        _ => {
            let r = leave(&txn, &forum, &mut ctr, r, Status::Cancelled, reason, by).await?;
            save_counters(&txn, &ctr).await?;
            r
        }
    };
    let v = RegistrationView::from(&r);
    txn.commit().await?;
    Ok(v)
}

/// Rejects a registration (organizer), from pending, wait-listed or confirmed. Idempotent
/// on a rejected one. Errors: 401/403/404; 409 `invalid-state` when cancelled.
pub async fn reject(
    db: &DatabaseConnection,
    caller: &Caller,
    slug: &str,
    id: Uuid,
    reason: Reason,
) -> Result<RegistrationView> {
    let reason = reason_text(reason.reason)?;
    let txn = crate::db::begin_write(db).await?;
    let actor = Actor::Staff(caller.clone());
    let (forum, _) = resolve(&txn, &actor, slug, id, Permission::Edit).await?;
    crate::forums::not_archived(&forum)?;
    crate::db::lock_forum_shared(&txn, forum.id).await?;
    let mut ctr = lock_counters(&txn, forum.id).await?;
    let forum = forums::by_id(&txn, forum.id).await?;
    let r = lock_registration(&txn, id).await?;
    let r = match Status::parse(&r.status) {
        Status::Rejected => r,
        Status::Cancelled => {
            return Err(Error::conflict(
                ConflictKind::InvalidState,
                "a cancelled registration cannot be rejected",
            ))
        }
        _ => {
            let r = leave(
                &txn,
                &forum,
                &mut ctr,
                r,
                Status::Rejected,
                reason,
                "organizer",
            )
            .await?;
            save_counters(&txn, &ctr).await?;
            r
        }
    };
    let v = RegistrationView::from(&r);
    txn.commit().await?;
    Ok(v)
}

/// Approves a pending registration (organizer): confirmed when a seat is free, else
/// wait-listed at the end. Idempotent on a confirmed or wait-listed one.
/// Errors: 401/403/404; 409 `invalid-state` when rejected or cancelled.
pub async fn approve(
    db: &DatabaseConnection,
    caller: &Caller,
    slug: &str,
    id: Uuid,
) -> Result<RegistrationView> {
    let txn = crate::db::begin_write(db).await?;
    let actor = Actor::Staff(caller.clone());
    let (forum, _) = resolve(&txn, &actor, slug, id, Permission::Edit).await?;
    crate::forums::not_archived(&forum)?;
    crate::db::lock_forum_shared(&txn, forum.id).await?;
    let mut ctr = lock_counters(&txn, forum.id).await?;
    let forum = forums::by_id(&txn, forum.id).await?;
    let mut r = lock_registration(&txn, id).await?;
    match Status::parse(&r.status) {
        Status::Confirmed | Status::Waitlisted => {}
        Status::Rejected | Status::Cancelled => {
            return Err(Error::conflict(
                ConflictKind::InvalidState,
                format!("a {} registration cannot be approved", r.status),
            ))
        }
        Status::Pending => {
            ctr.pending_count -= 1;
            r.version += 1;
            r.updated_at = crate::db::now();
            if seat_free(forum.capacity, ctr.confirmed_count) && ctr.waitlisted_count == 0 {
                r.status = Status::Confirmed.as_str().into();
                ctr.confirmed_count += 1;
                let code = r.check_in_code.clone();
                notify(
                    &txn,
                    &forum,
                    &mut r,
                    "confirmed",
                    serde_json::json!({"check_in_code": code}),
                    true,
                )
                .await?;
            } else {
                r.status = Status::Waitlisted.as_str().into();
                r.seq = ctr.next_seq;
                ctr.next_seq += 1;
                ctr.waitlisted_count += 1;
                notify(
                    &txn,
                    &forum,
                    &mut r,
                    "waitlisted",
                    serde_json::json!({}),
                    true,
                )
                .await?;
            }
            r = save_registration(&txn, &r).await?;
            save_counters(&txn, &ctr).await?;
            if r.status == Status::Confirmed.as_str() {
                reminders::schedule_forum(&txn, &forum, std::slice::from_ref(&r)).await?;
            }
        }
    }
    let v = with_position(&txn, &r).await?;
    txn.commit().await?;
    Ok(v)
}

/// Moves a wait-listed person to confirmed by hand (organizer), ahead of the queue. Needs
/// a free seat — or `raise_capacity`, which raises the forum's capacity by one in the same
/// transaction. Errors: 401/403/404; 409 `invalid-state` unless wait-listed, 409
/// `capacity-reached` when no seat is free.
pub async fn promote(
    db: &DatabaseConnection,
    caller: &Caller,
    slug: &str,
    id: Uuid,
    opts: PromoteOptions,
) -> Result<RegistrationView> {
    let txn = crate::db::begin_write(db).await?;
    let actor = Actor::Staff(caller.clone());
    let (forum, _) = resolve(&txn, &actor, slug, id, Permission::Edit).await?;
    crate::forums::not_archived(&forum)?;
    crate::db::lock_forum(&txn, forum.id).await?;
    let mut ctr = lock_counters(&txn, forum.id).await?;
    let mut forum = forums::by_id(&txn, forum.id).await?;
    let mut r = lock_registration(&txn, id).await?;
    if r.status != "waitlisted" {
        return Err(Error::conflict(
            ConflictKind::InvalidState,
            format!(
                "only a wait-listed registration can be promoted; this one is {}",
                r.status
            ),
        ));
    }
    if !seat_free(forum.capacity, ctr.confirmed_count) {
        if !opts.raise_capacity {
            return Err(Error::conflict(
                ConflictKind::CapacityReached,
                "no seat is free; cancel someone, raise the capacity, or send raise_capacity: true",
            ));
        }
        let cap = forum.capacity.unwrap_or(0).max(ctr.confirmed_count) + 1;
        let mut am = forum.clone().into_active_model();
        am.capacity = Set(Some(cap));
        am.version = Set(forum.version + 1);
        am.updated_at = Set(crate::db::now());
        forum = am.update(&txn).await?;
    }
    r.status = Status::Confirmed.as_str().into();
    r.version += 1;
    r.updated_at = crate::db::now();
    ctr.waitlisted_count -= 1;
    ctr.confirmed_count += 1;
    let code = r.check_in_code.clone();
    notify(
        &txn,
        &forum,
        &mut r,
        "promoted",
        serde_json::json!({"check_in_code": code}),
        true,
    )
    .await?;
    let r = save_registration(&txn, &r).await?;
    save_counters(&txn, &ctr).await?;
    reminders::schedule_forum(&txn, &forum, std::slice::from_ref(&r)).await?;
    let v = RegistrationView::from(&r);
    txn.commit().await?;
    Ok(v)
}

/// Seat counters of a forum as stored (for checks and stats).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Counters {
    /// Confirmed registrations.
    pub confirmed: i32,
    /// Wait-listed registrations.
    pub waitlisted: i32,
    /// Pending registrations.
    pub pending: i32,
    /// Checked-in registrations.
    pub checked_in: i32,
}

/// The stored counters of a forum (zeros before the first registration).
pub async fn counters_of(db: &impl ConnectionTrait, forum_id: Uuid) -> Result<Counters> {
    Ok(
        match counters::Entity::find_by_id(forum_id).one(db).await? {
            Some(c) => Counters {
                confirmed: c.confirmed_count,
                waitlisted: c.waitlisted_count,
                pending: c.pending_count,
                checked_in: c.checked_in_count,
            },
            None => Counters {
                confirmed: 0,
                waitlisted: 0,
                pending: 0,
                checked_in: 0,
            },
        },
    )
}
