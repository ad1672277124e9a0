//! The tamper-evident ledger: one hash chain per declaration (format in LEDGER.md).
//!
//! Every confirmation and withdrawal appends an entry whose `body` is canonical JSON
//! (keys sorted, no whitespace, only strings, integers, booleans and null) and whose hash
//! is the SHA-256 of that body. The body commits to the previous entry's hash, the signed
//! version's text hash and the signature's fields; personal fields only as salted hashes,
//! so that erasing them later leaves every entry intact.
//!
//! Appends lock the declaration row (`FOR UPDATE` on PostgreSQL; SQLite's
//! `BEGIN IMMEDIATE` already serialises writers), read the head from it and write the new
//! head back in the same transaction: no fork, no gap. UNIQUE (declaration_id, seq) and
//! UNIQUE (declaration_id, prev_hash) guard the same rule in the database.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, Set, Statement,
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::entity::{declaration, ledger_entry, signature, version};
use crate::error::Result;

/// `prev_hash` of the first entry: 64 zeros.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// The `format` field of every entry body.
pub const FORMAT: &str = "convene-ledger/1";

/// Lower-case hex SHA-256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The salted commitment to one personal field: hex SHA-256 of the UTF-8 string
/// `<salt>:<field>:<value>` (an absent value is the empty string).
pub fn commit(salt: &str, field: &str, value: &str) -> String {
    sha256_hex(format!("{salt}:{field}:{value}").as_bytes())
}

/// A scalar of an entry body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scalar {
    /// A JSON string.
    Str(String),
    /// A JSON integer.
    Int(i64),
    /// A JSON boolean.
    Bool(bool),
    /// JSON null.
    Null,
}

/// Canonical JSON of a flat object: keys in byte order (a `BTreeMap`), no whitespace,
/// strings escaped as serde_json does (`"`, `\`, and U+0000–U+001F only; the rest raw
/// UTF-8) — the same bytes as Python's
/// `json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`.
pub fn canonical(fields: &BTreeMap<String, Scalar>) -> String {
    let mut out = String::from("{");
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::to_string(k).expect("string"));
        out.push(':');
        match v {
            Scalar::Str(s) => out.push_str(&serde_json::to_string(s).expect("string")),
            Scalar::Int(n) => out.push_str(&n.to_string()),
            Scalar::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Scalar::Null => out.push_str("null"),
        }
    }
    out.push('}');
    out
}

/// Parses a body back into its fields; `None` unless it is a flat object of scalars.
pub fn parse_body(body: &str) -> Option<BTreeMap<String, Scalar>> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let obj = v.as_object()?;
    let mut m = BTreeMap::new();
    for (k, v) in obj {
        let s = match v {
            serde_json::Value::String(s) => Scalar::Str(s.clone()),
            serde_json::Value::Bool(b) => Scalar::Bool(*b),
            serde_json::Value::Null => Scalar::Null,
            serde_json::Value::Number(n) => Scalar::Int(n.as_i64()?),
            _ => return None,
        };
        m.insert(k.clone(), s);
    }
    Some(m)
}

