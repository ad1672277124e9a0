//! Declarations and their signatures (DESIGN.md, "Declaration"; issue 5).
//!
//! - A declaration belongs to a forum; its stored status goes draft → open → closed (and
//!   closed → open again, an explicit re-open). Its optional `opens_at`/`closes_at` are
//!   enforced by the server by itself: the *effective* status ([`effective_status`]) is
//!   computed from the stored one and the clock at every read and write, so a
//!   declaration past `closes_at` is closed without anyone asking.
//! - Versions are immutable and numbered 1, 2, 3 …, with the SHA-256 of their text;
//!   translations attach to a version (the version's own language is authoritative).
//!   While open, the version under signature cannot change; opening with another version
//!   needs the declaration closed or an explicit `reopen`, and signatures stay bound to
//!   the version they signed.
//! - Signatures ([`signatures`]) and the hash-chain [`ledger`].

pub mod entity;
pub mod ledger;
pub mod signatures;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use std::sync::RwLock;
use uuid::Uuid;

pub use entity::declaration::Model as Declaration;
use entity::{declaration, translation, version};

use crate::accounts::Caller;
use crate::error::{ConflictKind, Error, FieldError, Result};
use crate::forums::{self, ForumAccess};
use crate::teams::Permission;
use crate::util::{self, double_option};

/// Settings of signature confirmation (`[declarations]` in the configuration).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// How long a confirmation link stays valid, seconds (default 48 h).
    pub confirm_ttl_seconds: i64,
    /// The shortest interval between two e-mails of one pending signature, seconds
    /// (default 60).
    pub resend_interval_seconds: i64,
    /// The most confirmation e-mails one pending signature gets (default 5).
    pub max_sends: i32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            confirm_ttl_seconds: 48 * 3600,
            resend_interval_seconds: 60,
            max_sends: 5,
        }
    }
}

static SETTINGS: RwLock<Option<Settings>> = RwLock::new(None);

/// Sets the process-wide [`Settings`] (called once at start by the binary).
pub fn configure(s: Settings) {
    *SETTINGS.write().expect("settings lock") = Some(s);
}

/// The current [`Settings`] (defaults unless [`configure`]d).
pub fn settings() -> Settings {
    SETTINGS
        .read()
        .expect("settings lock")
        .clone()
        .unwrap_or_default()
}

/// A declaration's status as seen now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeclarationStatus {
    /// Being drafted; visible to the forum's members only.
    Draft,
    /// Opened by an organizer, but `opens_at` is still ahead: not yet accepting.
    Scheduled,
    /// Accepting signatures.
    Open,
    /// Closed by an organizer or because `closes_at` has passed.
    Closed,
}

/// The status of `d` at instant `now`: stored `draft`/`closed` stay; stored `open` is
/// `closed` from `closes_at` on, `scheduled` before `opens_at`, else `open`.
pub fn effective_status(d: &Declaration, now: DateTime<Utc>) -> DeclarationStatus {
    match d.status.as_str() {
        "draft" => DeclarationStatus::Draft,
        "open" => {
            if d.closes_at.is_some_and(|c| now >= c) {
                DeclarationStatus::Closed
            } else if d.opens_at.is_some_and(|o| now < o) {
                DeclarationStatus::Scheduled
            } else {
                DeclarationStatus::Open
            }
        }
        _ => DeclarationStatus::Closed,
    }
}

/// A declaration as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeclarationView {
    /// Id.
    pub id: Uuid,
    /// Slug, unique in the forum.
    pub slug: String,
    /// Title.
    pub title: String,
    /// Authoritative language (BCP 47).
    pub language: String,
    /// Effective status now (see `effective_status`).
    pub status: DeclarationStatus,
    /// Whether a signature would be accepted now.
    pub accepting_signatures: bool,
    /// Signatures are accepted from this instant (if set).
    pub opens_at: Option<DateTime<Utc>>,
    /// … until this instant (if set); the server closes by itself.
    pub closes_at: Option<DateTime<Utc>>,
    /// Number of the version open for signature.
    pub current_version: Option<i32>,
    /// Number of entries in the ledger.
    pub ledger_length: i64,
    /// Hash of the last ledger entry (64 zeros when empty).
    pub ledger_head: String,
    /// Row version; ETag `"<version>"`.
    pub version: i32,
}

