//! Who may do what on a forum: the roles of a forum's team, the permissions an operation
//! needs, the one table between them ([`RIGHTS`]), and the narrower scopes a token can
//! carry ([`TokenScope`], [`Grant`]).
//!
//! Every check of a caller against a forum ends in [`allows`] (through
//! `forums::find_for_write` in the domain and the API's access gate, `convene_api::access`),
//! so the table below is the whole rule. README.md shows it (section "Teams and
//! tokens"), rendered by [`rights_markdown`]; a test keeps the two equal.
//!
//! The members' operations (add, change a role, remove, list) live in [`members`].

pub mod members;

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A role on one forum. The rights of each role are [`RIGHTS`]; they are nested (each
/// role can do everything the one below it can), which [`Grant`] relies on to narrow a
/// role by a token's scope.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Owner: everything, including the team and deleting the forum.
    #[sea_orm(string_value = "owner")]
    Owner,
    /// Organizer: changes the forum, its programme, registrations and declarations.
    #[sea_orm(string_value = "organizer")]
    Organizer,
    /// Check-in staff: reads everything of the forum and checks people in.
    #[sea_orm(string_value = "checkin")]
    Checkin,
    /// Viewer (e.g. a partner agency): reads everything of the forum, changes nothing.
    #[sea_orm(string_value = "viewer")]
    Viewer,
}

impl Role {
    /// Every role, most powerful first (the columns of [`RIGHTS`]).
    pub const ALL: [Role; 4] = [Role::Owner, Role::Organizer, Role::Checkin, Role::Viewer];

    /// The stored and serialised name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Organizer => "organizer",
            Role::Checkin => "checkin",
            Role::Viewer => "viewer",
        }
    }

    /// Parses a name (`owner`, `organizer`, `checkin`, `viewer`).
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Index in [`Role::ALL`] (0 = owner).
    fn rank(self) -> usize {
        Role::ALL
            .iter()
            .position(|r| *r == self)
            .unwrap_or(usize::MAX)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an operation on a forum needs. Which operation needs which is the API's access
/// table (`convene_api::access::OPERATIONS`) and each domain operation's own check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Permission {
    /// Read what only the team sees: drafts, registrations and their exports, sign-ups,
    /// signatures, the outbox, the team's members.
    Read,
    /// Check people in at the door.
    CheckIn,
    /// Change the forum: settings and lifecycle, rooms, speakers, sessions, imports, the
    /// registration form, registrations and sign-ups, declarations and signatures,
    /// notification retries.
    Edit,
    /// Manage the team (add, change, remove members) and delete the forum.
    ManageTeam,
}

impl Permission {
    /// Every permission, in the order of [`RIGHTS`].
    pub const ALL: [Permission; 4] = [
        Permission::Read,
        Permission::CheckIn,
        Permission::Edit,
        Permission::ManageTeam,
    ];

    /// Whether the permission only reads (a read-only token may use it).
    pub fn is_read(self) -> bool {
        self == Permission::Read
    }
}

/// The one table of rights: for each permission, a short description and whether each
/// role of [`Role::ALL`] (owner, organizer, checkin, viewer) has it.
pub const RIGHTS: &[(Permission, &str, [bool; 4])] = &[
    (
        Permission::Read,
        "read drafts, registrations, sign-ups, signatures, the outbox and the team",
        [true, true, true, true],
    ),
    (
        Permission::CheckIn,
        "check people in",
        [true, true, true, false],
    ),
    (
        Permission::Edit,
        "change the forum, its programme, registrations, declarations and signatures",
        [true, true, false, false],
    ),
    (
        Permission::ManageTeam,
        "add, change and remove members; delete the forum",
        [true, false, false, false],
    ),
];

/// Whether `role` has `permission`, by [`RIGHTS`].
pub fn allows(role: Role, permission: Permission) -> bool {
    RIGHTS
        .iter()
        .find(|(p, _, _)| *p == permission)
        .is_some_and(|(_, _, cols)| cols[role.rank()])
}

/// The narrower scope a token may carry (stored in `api_tokens.scope`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "lowercase")]
pub enum TokenScope {
    /// Everything the account's roles allow.
    #[default]
    #[sea_orm(string_value = "full")]
    Full,
    /// Reading only: at most a viewer's rights, and no account changes.
    #[sea_orm(string_value = "read")]
    Read,
    /// Check-in only: at most check-in staff's rights, and no account changes.
    #[sea_orm(string_value = "checkin")]
    Checkin,
}