/// RFC 3339 UTC with whole seconds and `Z`, as in entry bodies.
pub fn instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The fields an entry commits to about a signature and its version (everything but
/// `seq`, `prev_hash`, `kind`, `at`, `withdrawn_by`). Needs the salt: not for erased rows.
fn signature_fields(
    s: &signature::Model,
    v: &version::Model,
    salt: &str,
) -> BTreeMap<String, Scalar> {
    let mut m = BTreeMap::new();
    let mut put = |k: &str, v: Scalar| {
        m.insert(k.to_owned(), v);
    };
    put("format", Scalar::Str(FORMAT.into()));
    put("declaration_id", Scalar::Str(s.declaration_id.to_string()));
    put("signature_id", Scalar::Str(s.id.to_string()));
    put("version_number", Scalar::Int(v.number.into()));
    put("text_sha256", Scalar::Str(v.text_sha256.clone()));
    put("method", Scalar::Str(s.method.clone()));
    put("entity_kind", Scalar::Str(s.entity_kind.clone()));
    put("country", Scalar::Str(s.country.clone()));
    put("consent_publish", Scalar::Bool(s.consent_publish));
    put(
        "witness",
        s.witness_account_id
            .map(|w| Scalar::Str(w.to_string()))
            .unwrap_or(Scalar::Null),
    );
    put(
        "full_name_h",
        Scalar::Str(commit(salt, "full_name", &s.full_name)),
    );
    put("title_h", Scalar::Str(commit(salt, "title", &s.title)));
    put(
        "entity_name_h",
        Scalar::Str(commit(salt, "entity_name", &s.entity_name)),
    );
    put(
        "city_h",
        Scalar::Str(commit(salt, "city", s.city.as_deref().unwrap_or(""))),
    );
    put(
        "email_h",
        Scalar::Str(commit(salt, "email", s.email.as_deref().unwrap_or(""))),
    );
    m
}

/// Appends a `confirm` or `withdraw` entry for `sig` (whose version is `ver`) inside
/// `txn`, at instant `at`; returns its `seq`. Locks the declaration row first, then checks
/// the head ([`head_problem`]: one entry, not the whole chain). Errors:
/// [`crate::Error::LedgerBroken`] (503, logged as an error) when the head does not verify.
pub async fn append(
    txn: &DatabaseTransaction,
    declaration_id: Uuid,
    kind: &str,
    withdrawn_by: Option<&str>,
    sig: &signature::Model,
    ver: &version::Model,
    at: DateTime<Utc>,
) -> Result<i64> {
    lock_declaration(txn, declaration_id).await?;
    let d = declaration::Entity::find_by_id(declaration_id)
        .one(txn)
        .await?
        .ok_or(crate::Error::NotFound("declaration"))?;
    if let Some(reason) = head_problem(txn, &d).await? {
        tracing::error!(
            declaration = %d.id, forum = %d.forum_id, %reason,
            "ledger head does not verify: append refused; run `convene verify-ledger`"
        );
        return Err(crate::Error::LedgerBroken(format!(
            "the ledger of declaration `{}` does not verify at its head ({reason}); no signature \
             can be recorded until an operator checks it (`convene verify-ledger`) — please try again later",
            d.slug
        )));
    }
    let seq = d.ledger_length + 1;
    let salt = sig.salt.clone().unwrap_or_default();
    let mut fields = signature_fields(sig, ver, &salt);
    fields.insert("seq".into(), Scalar::Int(seq));
    fields.insert("prev_hash".into(), Scalar::Str(d.ledger_head.clone()));
    fields.insert("kind".into(), Scalar::Str(kind.into()));
    fields.insert("at".into(), Scalar::Str(instant(at)));
    fields.insert(
        "withdrawn_by".into(),
        withdrawn_by
            .map(|w| Scalar::Str(w.into()))
            .unwrap_or(Scalar::Null),
    );
    let body = canonical(&fields);
    let hash = sha256_hex(body.as_bytes());
    ledger_entry::ActiveModel {
        id: Set(Uuid::new_v4()),
        forum_id: Set(d.forum_id),
        declaration_id: Set(d.id),
        seq: Set(seq),
        prev_hash: Set(d.ledger_head.clone()),
        entry_hash: Set(hash.clone()),
        kind: Set(kind.into()),
        signature_id: Set(sig.id),
        body: Set(body),
        created_at: Set(at),
    }
    .insert(txn)
    .await?;
    // Prometheus counter (README "Metrics"); counted in the transaction, so a rolled-back
    // append counts too.
    metrics::counter!("convene_ledger_appends_total", "kind" => kind.to_owned()).increment(1);
    declaration::Entity::update_many()
        .col_expr(
            declaration::Column::LedgerLength,
            sea_orm::sea_query::Expr::value(seq),
        )
        .col_expr(
            declaration::Column::LedgerHead,
            sea_orm::sea_query::Expr::value(hash),
        )
        .filter(declaration::Column::Id.eq(d.id))
        .exec(txn)
        .await?;
    Ok(seq)
}

/// What is wrong with the head of `d`'s chain, if anything: the entry numbered
/// `ledger_length` must exist, hash to the recorded `ledger_head`, have a body that hashes
/// to its `entry_hash` and names its own `seq` and `prev_hash`; no entry may follow it; an
/// empty chain's head is [`GENESIS`]. A cheap check made before every append (the whole
/// chain is [`verify`]'s).
pub async fn head_problem(
    db: &impl ConnectionTrait,
    d: &declaration::Model,
) -> Result<Option<String>> {
    let entries = ledger_entry::Entity::find()
        .filter(ledger_entry::Column::DeclarationId.eq(d.id))
        .filter(ledger_entry::Column::Seq.gte(d.ledger_length))
        .order_by_asc(ledger_entry::Column::Seq)
        .all(db)
        .await?;
    if let Some(after) = entries.iter().find(|e| e.seq > d.ledger_length) {
        return Ok(Some(format!(
            "entry {} exists beyond the recorded length {}",
            after.seq, d.ledger_length
        )));
    }
    if d.ledger_length == 0 {
        return Ok((d.ledger_head != GENESIS)
            .then(|| "the chain is empty but its recorded head is not the genesis hash".into()));
    }
    let Some(e) = entries.iter().find(|e| e.seq == d.ledger_length) else {
        return Ok(Some(format!("head entry {} is missing", d.ledger_length)));
    };
    if e.entry_hash != d.ledger_head {
        return Ok(Some(format!("entry {} is not the recorded head", e.seq)));
    }
    if sha256_hex(e.body.as_bytes()) != e.entry_hash {
        return Ok(Some(format!(
            "entry {}'s hash does not match its body",
            e.seq
        )));
    }
    let fields = parse_body(&e.body).unwrap_or_default();
    if fields.get("seq") != Some(&Scalar::Int(e.seq))
        || fields.get("prev_hash") != Some(&Scalar::Str(e.prev_hash.clone()))
    {
        return Ok(Some(format!(
            "entry {}'s body does not match its columns",
            e.seq
        )));
    }
    Ok(None)
}

/// A declaration whose ledger head does not verify ([`head_problem`]), as `/readyz` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct BrokenLedger {
    /// The declaration's id.
    pub declaration_id: Uuid,
    /// Its slug.
    pub declaration: String,
    /// Its forum's id.
    pub forum_id: Uuid,
    /// What is wrong.
    pub reason: String,
}