/// Body of `POST /forums/{slug}/declarations`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDeclaration {
    /// Slug: 2–63 lower-case letters, digits or `-`; unique in the forum.
    #[serde(deserialize_with = "crate::text::line::<{ crate::text::CODE }, _, _>")]
    #[schema(max_length = 100)]
    pub slug: String,
    /// Title, 1–500 characters.
    #[serde(deserialize_with = "crate::text::line::<500, _, _>")]
    #[schema(max_length = 500)]
    pub title: String,
    /// Authoritative language (BCP 47), default `en`.
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::CODE }, _, _>"
    )]
    #[schema(max_length = 100)]
    pub language: Option<String>,
    /// Accept signatures from (RFC 3339).
    #[serde(default)]
    pub opens_at: Option<DateTime<chrono::FixedOffset>>,
    /// Accept signatures until (RFC 3339); after `opens_at`.
    #[serde(default)]
    pub closes_at: Option<DateTime<chrono::FixedOffset>>,
}

/// Body of `PATCH /forums/{slug}/declarations/{decl}` (`If-Match` honoured).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclarationPatch {
    /// New title.
    #[serde(default, deserialize_with = "crate::text::line::<500, _, _>")]
    #[schema(max_length = 500)]
    pub title: Option<String>,
    /// New opening instant or `null`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub opens_at: Option<Option<DateTime<chrono::FixedOffset>>>,
    /// New closing instant or `null`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub closes_at: Option<Option<DateTime<chrono::FixedOffset>>>,
}

/// Body of `POST …/declarations/{decl}/open`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenRequest {
    /// The version to open for signature (default: the latest).
    #[serde(default, deserialize_with = "crate::bounds::int::<1, 1000000, _, _>")]
    #[schema(minimum = 1, maximum = 1000000)]
    pub version: Option<i32>,
    /// Required to switch an open declaration to another version; existing signatures
    /// stay bound to the version they signed.
    #[serde(default)]
    pub reopen: bool,
}

/// Body of `POST …/versions` and `POST …/versions/{n}/translations`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewText {
    /// Language (BCP 47). Versions: default and only allowed value is the declaration's
    /// authoritative language. Translations: required, another language.
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::CODE }, _, _>"
    )]
    #[schema(max_length = 100)]
    pub language: Option<String>,
    /// Title of the text, 1–500 characters.
    #[serde(deserialize_with = "crate::text::line::<500, _, _>")]
    #[schema(max_length = 500)]
    pub title: String,
    /// The text itself, 1–200 000 characters; hashed exactly as sent (UTF-8).
    #[serde(deserialize_with = "crate::text::text::<{ crate::text::DOCUMENT }, _, _>")]
    #[schema(max_length = 200000)]
    pub text: String,
}

/// A version (or a translation of it) as shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VersionView {
    /// Version number, 1, 2, 3 …
    pub number: i32,
    /// Language of this text.
    pub language: String,
    /// Whether this is the authoritative text (else a translation).
    pub authoritative: bool,
    /// Title.
    pub title: String,
    /// The text (omitted in lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Lower-case hex SHA-256 of this text's UTF-8 bytes.
    pub text_sha256: String,
    /// SHA-256 of the authoritative text: what signatures commit to.
    pub version_sha256: String,
    /// Languages available for this version (authoritative first).
    pub languages: Vec<String>,
    /// Created, RFC 3339.
    pub created_at: DateTime<Utc>,
}

fn view(d: &Declaration, current: Option<i32>, now: DateTime<Utc>) -> DeclarationView {
    let status = effective_status(d, now);
    DeclarationView {
        id: d.id,
        slug: d.slug.clone(),
        title: d.title.clone(),
        language: d.language.clone(),
        status,
        accepting_signatures: status == DeclarationStatus::Open && current.is_some(),
        opens_at: d.opens_at,
        closes_at: d.closes_at,
        current_version: current,
        ledger_length: d.ledger_length,
        ledger_head: d.ledger_head.clone(),
        version: d.version,
    }
}

async fn current_number(db: &impl ConnectionTrait, d: &Declaration) -> Result<Option<i32>> {
    Ok(match d.current_version_id {
        Some(id) => version::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(|v| v.number),
        None => None,
    })
}

/// Builds the view of a declaration now.
pub async fn view_of(db: &impl ConnectionTrait, d: &Declaration) -> Result<DeclarationView> {
    let cur = current_number(db, d).await?;
    Ok(view(d, cur, crate::db::now()))
}

