//! Signatures: online (pending until confirmed through an e-mailed link) and in person
//! (recorded by an organizer as witness, confirmed at once); withdrawal; erasure; the
//! public list, counts and exports; the ledger as published.
//!
//! One live signature per entity and per e-mail per declaration is a database rule
//! (partial unique indexes `WHERE withdrawn_at IS NULL`): of two simultaneous attempts
//! one inserts, the other gets 409 `already-signed`.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::entity::{declaration, ledger_entry, signature, version};
use super::{effective_status, find_for_write, find_visible, ledger, settings, Declaration};
use super::{DeclarationStatus, ForumAccess};
use crate::accounts::{self, Caller};
use crate::error::{ConflictKind, Error, FieldError, Result};
use crate::names::NameKey;
use crate::notifications::{self, NewNotification};
use crate::util::{self, Page};

/// Prefix of signatory capability tokens (confirmation links, withdrawal).
pub const SIGNATORY_TOKEN_PREFIX: &str = "cvn_sig_";

/// What is signed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EntityKind {
    /// A city or municipality.
    City,
    /// A region, province or metropolitan area.
    Region,
    /// An organization (NGO, UN agency, association …).
    Organization,
    /// A person signing for themself.
    Individual,
}

impl EntityKind {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::City => "city",
            EntityKind::Region => "region",
            EntityKind::Organization => "organization",
            EntityKind::Individual => "individual",
        }
    }
}

/// Body of `POST …/signatures` (online) and `POST …/signatures/in-person`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSignature {
    /// The signatory's full name, 1–200 characters.
    #[serde(deserialize_with = "crate::text::line::<{ crate::text::NAME }, _, _>")]
    #[schema(max_length = 200)]
    pub full_name: String,
    /// Their title, e.g. "Mayor" (0–200 characters).
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::NAME }, _, _>"
    )]
    #[schema(max_length = 200)]
    pub title: Option<String>,
    /// What they sign for.
    pub entity_kind: EntityKind,
    /// Its name (1–300 characters); for `individual` default the full name.
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::TITLE }, _, _>"
    )]
    #[schema(max_length = 300)]
    pub entity_name: Option<String>,
    /// City of the entity.
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::NAME }, _, _>"
    )]
    #[schema(max_length = 200)]
    pub city: Option<String>,
    /// Country, ISO 3166-1 alpha-2.
    #[serde(deserialize_with = "crate::text::line::<{ crate::text::CODE }, _, _>")]
    #[schema(max_length = 100)]
    pub country: String,
    /// E-mail, kept private: required online (the confirmation link goes there),
    /// optional in person.
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::EMAIL }, _, _>"
    )]
    #[schema(max_length = 254)]
    pub email: Option<String>,
    /// Whether the signature may appear on the public list.
    pub consent_publish: bool,
    /// Preferred language of e-mails (BCP 47), default the declaration's.
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::CODE }, _, _>"
    )]
    #[schema(max_length = 100)]
    pub language: Option<String>,
    /// The version number the signatory read; refused (409 `version-locked`) if it is
    /// no longer the one under signature.
    #[serde(default, deserialize_with = "crate::bounds::int::<1, 1000000, _, _>")]
    #[schema(minimum = 1, maximum = 1000000)]
    pub version: Option<i32>,
}

/// A signature as its signatory or an organizer sees it (never the e-mail).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SignatureView {
    /// Id.
    pub id: Uuid,
    /// `pending`, `confirmed`, `withdrawn` or `lapsed`.
    pub status: String,
    /// `online` or `in_person`.
    pub method: String,
    /// The version signed.
    pub version: i32,
    /// Full name (empty after erasure).
    pub full_name: String,
    /// Title.
    pub title: String,
    /// Entity kind.
    pub entity_kind: String,
    /// Entity name.
    pub entity_name: String,
    /// City.
    pub city: Option<String>,
    /// Country.
    pub country: String,
    /// Consent to appear on the public list.
    pub consent_publish: bool,
    /// Until when the confirmation link works (pending online signatures).
    pub confirm_expires_at: Option<DateTime<Utc>>,
    /// Confirmed at.
    pub confirmed_at: Option<DateTime<Utc>>,
    /// Withdrawn at.
    pub withdrawn_at: Option<DateTime<Utc>>,
    /// `signatory`, `organizer`, `erasure` or `lapsed`.
    pub withdrawn_by: Option<String>,
    /// Ledger entry of the confirmation.
    pub ledger_seq: Option<i64>,
    /// Ledger entry of the withdrawal.
    pub withdraw_seq: Option<i64>,
    /// Whether the personal data were erased.
    pub erased: bool,
}

/// A signature on the public list: confirmed, live, consenting; no e-mail.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicSignature {
    /// Id (as in the ledger's `signature_id`).
    pub id: Uuid,
    /// Full name.
    pub full_name: String,
    /// Title.
    pub title: String,
    /// Entity kind.
    pub entity_kind: String,
    /// Entity name.
    pub entity_name: String,
    /// City.
    pub city: Option<String>,
    /// Country (ISO 3166-1 alpha-2).
    pub country: String,
    /// `online` or `in_person`.
    pub method: String,
    /// The version signed.
    pub version: i32,
    /// When the signature was confirmed.
    pub signed_at: DateTime<Utc>,
    /// Its confirmation's entry in the ledger.
    pub ledger_seq: i64,
}

/// Query of the public list and its exports.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct PublicQuery {
    /// Country, ISO 3166-1 alpha-2.
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::CODE }, _, _>"
    )]
    #[param(max_length = 100)]
    pub country: Option<String>,
    /// Entity kind.
    pub entity_kind: Option<EntityKind>,
    /// Cursor from a previous page (JSON list only).
    #[serde(
        default,
        deserialize_with = "crate::text::line::<{ crate::text::PARAM }, _, _>"
    )]
    #[param(max_length = 1000)]
    pub cursor: Option<String>,
    /// Page size, 1–500, default 50 (JSON list only).
    #[serde(default, deserialize_with = "crate::bounds::int::<1, 500, _, _>")]
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u64>,
}