/// Every declaration whose head does not verify: one read of the declarations and one of
/// each head entry (the whole chains are `convene verify-ledger`'s).
pub async fn broken_heads(db: &impl ConnectionTrait) -> Result<Vec<BrokenLedger>> {
    let mut out = vec![];
    for d in declaration::Entity::find().all(db).await? {
        if let Some(reason) = head_problem(db, &d).await? {
            out.push(BrokenLedger {
                declaration_id: d.id,
                declaration: d.slug,
                forum_id: d.forum_id,
                reason,
            });
        }
    }
    Ok(out)
}

/// On PostgreSQL, `SELECT … FOR UPDATE` on the declaration row until the transaction
/// ends; on SQLite a no-op (the transaction already holds the write lock).
pub async fn lock_declaration(txn: &DatabaseTransaction, id: Uuid) -> Result<()> {
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT id FROM declarations WHERE id = $1 FOR UPDATE",
            [id.into()],
        ))
        .await?;
    }
    Ok(())
}

/// The first entry that does not verify.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BadEntry {
    /// Its sequence number (for a missing entry, the number that is missing); `null`
    /// when the problem is a signature that has no entry at all.
    pub seq: Option<i64>,
    /// The stored hash of the entry, when there is one.
    pub entry_hash: Option<String>,
    /// What does not match.
    pub reason: String,
}

/// The result of re-verifying a declaration's whole chain.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VerifyReport {
    /// The declaration.
    pub declaration_id: Uuid,
    /// Whether every entry verified.
    pub ok: bool,
    /// Entries found.
    pub entries: i64,
    /// The head hash the declaration records.
    pub head: String,
    /// The first problem, when not ok.
    pub first_bad: Option<BadEntry>,
}