impl TokenScope {
    /// The most powerful role the scope lets a token act with (`None`: no limit).
    pub fn cap(self) -> Option<Role> {
        match self {
            TokenScope::Full => None,
            TokenScope::Read => Some(Role::Viewer),
            TokenScope::Checkin => Some(Role::Checkin),
        }
    }
}

/// What a credential may do at most: the token's scope and the one forum it is bound to.
/// A caller's effective role on a forum is its role there narrowed by the grant
/// ([`Grant::narrow`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Grant {
    /// The token's scope.
    pub scope: TokenScope,
    /// The only forum the token may act on (`None`: any).
    pub forum_id: Option<Uuid>,
    /// The token's id (`None` for callers without a token: the CLI, tests).
    pub token_id: Option<Uuid>,
}

impl Grant {
    /// No narrowing (the CLI, an unscoped token).
    pub const FULL: Grant = Grant {
        scope: TokenScope::Full,
        forum_id: None,
        token_id: None,
    };

    /// The role a member with `role` on `forum_id` acts with under this grant: `None` on
    /// another forum than the bound one, else `role` capped by the scope.
    pub fn narrow(&self, forum_id: Uuid, role: Role) -> Option<Role> {
        if self.forum_id.is_some_and(|f| f != forum_id) {
            return None;
        }
        match self.scope.cap() {
            Some(cap) if cap.rank() > role.rank() => Some(cap),
            _ => Some(role),
        }
    }

    /// Whether the grant may change the account itself (create forums, issue and revoke
    /// tokens): only an unscoped token bound to no forum.
    pub fn may_change_account(&self) -> bool {
        self.scope == TokenScope::Full && self.forum_id.is_none()
    }
}

/// [`RIGHTS`] as a Markdown table (the one README.md shows).
pub fn rights_markdown() -> String {
    let mut s = String::from("| permission | what it allows |");
    for r in Role::ALL {
        s.push_str(&format!(" {r} |"));
    }
    s.push_str("\n|---|---|");
    for _ in Role::ALL {
        s.push_str(":-:|");
    }
    s.push('\n');
    for (p, what, cols) in RIGHTS {
        let name = serde_json::to_value(p)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        s.push_str(&format!("| `{name}` | {what} |"));
        for c in cols {
            s.push_str(if *c { " yes |" } else { " — |" });
        }
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_permission_has_one_row() {
        for p in Permission::ALL {
            assert_eq!(
                RIGHTS.iter().filter(|(q, _, _)| *q == p).count(),
                1,
                "{p:?}"
            );
        }
        assert_eq!(RIGHTS.len(), Permission::ALL.len());
    }

    /// [`Grant::narrow`] caps a role by a scope, which is right only if each role's rights
    /// include those of every role below it.
    #[test]
    fn rights_are_nested() {
        for (p, _, cols) in RIGHTS {
            for w in cols.windows(2) {
                assert!(
                    w[0] || !w[1],
                    "{p:?}: a lower role has a right a higher lacks"
                );
            }
        }
    }

    #[test]
    fn scopes_narrow() {
        let f = Uuid::new_v4();
        let read = Grant {
            scope: TokenScope::Read,
            ..Grant::FULL
        };
        assert_eq!(read.narrow(f, Role::Owner), Some(Role::Viewer));
        let checkin = Grant {
            scope: TokenScope::Checkin,
            ..Grant::FULL
        };
        assert_eq!(checkin.narrow(f, Role::Organizer), Some(Role::Checkin));
        assert_eq!(checkin.narrow(f, Role::Viewer), Some(Role::Viewer));
        let bound = Grant {
            forum_id: Some(Uuid::new_v4()),
            ..Grant::FULL
        };
        assert_eq!(bound.narrow(f, Role::Owner), None);
        assert!(!read.may_change_account() && !bound.may_change_account());
        assert!(Grant::FULL.may_change_account());
        assert!(!allows(Role::Viewer, Permission::CheckIn));
        assert!(allows(Role::Owner, Permission::ManageTeam));
    }
}