fn valid_language(field: &str, l: &str, errs: &mut Vec<FieldError>) {
    if language_tags::LanguageTag::parse(l).is_err() {
        errs.push(FieldError::new(field, "is not a BCP 47 language tag"));
    }
}

fn check_title(field: &str, t: &str, errs: &mut Vec<FieldError>) {
    let n = t.trim().chars().count();
    if n == 0 || n > 500 {
        errs.push(FieldError::new(field, "must have 1–500 characters"));
    }
}

fn check_window(
    opens: Option<DateTime<Utc>>,
    closes: Option<DateTime<Utc>>,
    errs: &mut Vec<FieldError>,
) {
    if let (Some(o), Some(c)) = (opens, closes) {
        if c <= o {
            errs.push(FieldError::new("closes_at", "must be after opens_at"));
        }
    }
}

fn to_utc(t: Option<DateTime<chrono::FixedOffset>>) -> Option<DateTime<Utc>> {
    use chrono::SubsecRound;
    t.map(|t| t.with_timezone(&Utc).trunc_subsecs(0))
}

/// A declaration of a forum the caller may see: drafts only for the forum's members.
/// Errors: [`Error::NotFound`].
pub async fn find_visible(
    db: &impl ConnectionTrait,
    caller: &Caller,
    forum_slug: &str,
    slug: &str,
) -> Result<(ForumAccess, Declaration)> {
    let access = forums::find_visible(db, caller, forum_slug).await?;
    let d = by_slug(db, access.forum.id, slug).await?;
    if d.status == "draft" && access.role.is_none() {
        return Err(Error::NotFound("declaration"));
    }
    Ok((access, d))
}

/// A declaration the caller may change (organizer role). Errors: 401/403/404.
pub async fn find_for_write(
    db: &impl ConnectionTrait,
    caller: &Caller,
    forum_slug: &str,
    slug: &str,
) -> Result<(ForumAccess, Declaration)> {
    let access = forums::find_for_write(db, caller, forum_slug, Permission::Edit).await?;
    let d = by_slug(db, access.forum.id, slug).await?;
    Ok((access, d))
}

async fn by_slug(db: &impl ConnectionTrait, forum_id: Uuid, slug: &str) -> Result<Declaration> {
    declaration::Entity::find()
        .filter(declaration::Column::ForumId.eq(forum_id))
        .filter(declaration::Column::Slug.eq(slug))
        .one(db)
        .await?
        .ok_or(Error::NotFound("declaration"))
}

/// Creates a draft declaration. Errors: 422 for bad fields, 409 `already-exists` for a
/// slug taken in the forum.
pub async fn create(
    db: &DatabaseConnection,
    caller: &Caller,
    forum_slug: &str,
    input: NewDeclaration,
) -> Result<DeclarationView> {
    let mut errs = vec![];
    let slug = input.slug.trim().to_owned();
    if !forums::valid_slug(&slug) {
        errs.push(FieldError::new(
            "slug",
            "must be 2–63 lower-case letters, digits or `-`, starting with a letter or digit",
        ));
    }
    check_title("title", &input.title, &mut errs);
    let language = input
        .language
        .as_deref()
        .map(str::trim)
        .unwrap_or("en")
        .to_owned();
    valid_language("language", &language, &mut errs);
    let (opens_at, closes_at) = (to_utc(input.opens_at), to_utc(input.closes_at));
    check_window(opens_at, closes_at, &mut errs);
    if !errs.is_empty() {
        return Err(Error::Validation(errs));
    }
    let txn = crate::db::begin_write(db).await?;
    let (access, _) = (
        forums::find_for_write(&txn, caller, forum_slug, Permission::Edit).await?,
        (),
    );
    if by_slug(&txn, access.forum.id, &slug).await.is_ok() {
        return Err(Error::Conflict {
            kind: ConflictKind::AlreadyExists,
            message: format!("the forum already has a declaration `{slug}`"),
            session: None,
            errors: vec![FieldError::new("slug", "is taken")],
        });
    }
    let now = crate::db::now();
    let d = declaration::ActiveModel {
        id: Set(Uuid::new_v4()),
        forum_id: Set(access.forum.id),
        slug: Set(slug),
        title: Set(input.title.trim().to_owned()),
        language: Set(language),
        status: Set("draft".into()),
        opens_at: Set(opens_at),
        closes_at: Set(closes_at),
        current_version_id: Set(None),
        version: Set(1),
        ledger_length: Set(0),
        ledger_head: Set(ledger::GENESIS.into()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => Error::Conflict {
            kind: ConflictKind::AlreadyExists,
            message: "the forum already has a declaration with that slug".into(),
            session: None,
            errors: vec![FieldError::new("slug", "is taken")],
        },
        _ => Error::Db(e),
    })?;
    txn.commit().await?;
    Ok(view(&d, None, now))
}