/// Re-verifies the whole chain of a declaration against itself and the rows it commits
/// to: each body is canonical and hashes to its `entry_hash`; `seq` runs 1, 2, 3 … with
/// no gap; each `prev_hash` is the previous entry's hash (the first: [`GENESIS`]); the
/// declaration's recorded length and head match the last entry; the signed version's
/// text still hashes to `text_sha256`; each signature row (unless erased) still yields the
/// committed fields and salted hashes; every confirmed signature has its entry.
pub async fn verify(db: &impl ConnectionTrait, declaration_id: Uuid) -> Result<VerifyReport> {
    let d = declaration::Entity::find_by_id(declaration_id)
        .one(db)
        .await?
        .ok_or(crate::Error::NotFound("declaration"))?;
    let entries = ledger_entry::Entity::find()
        .filter(ledger_entry::Column::DeclarationId.eq(d.id))
        .order_by_asc(ledger_entry::Column::Seq)
        .all(db)
        .await?;
    let sigs: HashMap<Uuid, signature::Model> = signature::Entity::find()
        .filter(signature::Column::DeclarationId.eq(d.id))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let versions: HashMap<Uuid, version::Model> = version::Entity::find()
        .filter(version::Column::DeclarationId.eq(d.id))
        .all(db)
        .await?
        .into_iter()
        .map(|v| (v.id, v))
        .collect();
    let n = entries.len() as i64;
    let report = |bad: Option<BadEntry>| VerifyReport {
        declaration_id: d.id,
        ok: bad.is_none(),
        entries: n,
        head: d.ledger_head.clone(),
        first_bad: bad,
    };
    let bad = |seq: i64, hash: Option<&str>, reason: String| {
        Some(BadEntry {
            seq: Some(seq),
            entry_hash: hash.map(str::to_owned),
            reason,
        })
    };

    let mut prev = GENESIS.to_owned();
    for (expected, e) in (1i64..).zip(entries.iter()) {
        if e.seq != expected {
            return Ok(report(bad(
                expected,
                None,
                format!(
                    "entry {expected} is missing (the next stored entry is {})",
                    e.seq
                ),
            )));
        }
        let h = Some(e.entry_hash.as_str());
        if sha256_hex(e.body.as_bytes()) != e.entry_hash {
            return Ok(report(bad(
                e.seq,
                h,
                "its hash does not match its body".into(),
            )));
        }
        let Some(fields) = parse_body(&e.body).filter(|f| canonical(f) == e.body) else {
            return Ok(report(bad(
                e.seq,
                h,
                "its body is not canonical JSON".into(),
            )));
        };
        let get = |k: &str| fields.get(k).cloned().unwrap_or(Scalar::Null);
        if get("seq") != Scalar::Int(e.seq)
            || get("prev_hash") != Scalar::Str(prev.clone())
            || e.prev_hash != prev
        {
            return Ok(report(bad(
                e.seq,
                h,
                "it does not link to the previous entry".into(),
            )));
        }
        if get("kind") != Scalar::Str(e.kind.clone())
            || get("signature_id") != Scalar::Str(e.signature_id.to_string())
            || get("declaration_id") != Scalar::Str(d.id.to_string())
            || get("format") != Scalar::Str(FORMAT.into())
        {
            return Ok(report(bad(
                e.seq,
                h,
                "its columns do not match its body".into(),
            )));
        }
        let Some(s) = sigs.get(&e.signature_id) else {
            return Ok(report(bad(
                e.seq,
                h,
                format!("signature {} no longer exists", e.signature_id),
            )));
        };
        let Some(v) = versions.get(&s.version_id) else {
            return Ok(report(bad(
                e.seq,
                h,
                "the signed version no longer exists".into(),
            )));
        };
        if sha256_hex(v.body.as_bytes()) != v.text_sha256
            || get("text_sha256") != Scalar::Str(v.text_sha256.clone())
            || get("version_number") != Scalar::Int(v.number.into())
        {
            return Ok(report(bad(
                e.seq,
                h,
                format!("the text of version {} no longer matches", v.number),
            )));
        }
        let state_ok = match e.kind.as_str() {
            "confirm" => s.confirmed_at.is_some() && s.confirm_seq == Some(e.seq),
            "withdraw" => s.withdrawn_at.is_some() && s.withdraw_seq == Some(e.seq),
            _ => false,
        };
        if !state_ok {
            return Ok(report(bad(
                e.seq,
                h,
                format!("signature {} does not record this {}", s.id, e.kind),
            )));
        }
        if s.erased_at.is_none() {
            let expect = signature_fields(s, v, s.salt.as_deref().unwrap_or(""));
            if let Some((k, _)) = expect.iter().find(|(k, val)| fields.get(*k) != Some(val)) {
                return Ok(report(bad(
                    e.seq,
                    h,
                    format!("signature {} no longer matches its committed `{k}`", s.id),
                )));
            }
        }
        prev = e.entry_hash.clone();
    }
    if d.ledger_length != n {
        return Ok(report(bad(
            n + 1,
            None,
            format!(
                "entry {} is missing: the declaration records {} entries, {} are stored",
                n + 1,
                d.ledger_length,
                n
            ),
        )));
    }
    if d.ledger_head != prev {
        return Ok(report(bad(
            n,
            Some(&prev),
            "the declaration's recorded head is not this entry's hash".into(),
        )));
    }
    let mut unrecorded: Vec<&signature::Model> = sigs
        .values()
        .filter(|s| {
            (s.confirmed_at.is_some() && s.confirm_seq.is_none_or(|q| q > n))
                || (s.confirm_seq.is_some() && s.withdraw_seq.is_some_and(|q| q > n))
        })
        .collect();
    unrecorded.sort_by_key(|s| s.created_at);
    if let Some(s) = unrecorded.first() {
        return Ok(report(Some(BadEntry {
            seq: s.confirm_seq.filter(|q| *q > n),
            entry_hash: None,
            reason: format!("signature {} is confirmed but has no ledger entry", s.id),
        })));
    }
    Ok(report(None))
}