/// Live counts of the public list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Counts {
    /// Confirmed, live, consenting signatures (the public list).
    pub total: u64,
    /// Every confirmed live signature, including those not published.
    pub confirmed_total: u64,
    /// Public list by country.
    pub by_country: BTreeMap<String, u64>,
    /// Public list by entity kind.
    pub by_entity_kind: BTreeMap<String, u64>,
}

/// Body of the token-based operations.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    /// The `cvn_sig_…` token from the confirmation e-mail.
    #[serde(deserialize_with = "crate::text::line::<{ crate::text::CODE }, _, _>")]
    #[schema(max_length = 100)]
    pub token: String,
    /// Why (withdrawal only; optional for the signatory).
    #[serde(
        default,
        deserialize_with = "crate::text::text::<{ crate::text::REASON }, _, _>"
    )]
    #[schema(max_length = 2000)]
    pub reason: Option<String>,
}

/// Body of an organizer's withdrawal.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawBody {
    /// Why (required, 1–1000 characters).
    #[serde(deserialize_with = "crate::text::text::<1000, _, _>")]
    #[schema(max_length = 1000)]
    pub reason: String,
}

/// Body of `POST …/signatures/resend`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResendBody {
    /// The e-mail the signature was made with.
    #[serde(deserialize_with = "crate::text::line::<{ crate::text::EMAIL }, _, _>")]
    #[schema(max_length = 254)]
    pub email: String,
}

fn conflict(kind: ConflictKind, message: impl Into<String>) -> Error {
    Error::Conflict {
        kind,
        message: message.into(),
        session: None,
        errors: vec![],
    }
}

fn sig_view(s: &signature::Model, version_number: i32) -> SignatureView {
    SignatureView {
        id: s.id,
        status: s.status.clone(),
        method: s.method.clone(),
        version: version_number,
        full_name: s.full_name.clone(),
        title: s.title.clone(),
        entity_kind: s.entity_kind.clone(),
        entity_name: s.entity_name.clone(),
        city: s.city.clone(),
        country: s.country.clone(),
        consent_publish: s.consent_publish,
        confirm_expires_at: if SignatureStatus::of(s) == SignatureStatus::Pending {
            s.confirm_expires_at
        } else {
            None
        },
        confirmed_at: s.confirmed_at,
        withdrawn_at: s.withdrawn_at,
        withdrawn_by: s.withdrawn_by.clone(),
        ledger_seq: s.confirm_seq,
        withdraw_seq: s.withdraw_seq,
        erased: s.erased_at.is_some(),
    }
}

/// The state of a signature, stored as text in `signatures.status`; every comparison goes
/// through this type ([`SignatureStatus::of`], [`SignatureStatus::as_str`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureStatus {
    /// Waiting for the e-mailed confirmation link.
    Pending,
    /// Confirmed (online or in person) and in the ledger.
    Confirmed,
    /// Withdrawn by the signatory or an organizer.
    Withdrawn,
}

impl SignatureStatus {
    /// The stored name: `pending`, `confirmed`, `withdrawn`.
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureStatus::Pending => "pending",
            SignatureStatus::Confirmed => "confirmed",
            SignatureStatus::Withdrawn => "withdrawn",
        }
    }

    /// The status of a stored row; an unknown stored name (never written) reads as
    /// `Withdrawn`, the state that allows nothing.
    pub fn of(s: &signature::Model) -> Self {
        [Self::Pending, Self::Confirmed]
            .into_iter()
            .find(|v| v.as_str() == s.status)
            .unwrap_or(Self::Withdrawn)
    }
}

/// The entity's key for uniqueness: kind, country and the name's [`NameKey`] (NFKC,
/// lower case, white space collapsed), `|`-separated.
fn entity_key(kind: &str, country: &str, name: &str) -> String {
    format!("{kind}|{country}|{}", NameKey::of(name))
}

struct Checked {
    full_name: String,
    title: String,
    entity_kind: &'static str,
    entity_name: String,
    city: Option<String>,
    country: String,
    email: Option<String>,
    language: Option<String>,
}

fn validate(input: &NewSignature, email_required: bool) -> Result<Checked> {
    let mut errs = vec![];
    let len = |s: &str| s.trim().chars().count();
    let full_name = input.full_name.trim().to_owned();
    if !(1..=200).contains(&len(&full_name)) {
        errs.push(FieldError::new("full_name", "must have 1–200 characters"));
    }
    errs.extend(crate::util::single_line("full_name", &full_name));
    let title = input.title.as_deref().unwrap_or("").trim().to_owned();
    if len(&title) > 200 {
        errs.push(FieldError::new("title", "must have at most 200 characters"));
    }
    let entity_name = match (&input.entity_name, input.entity_kind) {
        (Some(n), _) if !n.trim().is_empty() => n.trim().to_owned(),
        (_, EntityKind::Individual) => full_name.clone(),
        _ => {
            errs.push(FieldError::new("entity_name", "is required"));
            String::new()
        }
    };
    if len(&entity_name) > 300 {
        errs.push(FieldError::new(
            "entity_name",
            "must have at most 300 characters",
        ));
    }
    let city = input
        .city
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned);
    if city.as_deref().is_some_and(|c| len(c) > 200) {
        errs.push(FieldError::new("city", "must have at most 200 characters"));
    }
    let country = input.country.trim().to_uppercase();
    if country.len() != 2 || celes::Country::from_alpha2(&country).is_err() {
        errs.push(FieldError::new(
            "country",
            "is not an ISO 3166-1 alpha-2 country code",
        ));
    }
    let email = match input
        .email
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        Some(e) => match accounts::normalise_email("email", e) {
            Ok(e) => Some(e),
            Err(Error::Validation(mut v)) => {
                errs.append(&mut v);
                None
            }
            Err(e) => return Err(e),
        },
        None if email_required => {
            errs.push(FieldError::new(
                "email",
                "is required: the confirmation link is sent there",
            ));
            None
        }
        None => None,
    };
    let language = input.language.as_deref().map(str::trim).map(str::to_owned);
    if let Some(l) = &language {
        if language_tags::LanguageTag::parse(l).is_err() {
            errs.push(FieldError::new("language", "is not a BCP 47 language tag"));
        }
    }
    if !errs.is_empty() {
        return Err(Error::Validation(errs));
    }
    Ok(Checked {
        full_name,
        title,
        entity_kind: input.entity_kind.as_str(),
        entity_name,
        city,
        country,
        email,
        language,
    })
}