/// The declarations of a forum the caller may see (drafts for members only).
pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    forum_slug: &str,
) -> Result<Vec<DeclarationView>> {
    let access = forums::find_visible(db, caller, forum_slug).await?;
    let mut q = declaration::Entity::find()
        .filter(declaration::Column::ForumId.eq(access.forum.id))
        .order_by_asc(declaration::Column::CreatedAt)
        .order_by_asc(declaration::Column::Slug);
    if access.role.is_none() {
        q = q.filter(declaration::Column::Status.ne("draft"));
    }
    let mut out = vec![];
    for d in q.all(db).await? {
        out.push(view_of(db, &d).await?);
    }
    Ok(out)
}

/// One declaration.
pub async fn get(
    db: &DatabaseConnection,
    caller: &Caller,
    forum_slug: &str,
    slug: &str,
) -> Result<DeclarationView> {
    let (_, d) = find_visible(db, caller, forum_slug, slug).await?;
    view_of(db, &d).await
}

/// Changes title and window (`If-Match` honoured). Errors: 412, 422.
pub async fn update(
    db: &DatabaseConnection,
    caller: &Caller,
    forum_slug: &str,
    slug: &str,
    if_match: Option<&str>,
    patch: DeclarationPatch,
) -> Result<DeclarationView> {
    let txn = crate::db::begin_write(db).await?;
    let (_, d) = find_for_write(&txn, caller, forum_slug, slug).await?;
    ledger::lock_declaration(&txn, d.id).await?;
    let d = by_slug(&txn, d.forum_id, slug).await?;
    util::check_if_match(if_match, d.version)?;
    let mut errs = vec![];
    let title = patch.title.map(|t| t.trim().to_owned());
    if let Some(t) = &title {
        check_title("title", t, &mut errs);
    }
    let opens_at = patch.opens_at.map(to_utc).unwrap_or(d.opens_at);
    let closes_at = patch.closes_at.map(to_utc).unwrap_or(d.closes_at);
    check_window(opens_at, closes_at, &mut errs);
    if !errs.is_empty() {
        return Err(Error::Validation(errs));
    }
    let v = d.version;
    let mut am = d.into_active_model();
    if let Some(t) = title {
        am.title = Set(t);
    }
    am.opens_at = Set(opens_at);
    am.closes_at = Set(closes_at);
    am.version = Set(v + 1);
    am.updated_at = Set(crate::db::now());
    let d = am.update(&txn).await?;
    let out = view_of(&txn, &d).await?;
    txn.commit().await?;
    Ok(out)
}

fn invalid_state(kind: ConflictKind, message: impl Into<String>) -> Error {
    Error::Conflict {
        kind,
        message: message.into(),
        session: None,
        errors: vec![],
    }
}

