//! The errors every domain operation returns. The API maps each to an RFC 9457 problem.

use serde::Serialize;
use uuid::Uuid;

/// One field's complaint inside a validation error: `field` is a JSON pointer-like path
/// (`starts_at`, `speakers[1].role`), `message` says what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// Path of the field in the request body.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    /// Builds a field error.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A session that an operation collided with, named in 409 problems.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ConflictingSession {
    /// Its id.
    pub id: Uuid,
    /// Its stable guid.
    pub guid: String,
    /// Its title.
    pub title: String,
    /// Start, RFC 3339 UTC.
    pub starts_at: chrono::DateTime<chrono::Utc>,
    /// End, RFC 3339 UTC.
    pub ends_at: chrono::DateTime<chrono::Utc>,
}

/// Which rule a conflict broke; the API uses it as the problem `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictKind {
    /// Two live sessions in one room at overlapping times.
    RoomDoubleBooked,
    /// One speaker in two overlapping live sessions.
    SpeakerDoubleBooked,
    /// A session that does not end after it starts.
    InvalidTimeRange,
    /// A unique name or key already taken (room name, forum slug, e-mail…).
    AlreadyExists,
    /// The object's status does not allow the operation (e.g. publishing a closed forum).
    InvalidState,
    /// The entity or e-mail already has a live signature on the declaration.
    AlreadySigned,
    /// The signature is already confirmed (a confirmation link used twice).
    AlreadyConfirmed,
    /// The confirmation link has expired; ask for a new one.
    LinkExpired,
    /// The declaration does not accept signatures now (draft, not yet open, closed).
    NotAcceptingSignatures,
    /// The version under signature cannot change while the declaration is open.
    VersionLocked,
    /// The forum is not published or outside its registration window.
    RegistrationClosed,
    /// A registration with this e-mail exists; its manage link was re-sent instead.
    AlreadyRegistered,
    /// A request with the same `Idempotency-Key` is still being processed.
    IdempotencyInFlight,
    /// The registration is not confirmed (pending, wait-listed, rejected or cancelled).
    RegistrationNotConfirmed,
    /// The registration is confirmed but holds no seat in the session (wait-listed for it,
    /// left it or never signed up); the problem names the session.
    SeatNotConfirmed,
    /// The participant already holds (or waits for) a seat in an overlapping session.
    SessionClash,
    /// No seat is free.
    CapacityReached,
}

impl ConflictKind {
    /// Stable kebab-case name, used in the problem `type` URI.
    pub fn slug(self) -> &'static str {
        match self {
            ConflictKind::RoomDoubleBooked => "room-double-booked",
            ConflictKind::SpeakerDoubleBooked => "speaker-double-booked",
            ConflictKind::InvalidTimeRange => "invalid-time-range",
            ConflictKind::AlreadyExists => "already-exists",
            ConflictKind::InvalidState => "invalid-state",
            ConflictKind::AlreadySigned => "already-signed",
            ConflictKind::AlreadyConfirmed => "already-confirmed",
            ConflictKind::LinkExpired => "link-expired",
            ConflictKind::NotAcceptingSignatures => "not-accepting-signatures",
            ConflictKind::VersionLocked => "version-locked",
            ConflictKind::RegistrationClosed => "registration-closed",
            ConflictKind::AlreadyRegistered => "already-registered",
            ConflictKind::IdempotencyInFlight => "idempotency-key-in-flight",
            ConflictKind::RegistrationNotConfirmed => "registration-not-confirmed",
            ConflictKind::SeatNotConfirmed => "seat-not-confirmed",
            ConflictKind::SessionClash => "session-clash",
            ConflictKind::CapacityReached => "capacity-reached",
        }
    }
}

/// Everything a domain operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The object does not exist, or the caller may not see it (HTTP 404).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request body broke field rules (HTTP 422).
    #[error("invalid input")]
    Validation(Vec<FieldError>),
    /// The change breaks a rule about other objects (HTTP 409).
    #[error("{message}")]
    Conflict {
        /// Which rule.
        kind: ConflictKind,
        /// Human-readable explanation naming what collided.
        message: String,
        /// The session collided with, when there is one.
        session: Option<ConflictingSession>,
        /// Field errors that go with it.
        errors: Vec<FieldError>,
    },
    /// Registration or a sign-up is not possible now (HTTP 409 `registration-closed`): the
    /// forum is not published, its registration window has not opened or has closed (by
    /// default at the forum's end), or the session has started. The instants say when.
    #[error("{message}")]
    RegistrationClosed {
        /// What is closed and since when, in words.
        message: String,
        /// The instant registration (or the sign-up) closed, UTC, when it has closed.
        closed_at: Option<chrono::DateTime<chrono::Utc>>,
        /// The instant registration opens, UTC, when it has not opened yet.
        opens_at: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// The declaration's ledger does not verify at its head (HTTP 503): appends are
    /// refused until an operator repairs it (see LEDGER.md, `convene verify-ledger`).
    #[error("{0}")]
    LedgerBroken(String),
    /// `If-Match` did not match the current ETag (HTTP 412).
    #[error("the object has changed; current ETag is {current_etag}")]
    PreconditionFailed {
        /// The object's ETag now.
        current_etag: String,
    },
    /// No or a wrong credential (HTTP 401).
    #[error("authentication required")]
    Unauthenticated,
    /// A credential of the right kind that is unknown or revoked (HTTP 401), with what to
    /// do: the message names the kind of token the endpoint takes and how to get a new one.
    #[error("{0}")]
    TokenRefused(String),
    /// Authenticated, may see the object, but may not do this to it (HTTP 403).
    #[error("{0}")]
    Forbidden(&'static str),
    /// A schedule file was refused (HTTP 422), with where the first problem is.
    #[error("invalid schedule: {0}")]
    InvalidSchedule(#[from] ScheduleError),
    /// The database failed (HTTP 500 / 503; details are logged, never shown).
    #[error("database error: {0}")]
    Db(#[from] sea_orm::DbErr),
}

impl Error {
    /// A 409 of `kind` with a message and nothing else.
    pub fn conflict(kind: ConflictKind, message: impl Into<String>) -> Self {
        Error::Conflict {
            kind,
            message: message.into(),
            session: None,
            errors: vec![],
        }
    }

    /// A validation error about one field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Validation(vec![FieldError::new(field, message)])
    }
}

/// Why a schedule file was refused: where (`line 12, column 3` for XML and JSON syntax,
/// or a JSON path such as `schedule.conference.days[0].rooms.Saal 1[2].id`) and what.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{location}: {message}")]
pub struct ScheduleError {
    /// Where the first problem is.
    pub location: String,
    /// What is wrong there.
    pub message: String,
}

/// Result of domain operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