/// The version under signature of an accepting declaration; 409 otherwise.
async fn accepting_version(
    txn: &impl ConnectionTrait,
    d: &Declaration,
    wanted: Option<i32>,
) -> Result<version::Model> {
    let now = crate::db::now();
    let status = effective_status(d, now);
    let ver = match d.current_version_id {
        Some(id) => version::Entity::find_by_id(id).one(txn).await?,
        None => None,
    };
    let (DeclarationStatus::Open, Some(ver)) = (status, ver) else {
        return Err(conflict(
            ConflictKind::NotAcceptingSignatures,
            format!("the declaration is {status:?} and does not accept signatures now")
                .to_lowercase(),
        ));
    };
    if let Some(n) = wanted {
        if n != ver.number {
            return Err(conflict(
                ConflictKind::VersionLocked,
                format!(
                    "version {n} is not the one under signature (version {}); read it first",
                    ver.number
                ),
            ));
        }
    }
    Ok(ver)
}

/// Re-reads the declaration after locking its row.
async fn locked(txn: &DatabaseTransaction, d: &Declaration) -> Result<Declaration> {
    ledger::lock_declaration(txn, d.id).await?;
    declaration::Entity::find_by_id(d.id)
        .one(txn)
        .await?
        .ok_or(Error::NotFound("declaration"))
}

/// Refuses a second live signature (pre-check with a clear message; the partial unique
/// indexes decide under concurrency). Lapses pending signatures whose link expired.
async fn check_unique(
    txn: &DatabaseTransaction,
    d: &Declaration,
    email: Option<&str>,
    key: &str,
) -> Result<()> {
    let now = crate::db::now();
    let mut same = Condition::any().add(signature::Column::EntityKey.eq(key));
    if let Some(e) = email {
        same = same.add(signature::Column::Email.eq(e));
    }
    signature::Entity::update_many()
        .col_expr(signature::Column::Status, Expr::value("lapsed"))
        .col_expr(signature::Column::WithdrawnAt, Expr::value(now))
        .col_expr(signature::Column::WithdrawnBy, Expr::value("lapsed"))
        .col_expr(
            signature::Column::TokenHash,
            Expr::value(Option::<String>::None),
        )
        .filter(signature::Column::DeclarationId.eq(d.id))
        .filter(signature::Column::Status.eq(SignatureStatus::Pending.as_str()))
        .filter(signature::Column::ConfirmExpiresAt.lte(now))
        .filter(same.clone())
        .exec(txn)
        .await?;
    let live = signature::Entity::find()
        .filter(signature::Column::DeclarationId.eq(d.id))
        .filter(signature::Column::WithdrawnAt.is_null())
        .filter(same)
        .one(txn)
        .await?;
    if let Some(s) = live {
        let what = if email.is_some() && s.email.as_deref() == email {
            "this e-mail address"
        } else {
            "this entity"
        };
        if s.confirmed_at.is_none() {
            return Err(conflict(
                ConflictKind::AlreadySigned,
                format!(
                    "{what} already has a signature on this declaration that waits for its \
                     e-mail confirmation; to get the confirmation link again, POST \
                     …/declarations/{}/signatures/resend with the e-mail address",
                    d.slug
                ),
            ));
        }
        return Err(already_signed(what));
    }
    Ok(())
}

fn already_signed(what: &str) -> Error {
    conflict(
        ConflictKind::AlreadySigned,
        format!(
            "{what} already has a confirmed signature on this declaration; to sign again, \
             withdraw it first"
        ),
    )
}

fn map_unique(e: sea_orm::DbErr) -> Error {
    match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(m)) => {
            if m.contains("email") {
                already_signed("this e-mail address")
            } else {
                already_signed("this entity")
            }
        }
        _ => Error::Db(e),
    }
}

/// The e-mailed confirmation link as a path under `http.public_base_url` (the worker makes
/// it absolute): the confirmation page, which shows and asks for a button press.
fn confirm_url(access: &ForumAccess, d: &Declaration, token: &str) -> String {
    crate::links::Links::signature_confirm_rel(&access.forum.slug, &d.slug, token)
}