/// Opens a declaration for signature with a version (default the latest): from draft,
/// from closed (a re-open), or — with `reopen: true` — from open to another version.
/// Errors: 409 `invalid-state` without a version or with `closes_at` passed; 409
/// `version-locked` switching the version of an open declaration without `reopen`.
pub async fn open(
    db: &DatabaseConnection,
    caller: &Caller,
    forum_slug: &str,
    slug: &str,
    if_match: Option<&str>,
    req: OpenRequest,
) -> Result<DeclarationView> {
    let txn = crate::db::begin_write(db).await?;
    let (_, d) = find_for_write(&txn, caller, forum_slug, slug).await?;
    ledger::lock_declaration(&txn, d.id).await?;
    let d = by_slug(&txn, d.forum_id, slug).await?;
    util::check_if_match(if_match, d.version)?;
    let mut q = version::Entity::find().filter(version::Column::DeclarationId.eq(d.id));
    q = match req.version {
        Some(n) => q.filter(version::Column::Number.eq(n)),
        None => q.order_by_desc(version::Column::Number),
    };
    let Some(ver) = q.one(&txn).await? else {
        return Err(match req.version {
            Some(_) => Error::field("version", "no such version"),
            None => invalid_state(
                ConflictKind::InvalidState,
                "add a version of the text before opening the declaration",
            ),
        });
    };
    let now = crate::db::now();
    if d.closes_at.is_some_and(|c| c <= now) {
        return Err(invalid_state(
            ConflictKind::InvalidState,
            "closes_at has passed; move it first (PATCH) to re-open",
        ));
    }
    let status = effective_status(&d, now);
    let open_now = matches!(
        status,
        DeclarationStatus::Open | DeclarationStatus::Scheduled
    );
    if open_now && d.current_version_id != Some(ver.id) && !req.reopen {
        return Err(invalid_state(
            ConflictKind::VersionLocked,
            format!(
                "the declaration is open for signature of another version; close it first or \
                 send `reopen: true` to open version {} (existing signatures stay bound to \
                 the version they signed)",
                ver.number
            ),
        ));
    }
    let v = d.version;
    let mut am = d.into_active_model();
    am.status = Set("open".into());
    am.current_version_id = Set(Some(ver.id));
    am.version = Set(v + 1);
    am.updated_at = Set(now);
    let d = am.update(&txn).await?;
    txn.commit().await?;
    Ok(view(&d, Some(ver.number), now))
}

/// Closes a declaration (from open; idempotent on closed). Errors: 409 from draft.
pub async fn close(
    db: &DatabaseConnection,
    caller: &Caller,
    forum_slug: &str,
    slug: &str,
    if_match: Option<&str>,
) -> Result<DeclarationView> {
    let txn = crate::db::begin_write(db).await?;
    let (_, d) = find_for_write(&txn, caller, forum_slug, slug).await?;
    ledger::lock_declaration(&txn, d.id).await?;
    let d = by_slug(&txn, d.forum_id, slug).await?;
    util::check_if_match(if_match, d.version)?;
    if d.status == "draft" {
        return Err(invalid_state(
            ConflictKind::InvalidState,
            "a draft declaration cannot be closed; open it first",
        ));
    }
    let d = if d.status == "closed" {
        d
    } else {
        let v = d.version;
        let mut am = d.into_active_model();
        am.status = Set("closed".into());
        am.version = Set(v + 1);
        am.updated_at = Set(crate::db::now());
        am.update(&txn).await?
    };
    let out = view_of(&txn, &d).await?;
    txn.commit().await?;
    Ok(out)
}

