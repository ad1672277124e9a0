//! Table `forums`.
use sea_orm::entity::prelude::*;

/// One row of `forums`. Dates are local to `time_zone`; instants are UTC.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "forums")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub slug: String,
    pub title: String,
    pub acronym: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub city: Option<String>,
    pub country: Option<String>,
    pub venue: Option<String>,
    /// IANA time zone name, e.g. `Europe/Istanbul`.
    pub time_zone: String,
    pub first_day: Date,
    pub last_day: Date,
    /// Local time at which one programme day turns into the next.
    pub day_change: Time,
    pub timeslot_minutes: i32,
    pub capacity: Option<i32>,
    /// `open` or `approval`.
    pub registration_mode: String,
    pub registration_opens_at: Option<DateTimeUtc>,
    pub registration_closes_at: Option<DateTimeUtc>,
    /// JSON array of BCP 47 language tags.
    pub languages: Json,
    /// `draft`, `published`, `closed` or `archived`.
    pub status: String,
    /// Row version, raised by one on every change; the ETag is derived from it.
    pub version: i32,
    /// Raised by one whenever the programme (rooms, speakers, sessions) changes; exports
    /// are cached and tagged by it.
    pub programme_version: i32,
    /// Minutes before the forum's start (see `notifications::reminders::forum_start`) at
    /// which `reminder.forum` is sent; 0 = off.
    pub forum_reminder_minutes: i32,
    /// Minutes before each session's start at which `reminder.session` is sent; 0 = off.
    pub session_reminder_minutes: i32,
    /// Whether the public list of participants is published (off by default).
    pub public_participant_list: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