async fn enqueue_confirm(
    txn: &DatabaseTransaction,
    access: &ForumAccess,
    d: &Declaration,
    s: &signature::Model,
    token: &str,
) -> Result<()> {
    let f = &access.forum;
    notifications::enqueue(
        txn,
        NewNotification {
            forum_id: f.id,
            kind: "signature.confirm".into(),
            recipient_email: s.email.clone().unwrap_or_default(),
            recipient_name: s.full_name.clone(),
            language: s.language.clone(),
            data: serde_json::json!({
                "forum": {"slug": f.slug, "title": f.title, "time_zone": f.time_zone, "city": f.city},
                "declaration": {"slug": d.slug, "title": d.title},
                "confirm_url": confirm_url(access, d, token),
                "expires_at": s.confirm_expires_at,
            }),
            dedupe_key: format!("signature.confirm:{}:{}", s.id, s.sends),
            send_after: None,
        },
    )
    .await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn new_row(
    d: &Declaration,
    ver: &version::Model,
    c: Checked,
    consent: bool,
    method: &str,
    now: DateTime<Utc>,
) -> signature::ActiveModel {
    let key = entity_key(c.entity_kind, &c.country, &c.entity_name);
    signature::ActiveModel {
        id: Set(Uuid::new_v4()),
        forum_id: Set(d.forum_id),
        declaration_id: Set(d.id),
        version_id: Set(ver.id),
        method: Set(method.into()),
        full_name: Set(c.full_name),
        title: Set(c.title),
        entity_kind: Set(c.entity_kind.into()),
        entity_name: Set(c.entity_name),
        entity_key: Set(Some(key)),
        city: Set(c.city),
        country: Set(c.country),
        email: Set(c.email),
        consent_publish: Set(consent),
        language: Set(c.language.unwrap_or_else(|| d.language.clone())),
        status: Set(SignatureStatus::Pending.as_str().into()),
        salt: Set(Some(new_salt())),
        token_hash: Set(None),
        confirm_expires_at: Set(None),
        sends: Set(0),
        last_sent_at: Set(None),
        witness_account_id: Set(None),
        created_at: Set(now),
        confirmed_at: Set(None),
        confirm_seq: Set(None),
        withdrawn_at: Set(None),
        withdrawn_by: Set(None),
        withdrawal_reason: Set(None),
        withdraw_seq: Set(None),
        erased_at: Set(None),
    }
}

/// 16 random bytes as 32 lower-case hex characters.
fn new_salt() -> String {
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// An `Idempotency-Key` sent with a new signature (DESIGN: "creating registrations and
/// signatures honours `Idempotency-Key`"); the rules are [`crate::idempotency`]'s.
pub use crate::idempotency::Idempotency;

/// What creating a signature came to.
#[derive(Debug, Clone)]
pub enum Signed {
    /// A new signature (202 online, 201 in person).
    New(SignatureView),
    /// The same `Idempotency-Key` and body again within its time: the first answer (200).
    Replayed(SignatureView),
}

/// The key's row in `idempotency_keys` (beside the registrations' keys, expired and purged
/// with them): `signature:<declaration id> <key>` — a client's key holds no space, so it
/// can never be taken for another declaration's or a registration's.
fn stored_key(d: &Declaration, key: &str) -> String {
    format!("signature:{} {key}", d.id)
}

/// The first answer for this key and body, if any (its row expired → deleted, `None`).
/// Runs under the declaration's row lock, so a concurrent duplicate waits for the first
/// and then gets its answer. Errors: 422 when the key came with another body.
async fn replay(
    txn: &DatabaseTransaction,
    d: &Declaration,
    idem: &Idempotency,
    fingerprint: &str,
) -> Result<Option<SignatureView>> {
    let key = stored_key(d, &idem.key);
    let Some(response) =
        crate::idempotency::find_one(txn, d.forum_id, &key, idem.ttl, fingerprint).await?
    else {
        return Ok(None);
    };
    Ok(Some(serde_json::from_value(response).map_err(|e| {
        Error::Db(sea_orm::DbErr::Custom(format!(
            "stored answer unreadable: {e}"
        )))
    })?))
}

/// Stores the answer of a new signature under its key (same transaction).
async fn remember(
    txn: &DatabaseTransaction,
    d: &Declaration,
    idem: &Idempotency,
    fingerprint: String,
    status: i32,
    view: &SignatureView,
) -> Result<()> {
    let row = crate::idempotency::row(
        d.forum_id,
        &stored_key(d, &idem.key),
        &fingerprint,
        status,
        serde_json::to_value(view).unwrap_or_default(),
        crate::db::now(),
    );
    crate::idempotency::store(txn, vec![row]).await
}

/// Signs online: a pending signature and, in the same transaction, the
/// `signature.confirm` e-mail with a link holding a new `cvn_sig_` token (stored hashed,
/// valid for the configured time). Errors: 404; 409 `not-accepting-signatures`,
/// `version-locked`, `already-signed`; 422.
pub async fn sign_online(
    db: &DatabaseConnection,
    caller: &Caller,
    forum_slug: &str,
    slug: &str,
    input: NewSignature,
    idem: Option<Idempotency>,
) -> Result<Signed> {
    if let Some(i) = &idem {
        crate::idempotency::check_key(&i.key)?;
    }
    let fingerprint = crate::idempotency::fingerprint(&input);
    let c = validate(&input, true)?;
    let txn = crate::db::begin_write(db).await?;
    let (access, d) = find_visible(&txn, caller, forum_slug, slug).await?;
    let d = locked(&txn, &d).await?;
    if let Some(i) = &idem {
        if let Some(v) = replay(&txn, &d, i, &fingerprint).await? {
            txn.commit().await?;
            return Ok(Signed::Replayed(v));
        }
    }
    let ver = accepting_version(&txn, &d, input.version).await?;
    let key = entity_key(c.entity_kind, &c.country, &c.entity_name);
    check_unique(&txn, &d, c.email.as_deref(), &key).await?;
    let now = crate::db::now();
    let token = accounts::new_token(SIGNATORY_TOKEN_PREFIX);
    let mut row = new_row(&d, &ver, c, input.consent_publish, "online", now);
    row.token_hash = Set(Some(accounts::hash_token(&token)));
    row.confirm_expires_at = Set(Some(
        now + Duration::seconds(settings().confirm_ttl_seconds),
    ));
    row.sends = Set(1);
    row.last_sent_at = Set(Some(now));
    let s = row.insert(&txn).await.map_err(map_unique)?;
    enqueue_confirm(&txn, &access, &d, &s, &token).await?;
    let view = sig_view(&s, ver.number);
    if let Some(i) = &idem {
        remember(&txn, &d, i, fingerprint, 202, &view).await?;
    }
    txn.commit().await?;
    Ok(Signed::New(view))
}

/// Records a signature made in person: the organizer is its witness; confirmed at once
/// and appended to the ledger. Errors as [`sign_online`], plus 401/403.
pub async fn sign_in_person(
    db: &DatabaseConnection,
    caller: &Caller,
    forum_slug: &str,
    slug: &str,
    input: NewSignature,
    idem: Option<Idempotency>,
) -> Result<Signed> {
    let witness = caller.account_id()?;
    if let Some(i) = &idem {
        crate::idempotency::check_key(&i.key)?;
    }
    let fingerprint = crate::idempotency::fingerprint(&input);
    let c = validate(&input, false)?;
    let txn = crate::db::begin_write(db).await?;
    let (_, d) = find_for_write(&txn, caller, forum_slug, slug).await?;
    let d = locked(&txn, &d).await?;
    if let Some(i) = &idem {
        if let Some(v) = replay(&txn, &d, i, &fingerprint).await? {
            txn.commit().await?;
            return Ok(Signed::Replayed(v));
        }
    }
    let ver = accepting_version(&txn, &d, input.version).await?;
    let key = entity_key(c.entity_kind, &c.country, &c.entity_name);
    check_unique(&txn, &d, c.email.as_deref(), &key).await?;
    let now = crate::db::now();
    let mut row = new_row(&d, &ver, c, input.consent_publish, "in_person", now);
    row.witness_account_id = Set(Some(witness));
    row.status = Set(SignatureStatus::Confirmed.as_str().into());
    row.confirmed_at = Set(Some(now));
    let s = row.insert(&txn).await.map_err(map_unique)?;
    let s = record_confirmation(&txn, s, &ver, now).await?;
    let view = sig_view(&s, ver.number);
    if let Some(i) = &idem {
        remember(&txn, &d, i, fingerprint, 201, &view).await?;
    }
    txn.commit().await?;
    Ok(Signed::New(view))
}

async fn record_confirmation(
    txn: &DatabaseTransaction,
    s: signature::Model,
    ver: &version::Model,
    now: DateTime<Utc>,
) -> Result<signature::Model> {
    let seq = ledger::append(txn, s.declaration_id, "confirm", None, &s, ver, now).await?;
    let mut am = s.into_active_model();
    am.confirm_seq = Set(Some(seq));
    Ok(am.update(txn).await?)
}

async fn by_token(
    txn: &impl ConnectionTrait,
    d: &Declaration,
    token: &str,
) -> Result<signature::Model> {
    if !token.starts_with(SIGNATORY_TOKEN_PREFIX) {
        return Err(Error::NotFound("signature"));
    }
    signature::Entity::find()
        .filter(signature::Column::DeclarationId.eq(d.id))
        .filter(signature::Column::TokenHash.eq(accounts::hash_token(token)))
        .one(txn)
        .await?
        .ok_or(Error::NotFound("signature"))
}

/// Confirms a pending online signature with the token of its link, and appends it to
/// the ledger. Errors: 404 for an unknown token or one of another declaration; 409
/// `already-confirmed` (a link used twice), `link-expired`, `invalid-state` (withdrawn),
/// `not-accepting-signatures` (closed since).
pub async fn confirm(
    db: &DatabaseConnection,
    caller: &Caller,
    forum_slug: &str,
    slug: &str,
    token: &str,
) -> Result<SignatureView> {
    let txn = crate::db::begin_write(db).await?;
    let (_, d) = find_visible(&txn, caller, forum_slug, slug).await?;
    let d = locked(&txn, &d).await?;
    let s = by_token(&txn, &d, token).await?;
    let ver = version::Entity::find_by_id(s.version_id)
        .one(&txn)
        .await?
        .ok_or(Error::NotFound("version"))?;
    match SignatureStatus::of(&s) {
        SignatureStatus::Pending => {}
        SignatureStatus::Confirmed => {
            return Err(conflict(
                ConflictKind::AlreadyConfirmed,
                "this signature is already confirmed",
            ))
        }
        SignatureStatus::Withdrawn => {
            return Err(conflict(
                ConflictKind::InvalidState,
                "this signature was withdrawn",
            ))
        }
    }
    let now = crate::db::now();
    if s.confirm_expires_at.is_none_or(|e| now >= e) {
        return Err(conflict(
            ConflictKind::LinkExpired,
            "the confirmation link has expired; ask for a new one (POST …/signatures/resend)",
        ));
    }
    if effective_status(&d, now) != DeclarationStatus::Open {
        return Err(conflict(
            ConflictKind::NotAcceptingSignatures,
            "the declaration is no longer open for signature",
        ));
    }
    let mut am = s.into_active_model();
    am.status = Set(SignatureStatus::Confirmed.as_str().into());
    am.confirmed_at = Set(Some(now));
    let s = am.update(&txn).await?;
    let s = record_confirmation(&txn, s, &ver, now).await?;
    txn.commit().await?;
    Ok(sig_view(&s, ver.number))
}

/// What a signatory's token opens, read-only: the signature it belongs to (GET never
/// changes state — a mail scanner fetching the e-mailed link confirms nothing; the page
/// shows this and a button POSTs to [`confirm`] or [`withdraw_by_signatory`]).
/// Errors: 404 for an unknown token or one of another declaration.
pub async fn by_signatory_token(
    db: &DatabaseConnection,
    caller: &Caller,
    forum_slug: &str,
    slug: &str,
    token: &str,
) -> Result<SignatureView> {
    let (_, d) = find_visible(db, caller, forum_slug, slug).await?;
    let s = by_token(db, &d, token).await?;
    let n = number_of(db, s.version_id).await?;
    Ok(sig_view(&s, n))
}

/// Re-sends the confirmation e-mail of the pending signature made with `email`, with a
/// new token (the old link stops working) and a new expiry — at most once per
/// `resend_interval_seconds` and `max_sends` times in all. Answers the same whether or
/// not such a signature exists (no e-mail enumeration); returns whether one was sent.
pub async fn resend(
    db: &DatabaseConnection,
    caller: &Caller,
    forum_slug: &str,
    slug: &str,
    email: &str,
) -> Result<bool> {
    let email = accounts::normalise_email("email", email)?;
    let txn = crate::db::begin_write(db).await?;
    let (access, d) = find_visible(&txn, caller, forum_slug, slug).await?;
    let d = locked(&txn, &d).await?;
    let Some(s) = signature::Entity::find()
        .filter(signature::Column::DeclarationId.eq(d.id))
        .filter(signature::Column::Email.eq(email))
        .filter(signature::Column::Status.eq(SignatureStatus::Pending.as_str()))
        .filter(signature::Column::WithdrawnAt.is_null())
        .one(&txn)
        .await?
    else {
        return Ok(false);
    };
    let cfg = settings();
    let now = crate::db::now();
    let too_soon = s
        .last_sent_at
        .is_some_and(|t| now < t + Duration::seconds(cfg.resend_interval_seconds));
    if too_soon || s.sends >= cfg.max_sends || effective_status(&d, now) != DeclarationStatus::Open
    {
        return Ok(false);
    }
    let token = accounts::new_token(SIGNATORY_TOKEN_PREFIX);
    let sends = s.sends + 1;
    let mut am = s.into_active_model();
    am.token_hash = Set(Some(accounts::hash_token(&token)));
    am.confirm_expires_at = Set(Some(now + Duration::seconds(cfg.confirm_ttl_seconds)));
    am.sends = Set(sends);
    am.last_sent_at = Set(Some(now));
    let s = am.update(&txn).await?;
    enqueue_confirm(&txn, &access, &d, &s, &token).await?;
    txn.commit().await?;
    Ok(true)
}

async fn withdraw_row(
    txn: &DatabaseTransaction,
    s: signature::Model,
    by: &str,
    reason: Option<String>,
) -> Result<signature::Model> {
    let now = crate::db::now();
    let was_confirmed = SignatureStatus::of(&s) == SignatureStatus::Confirmed;
    let ver = version::Entity::find_by_id(s.version_id)
        .one(txn)
        .await?
        .ok_or(Error::NotFound("version"))?;
    let mut am = s.into_active_model();
    am.status = Set(SignatureStatus::Withdrawn.as_str().into());
    am.withdrawn_at = Set(Some(now));
    am.withdrawn_by = Set(Some(by.into()));
    am.withdrawal_reason = Set(reason);
    let s = am.update(txn).await?;
    if !was_confirmed {
        return Ok(s);
    }
    let seq = ledger::append(txn, s.declaration_id, "withdraw", Some(by), &s, &ver, now).await?;
    let mut am = s.into_active_model();
    am.withdraw_seq = Set(Some(seq));
    Ok(am.update(txn).await?)
}

fn ensure_live(s: &signature::Model) -> Result<()> {
    if s.withdrawn_at.is_some() {
        return Err(conflict(
            ConflictKind::InvalidState,
            "this signature is already withdrawn",
        ));
    }
    Ok(())
}

async fn number_of(db: &impl ConnectionTrait, version_id: Uuid) -> Result<i32> {
    Ok(version::Entity::find_by_id(version_id)
        .one(db)
        .await?
        .map(|v| v.number)
        .unwrap_or(0))
}

/// The signatory withdraws with their token, while the declaration is open. A
/// confirmed signature's withdrawal is appended to the ledger; the row is kept.
/// Errors: 404; 409 `invalid-state` (already withdrawn), `not-accepting-signatures`.
pub async fn withdraw_by_signatory(
    db: &DatabaseConnection,
    caller: &Caller,
    forum_slug: &str,
    slug: &str,
    body: TokenBody,
) -> Result<SignatureView> {
    let txn = crate::db::begin_write(db).await?;
    let (_, d) = find_visible(&txn, caller, forum_slug, slug).await?;
    let d = locked(&txn, &d).await?;
    let s = by_token(&txn, &d, &body.token).await?;
    ensure_live(&s)?;
    if effective_status(&d, crate::db::now()) != DeclarationStatus::Open {
        return Err(conflict(
            ConflictKind::NotAcceptingSignatures,
            "the declaration is closed: a signatory can withdraw only while it is open; ask the organizers",
        ));
    }
    let reason = body
        .reason
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    if reason.as_ref().is_some_and(|r| r.chars().count() > 1000) {
        return Err(Error::field("reason", "must have at most 1000 characters"));
    }
    let s = withdraw_row(&txn, s, "signatory", reason).await?;
    let n = number_of(&txn, s.version_id).await?;
    txn.commit().await?;
    Ok(sig_view(&s, n))
}

async fn by_id(txn: &impl ConnectionTrait, d: &Declaration, id: Uuid) -> Result<signature::Model> {
    signature::Entity::find_by_id(id)
        .filter(signature::Column::DeclarationId.eq(d.id))
        .one(txn)
        .await?
        .ok_or(Error::NotFound("signature"))
}

/// An organizer withdraws a signature with a reason (at any time). Errors: 401/403/404,
/// 409 `invalid-state`, 422 without a reason.
pub async fn withdraw_by_organizer(
    db: &DatabaseConnection,
    caller: &Caller,
    forum_slug: &str,
    slug: &str,
    id: Uuid,
    body: WithdrawBody,
) -> Result<SignatureView> {
    let reason = body.reason.trim().to_owned();
    if !(1..=1000).contains(&reason.chars().count()) {
        return Err(Error::field("reason", "must have 1–1000 characters"));
    }
    let txn = crate::db::begin_write(db).await?;
    let (_, d) = find_for_write(&txn, caller, forum_slug, slug).await?;
    let d = locked(&txn, &d).await?;
    let s = by_id(&txn, &d, id).await?;
    ensure_live(&s)?;
    let s = withdraw_row(&txn, s, "organizer", Some(reason)).await?;
    let n = number_of(&txn, s.version_id).await?;
    txn.commit().await?;
    Ok(sig_view(&s, n))
}

/// Erases a signatory's personal data (full name, title, entity name, city, e-mail, the
/// salt, the token): a live signature is first withdrawn (`withdrawn_by: erasure`, a
/// ledger entry when it was confirmed). The ledger keeps only salted hashes, so it still
/// verifies; with the salt gone they can no longer be linked to the person.
pub async fn erase(
    db: &DatabaseConnection,
    caller: &Caller,
    forum_slug: &str,
    slug: &str,
    id: Uuid,
) -> Result<SignatureView> {
    let txn = crate::db::begin_write(db).await?;
    let (_, d) = find_for_write(&txn, caller, forum_slug, slug).await?;
    let d = locked(&txn, &d).await?;
    let mut s = by_id(&txn, &d, id).await?;
    if s.withdrawn_at.is_none() {
        s = withdraw_row(&txn, s, "erasure", None).await?;
    }
    let mut am = s.into_active_model();
    am.full_name = Set(String::new());
    am.title = Set(String::new());
    am.entity_name = Set(String::new());
    am.entity_key = Set(None);
    am.city = Set(None);
    am.email = Set(None);
    am.salt = Set(None);
    am.token_hash = Set(None);
    am.withdrawal_reason = Set(None);
    am.erased_at = Set(Some(crate::db::now()));
    let s = am.update(&txn).await?;
    let n = number_of(&txn, s.version_id).await?;
    txn.commit().await?;
    Ok(sig_view(&s, n))
}

fn public_filter(d: &Declaration, q: &PublicQuery) -> Result<sea_orm::Select<signature::Entity>> {
    let mut sel = signature::Entity::find()
        .filter(signature::Column::DeclarationId.eq(d.id))
        .filter(signature::Column::Status.eq(SignatureStatus::Confirmed.as_str()))
        .filter(signature::Column::WithdrawnAt.is_null())
        .filter(signature::Column::ErasedAt.is_null())
        .filter(signature::Column::ConsentPublish.eq(true));
    if let Some(c) = &q.country {
        let c = c.trim().to_uppercase();
        if c.len() != 2 {
            return Err(Error::field(
                "country",
                "is not an ISO 3166-1 alpha-2 country code",
            ));
        }
        sel = sel.filter(signature::Column::Country.eq(c));
    }
    if let Some(k) = q.entity_kind {
        sel = sel.filter(signature::Column::EntityKind.eq(k.as_str()));
    }
    Ok(sel)
}

async fn to_public(
    db: &impl ConnectionTrait,
    d: &Declaration,
    rows: Vec<signature::Model>,
) -> Result<Vec<PublicSignature>> {
    let numbers: std::collections::HashMap<Uuid, i32> = version::Entity::find()
        .filter(version::Column::DeclarationId.eq(d.id))
        .all(db)
        .await?
        .into_iter()
        .map(|v| (v.id, v.number))
        .collect();
    Ok(rows
        .into_iter()
        .map(|s| PublicSignature {
            id: s.id,
            full_name: s.full_name,
            title: s.title,
            entity_kind: s.entity_kind,
            entity_name: s.entity_name,
            city: s.city,
            country: s.country,
            method: s.method,
            version: numbers.get(&s.version_id).copied().unwrap_or(0),
            signed_at: s.confirmed_at.unwrap_or(s.created_at),
            ledger_seq: s.confirm_seq.unwrap_or(0),
        })
        .collect())
}

/// The public list: confirmed, live, consenting signatures in ledger order, without
/// e-mails; filter by country and entity kind; cursor pagination.
pub async fn public_list(
    db: &DatabaseConnection,
    caller: &Caller,
    forum_slug: &str,
    slug: &str,
    q: PublicQuery,
) -> Result<Page<PublicSignature>> {
    let (_, d) = find_visible(db, caller, forum_slug, slug).await?;
    let limit = util::page_limit(q.limit)?;
    let mut sel = public_filter(&d, &q)?.order_by_asc(signature::Column::ConfirmSeq);
    if let Some(c) = &q.cursor {
        let after: i64 = util::decode_cursor(c)?;
        sel = sel.filter(signature::Column::ConfirmSeq.gt(after));
    }
    let mut rows = sel.limit(limit + 1).all(db).await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more {
        rows.last()
            .and_then(|s| s.confirm_seq)
            .map(|s| util::encode_cursor(&s))
    } else {
        None
    };
    Ok(Page {
        items: to_public(db, &d, rows).await?,
        next_cursor,
    })
}

/// The whole public list (for the CSV and JSON exports), same filters.
pub async fn public_export(
    db: &DatabaseConnection,
    caller: &Caller,
    forum_slug: &str,
    slug: &str,
    q: PublicQuery,
) -> Result<Vec<PublicSignature>> {
    let (_, d) = find_visible(db, caller, forum_slug, slug).await?;
    let rows = public_filter(&d, &q)?
        .order_by_asc(signature::Column::ConfirmSeq)
        .all(db)
        .await?;
    to_public(db, &d, rows).await
}

/// The public list as CSV ([`crate::csv_out`]: RFC 4180, header row, formulas
/// neutralised).
pub fn to_csv(items: &[PublicSignature]) -> String {
    let mut table = crate::csv_out::Table::new([
        "ledger_seq",
        "signed_at",
        "full_name",
        "title",
        "entity_kind",
        "entity_name",
        "city",
        "country",
        "method",
        "version",
        "id",
    ]);
    for s in items {
        table.row([
            s.ledger_seq.to_string(),
            ledger::instant(s.signed_at),
            s.full_name.clone(),
            s.title.clone(),
            s.entity_kind.clone(),
            s.entity_name.clone(),
            s.city.clone().unwrap_or_default(),
            s.country.clone(),
            s.method.clone(),
            s.version.to_string(),
            s.id.to_string(),
        ]);
    }
    table.finish()
}

/// Live counts by country and entity kind of the public list.
pub async fn counts(
    db: &DatabaseConnection,
    caller: &Caller,
    forum_slug: &str,
    slug: &str,
) -> Result<Counts> {
    let (_, d) = find_visible(db, caller, forum_slug, slug).await?;
    let confirmed_total = signature::Entity::find()
        .filter(signature::Column::DeclarationId.eq(d.id))
        .filter(signature::Column::Status.eq(SignatureStatus::Confirmed.as_str()))
        .filter(signature::Column::WithdrawnAt.is_null())
        .count(db)
        .await?;
    let rows: Vec<(String, String, i64)> = public_filter(&d, &PublicQuery::default())?
        .select_only()
        .column(signature::Column::Country)
        .column(signature::Column::EntityKind)
        .column_as(signature::Column::Id.count(), "n")
        .group_by(signature::Column::Country)
        .group_by(signature::Column::EntityKind)
        .order_by_asc(signature::Column::Country)
        .into_tuple()
        .all(db)
        .await?;
    let mut c = Counts {
        total: 0,
        confirmed_total,
        by_country: BTreeMap::new(),
        by_entity_kind: BTreeMap::new(),
    };
    for (country, kind, n) in rows {
        let n = n as u64;
        c.total += n;
        *c.by_country.entry(country).or_default() += n;
        *c.by_entity_kind.entry(kind).or_default() += n;
    }
    Ok(c)
}

/// A ledger entry as published.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LedgerEntryView {
    /// 1, 2, 3 …
    pub seq: i64,
    /// `confirm` or `withdraw`.
    pub kind: String,
    /// The signature concerned.
    pub signature_id: Uuid,
    /// The previous entry's hash (64 zeros for the first).
    pub prev_hash: String,
    /// Lower-case hex SHA-256 of `body`'s UTF-8 bytes.
    pub hash: String,
    /// The canonical JSON that was hashed, exactly (see LEDGER.md).
    pub body: String,
}

/// A page of the ledger.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LedgerPage {
    /// The declaration.
    pub declaration_id: Uuid,
    /// Entries in the whole ledger.
    pub length: i64,
    /// Hash of the last entry (64 zeros when empty).
    pub head: String,
    /// Entries with `seq` > `after`, in order.
    pub entries: Vec<LedgerEntryView>,
    /// Pass as `after` to get the next page; absent on the last page.
    pub next_after: Option<i64>,
}