/// Adds version n+1 (immutable) in the authoritative language. A new version never
/// changes the version under signature: that takes [`open`].
pub async fn add_version(
    db: &DatabaseConnection,
    caller: &Caller,
    forum_slug: &str,
    slug: &str,
    input: NewText,
) -> Result<VersionView> {
    let txn = crate::db::begin_write(db).await?;
    let (_, d) = find_for_write(&txn, caller, forum_slug, slug).await?;
    ledger::lock_declaration(&txn, d.id).await?;
    let mut errs = vec![];
    if let Some(l) = &input.language {
        if l.trim() != d.language {
            errs.push(FieldError::new(
                "language",
                format!(
                    "a version is in the authoritative language `{}`; add other languages as translations",
                    d.language
                ),
            ));
        }
    }
    check_text(&input, &mut errs);
    if !errs.is_empty() {
        return Err(Error::Validation(errs));
    }
    let last = version::Entity::find()
        .filter(version::Column::DeclarationId.eq(d.id))
        .order_by_desc(version::Column::Number)
        .one(&txn)
        .await?
        .map(|v| v.number)
        .unwrap_or(0);
    let now = crate::db::now();
    let v = version::ActiveModel {
        id: Set(Uuid::new_v4()),
        forum_id: Set(d.forum_id),
        declaration_id: Set(d.id),
        number: Set(last + 1),
        language: Set(d.language.clone()),
        title: Set(input.title.trim().to_owned()),
        text_sha256: Set(ledger::sha256_hex(input.text.as_bytes())),
        body: Set(input.text),
        created_by: Set(caller.account_id().ok()),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(version_view(&v, None, vec![v.language.clone()], true))
}

fn check_text(input: &NewText, errs: &mut Vec<FieldError>) {
    check_title("title", &input.title, errs);
    let n = input.text.chars().count();
    if input.text.trim().is_empty() || n > 200_000 {
        errs.push(FieldError::new("text", "must have 1–200000 characters"));
    }
}

/// Adds a translation of version `number` in another language (immutable; one per
/// language). Errors: 404 no such version; 409 `already-exists` for a language present.
pub async fn add_translation(
    db: &DatabaseConnection,
    caller: &Caller,
    forum_slug: &str,
    slug: &str,
    number: i32,
    input: NewText,
) -> Result<VersionView> {
    let txn = crate::db::begin_write(db).await?;
    let (_, d) = find_for_write(&txn, caller, forum_slug, slug).await?;
    let ver = version_by_number(&txn, d.id, number).await?;
    let mut errs = vec![];
    let lang = input.language.as_deref().map(str::trim).unwrap_or("");
    if lang.is_empty() {
        errs.push(FieldError::new("language", "is required for a translation"));
    } else {
        valid_language("language", lang, &mut errs);
        if lang == ver.language {
            errs.push(FieldError::new(
                "language",
                "is the authoritative language of this version",
            ));
        }
    }
    check_text(&input, &mut errs);
    if !errs.is_empty() {
        return Err(Error::Validation(errs));
    }
    let now = crate::db::now();
    let t = translation::ActiveModel {
        id: Set(Uuid::new_v4()),
        forum_id: Set(d.forum_id),
        declaration_id: Set(d.id),
        version_id: Set(ver.id),
        language: Set(lang.to_owned()),
        title: Set(input.title.trim().to_owned()),
        text_sha256: Set(ledger::sha256_hex(input.text.as_bytes())),
        body: Set(input.text),
        created_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => Error::Conflict {
            kind: ConflictKind::AlreadyExists,
            message: format!(
                "version {number} already has a `{lang}` translation; translations are immutable"
            ),
            session: None,
            errors: vec![FieldError::new("language", "already translated")],
        },
        _ => Error::Db(e),
    })?;
    let langs = languages_of(&txn, &ver).await?;
    txn.commit().await?;
    Ok(VersionView {
        number: ver.number,
        language: t.language,
        authoritative: false,
        title: t.title,
        text: Some(t.body),
        text_sha256: t.text_sha256,
        version_sha256: ver.text_sha256,
        languages: langs,
        created_at: t.created_at,
    })
}

async fn version_by_number(
    db: &impl ConnectionTrait,
    declaration_id: Uuid,
    number: i32,
) -> Result<version::Model> {
    version::Entity::find()
        .filter(version::Column::DeclarationId.eq(declaration_id))
        .filter(version::Column::Number.eq(number))
        .one(db)
        .await?
        .ok_or(Error::NotFound("version"))
}

async fn languages_of(db: &impl ConnectionTrait, v: &version::Model) -> Result<Vec<String>> {
    let mut langs = vec![v.language.clone()];
    langs.extend(
        translation::Entity::find()
            .filter(translation::Column::VersionId.eq(v.id))
            .order_by_asc(translation::Column::Language)
            .all(db)
            .await?
            .into_iter()
            .map(|t| t.language),
    );
    Ok(langs)
}

fn version_view(
    v: &version::Model,
    text: Option<String>,
    languages: Vec<String>,
    with_text: bool,
) -> VersionView {
    VersionView {
        number: v.number,
        language: v.language.clone(),
        authoritative: true,
        title: v.title.clone(),
        text: if with_text {
            Some(text.unwrap_or_else(|| v.body.clone()))
        } else {
            None
        },
        text_sha256: v.text_sha256.clone(),
        version_sha256: v.text_sha256.clone(),
        languages,
        created_at: v.created_at,
    }
}

/// The versions of a declaration (without their texts), oldest first.
pub async fn versions(
    db: &DatabaseConnection,
    caller: &Caller,
    forum_slug: &str,
    slug: &str,
) -> Result<Vec<VersionView>> {
    let (_, d) = find_visible(db, caller, forum_slug, slug).await?;
    let mut out = vec![];
    for v in version::Entity::find()
        .filter(version::Column::DeclarationId.eq(d.id))
        .order_by_asc(version::Column::Number)
        .all(db)
        .await?
    {
        let langs = languages_of(db, &v).await?;
        out.push(version_view(&v, None, langs, false));
    }
    Ok(out)
}

