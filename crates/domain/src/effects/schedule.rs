//! Schedule imports: one transaction each, with the consequences of every session and
//! room they change (see [`super`] and `crate::schedule::store`).

use sea_orm::DatabaseConnection;

use crate::accounts::Caller;
use crate::error::Result;
use crate::forums::Forum;
use crate::schedule::store::{self, ImportReport, NewForumOptions};

/// Imports a schedule file (frab XML, c3voc JSON v1/v2) into an existing forum the caller
/// organizes. Nothing is written on error.
/// Errors: 422 [`crate::Error::InvalidSchedule`] when the bytes do not parse; otherwise as
/// [`store::import_into_in`].
pub async fn import_into(
    db: &DatabaseConnection,
    caller: &Caller,
    slug: &str,
    bytes: &[u8],
) -> Result<ImportReport> {
    let programme = crate::schedule::parse(bytes)?;
    let txn = crate::db::begin_write(db).await?;
    let (report, changes) = store::import_into_in(&txn, caller, slug, &programme).await?;
    super::apply(&txn, changes).await?;
    txn.commit().await?;
    Ok(report)
}

/// Creates a new draft forum from a schedule file and imports its programme
/// ([`store::import_new_forum_in`]), in one transaction.
/// Errors: as [`import_into`], plus 409 `already-exists` when the slug is taken.
pub async fn import_new_forum(
    db: &DatabaseConnection,
    caller: Option<&Caller>,
    owner_email: Option<&str>,
    bytes: &[u8],
    opts: NewForumOptions,
) -> Result<(Forum, ImportReport)> {
    let programme = crate::schedule::parse(bytes)?;
    let txn = crate::db::begin_write(db).await?;
    let (out, changes) =
        store::import_new_forum_in(&txn, caller, owner_email, &programme, opts).await?;
    super::apply(&txn, changes).await?;
    txn.commit().await?;
    Ok(out)
}

/// Imports into the forum with the file's (or `opts`') slug when it exists, else creates
/// it (CLI path: no caller, full rights), in one transaction; `owner_email` becomes an
/// owner. Errors: as [`import_new_forum`].
pub async fn import_as_admin(
    db: &DatabaseConnection,
    bytes: &[u8],
    owner_email: Option<&str>,
    opts: NewForumOptions,
) -> Result<(Forum, ImportReport)> {
    let programme = crate::schedule::parse(bytes)?;
    let txn = crate::db::begin_write(db).await?;
    let (out, changes) = store::import_as_admin_in(&txn, &programme, owner_email, opts).await?;
    super::apply(&txn, changes).await?;
    txn.commit().await?;
    Ok(out)
}