/// Query of `GET …/ledger`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct LedgerQuery {
    /// Only entries after this `seq` (default 0).
    #[serde(
        default,
        deserialize_with = "crate::bounds::int::<0, { i64::MAX }, _, _>"
    )]
    #[param(minimum = 0)]
    pub after: Option<i64>,
    /// Page size, 1–1000, default 1000.
    #[serde(default, deserialize_with = "crate::bounds::int::<1, 500, _, _>")]
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u64>,
}

/// The published ledger: head and entries.
pub async fn ledger_page(
    db: &DatabaseConnection,
    caller: &Caller,
    forum_slug: &str,
    slug: &str,
    q: LedgerQuery,
) -> Result<LedgerPage> {
    let (_, d) = find_visible(db, caller, forum_slug, slug).await?;
    let limit = q.limit.unwrap_or(1000);
    if !(1..=1000).contains(&limit) {
        return Err(Error::field("limit", "must be between 1 and 1000"));
    }
    let after = q.after.unwrap_or(0);
    let mut rows = ledger_entry::Entity::find()
        .filter(ledger_entry::Column::DeclarationId.eq(d.id))
        .filter(ledger_entry::Column::Seq.gt(after))
        .order_by_asc(ledger_entry::Column::Seq)
        .limit(limit + 1)
        .all(db)
        .await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let next_after = if more {
        rows.last().map(|e| e.seq)
    } else {
        None
    };
    Ok(LedgerPage {
        declaration_id: d.id,
        length: d.ledger_length,
        head: d.ledger_head.clone(),
        entries: rows
            .into_iter()
            .map(|e| LedgerEntryView {
                seq: e.seq,
                kind: e.kind,
                signature_id: e.signature_id,
                prev_hash: e.prev_hash,
                hash: e.entry_hash,
                body: e.body,
            })
            .collect(),
        next_after,
    })
}

/// Re-verifies a declaration's ledger (public).
pub async fn verify(
    db: &DatabaseConnection,
    caller: &Caller,
    forum_slug: &str,
    slug: &str,
) -> Result<ledger::VerifyReport> {
    let (_, d) = find_visible(db, caller, forum_slug, slug).await?;
    ledger::verify(db, d.id).await
}