/// Version `number` in language `lang` (default: the authoritative text).
/// Errors: 404 for a version or language that does not exist.
pub async fn get_version(
    db: &DatabaseConnection,
    caller: &Caller,
    forum_slug: &str,
    slug: &str,
    number: i32,
    lang: Option<&str>,
) -> Result<VersionView> {
    let (_, d) = find_visible(db, caller, forum_slug, slug).await?;
    let v = version_by_number(db, d.id, number).await?;
    let langs = languages_of(db, &v).await?;
    match lang {
        None => Ok(version_view(&v, None, langs, true)),
        Some(l) if l == v.language => Ok(version_view(&v, None, langs, true)),
        Some(l) => {
            let t = translation::Entity::find()
                .filter(translation::Column::VersionId.eq(v.id))
                .filter(translation::Column::Language.eq(l))
                .one(db)
                .await?
                .ok_or(Error::NotFound("translation"))?;
            Ok(VersionView {
                number: v.number,
                language: t.language,
                authoritative: false,
                title: t.title,
                text: Some(t.body),
                text_sha256: t.text_sha256,
                version_sha256: v.text_sha256,
                languages: langs,
                created_at: t.created_at,
            })
        }
    }
}

/// Every declaration (of one forum, or all), for `convene verify-ledger`:
/// `(forum slug, declaration)`.
pub async fn all_for_verification(
    db: &DatabaseConnection,
    forum_slug: Option<&str>,
    slug: Option<&str>,
) -> Result<Vec<(String, Declaration)>> {
    let forums: std::collections::HashMap<Uuid, String> = forums::entity::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|f| (f.id, f.slug))
        .collect();
    let mut q = declaration::Entity::find().order_by_asc(declaration::Column::CreatedAt);
    if let Some(s) = slug {
        q = q.filter(declaration::Column::Slug.eq(s));
    }
    let mut out = vec![];
    for d in q.all(db).await? {
        let fs = forums.get(&d.forum_id).cloned().unwrap_or_default();
        if forum_slug.is_none_or(|f| f == fs) {
            out.push((fs, d));
        }
    }
    Ok(out)
}

/// A text of the demo declaration: `(language, title, text)`.
pub type DemoText<'a> = (&'a str, &'a str, &'a str);

/// Creates (once) the demo declaration `slug` of a forum, as an administrator: version 1
/// in `authoritative`'s language, a translation per item of `translations`, opened for
/// signature. Does nothing when the forum already has a declaration with that slug.
pub async fn ensure_demo(
    db: &DatabaseConnection,
    forum_id: Uuid,
    slug: &str,
    authoritative: DemoText<'_>,
    translations: &[DemoText<'_>],
) -> Result<()> {
    let txn = crate::db::begin_write(db).await?;
    crate::db::lock_forum(&txn, forum_id).await?;
    if by_slug(&txn, forum_id, slug).await.is_ok() {
        return Ok(());
    }
    let now = crate::db::now();
    let (lang, title, text) = authoritative;
    let d = declaration::ActiveModel {
        id: Set(Uuid::new_v4()),
        forum_id: Set(forum_id),
        slug: Set(slug.into()),
        title: Set(title.into()),
        language: Set(lang.into()),
        status: Set("open".into()),
        opens_at: Set(None),
        closes_at: Set(None),
        current_version_id: Set(None),
        version: Set(1),
        ledger_length: Set(0),
        ledger_head: Set(ledger::GENESIS.into()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let v = version::ActiveModel {
        id: Set(Uuid::new_v4()),
        forum_id: Set(forum_id),
        declaration_id: Set(d.id),
        number: Set(1),
        language: Set(lang.into()),
        title: Set(title.into()),
        body: Set(text.into()),
        text_sha256: Set(ledger::sha256_hex(text.as_bytes())),
        created_by: Set(None),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    for (lang, title, text) in translations {
        translation::ActiveModel {
            id: Set(Uuid::new_v4()),
            forum_id: Set(forum_id),
            declaration_id: Set(d.id),
            version_id: Set(v.id),
            language: Set((*lang).into()),
            title: Set((*title).into()),
            body: Set((*text).into()),
            text_sha256: Set(ledger::sha256_hex(text.as_bytes())),
            created_at: Set(now),
        }
        .insert(&txn)
        .await?;
    }
    let mut am = d.into_active_model();
    am.current_version_id = Set(Some(v.id));
    am.update(&txn).await?;
    txn.commit().await?;
    Ok(())
}
