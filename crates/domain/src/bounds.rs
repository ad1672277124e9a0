//! Numbers at the edge: every integer a request carries has a documented range, enforced
//! while the request is read (422 naming the field, before any operation runs) and shown
//! in the OpenAPI schema as `minimum`/`maximum`.
//!
//! Request structs keep their integer types and read them through
//! `#[serde(deserialize_with = "crate::bounds::int::<MIN, MAX, _, _>")]`.

use serde::{de, Deserialize, Deserializer};

/// The ranges used by several fields.
pub mod ranges {
    /// Page sizes (`limit`): 1–500 ([`crate::util::MAX_LIMIT`]).
    pub const LIMIT_MIN: i64 = 1;
    /// See [`LIMIT_MIN`].
    pub const LIMIT_MAX: i64 = 500;
    /// Seats of a forum, a room or a session: 0–1,000,000.
    pub const CAPACITY_MAX: i64 = 1_000_000;
    /// A room's display position: 0–10,000.
    pub const POSITION_MAX: i64 = 10_000;
    /// Reminder lead times, minutes: 0–43,200 (30 days).
    pub const LEAD_MINUTES_MAX: i64 = 43_200;
    /// Grid step of a programme, minutes: 1–240.
    pub const TIMESLOT_MAX: i64 = 240;
    /// A declaration version number: 1–1,000,000.
    pub const VERSION_MAX: i64 = 1_000_000;
}

/// How an integer field of type `Self` is read and checked against a range:
/// `i32`, `i64`, `u64`, their `Option`s, and `Option<Option<i32>>` (a PATCH field where
/// `null` clears: give it `#[serde(default)]`).
pub trait BoundedField: Sized {
    /// Deserializes the field and checks every number in it against `min..=max`.
    fn read<'de, D: Deserializer<'de>>(d: D, min: i64, max: i64) -> Result<Self, D::Error>;
}

fn within<E: de::Error, N: Copy + TryInto<i64>>(n: N, min: i64, max: i64) -> Result<N, E> {
    match n.try_into() {
        Ok(v) if (min..=max).contains(&v) => Ok(n),
        _ => Err(E::custom(format!("must be between {min} and {max}"))),
    }
}

macro_rules! bounded {
    ($($t:ty),*) => {$(
        impl BoundedField for $t {
            fn read<'de, D: Deserializer<'de>>(d: D, min: i64, max: i64) -> Result<Self, D::Error> {
                within(<$t>::deserialize(d)?, min, max)
            }
        }
        impl BoundedField for Option<$t> {
            fn read<'de, D: Deserializer<'de>>(d: D, min: i64, max: i64) -> Result<Self, D::Error> {
                Option::<$t>::deserialize(d)?.map(|n| within(n, min, max)).transpose()
            }
        }
        /// Present (`null` or a number) → `Some(…)`; absent takes the `default` (`None`).
        impl BoundedField for Option<Option<$t>> {
            fn read<'de, D: Deserializer<'de>>(d: D, min: i64, max: i64) -> Result<Self, D::Error> {
                Option::<$t>::deserialize(d)?.map(|n| within(n, min, max)).transpose().map(Some)
            }
        }
    )*};
}

bounded!(i32, i64, u64);

/// `deserialize_with` for an integer field within `MIN..=MAX` (both inclusive); see
/// [`BoundedField`] for the field types it reads. Out of range, or not an integer of the
/// field's type (e.g. `9223372036854775808` for an `i64`) → a serde error naming the
/// range, which the API answers with 422 naming the field.
pub fn int<'de, const MIN: i64, const MAX: i64, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: BoundedField,
{
    T::read(d, MIN, MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Debug)]
    struct Q {
        #[serde(default, deserialize_with = "int::<1, 500, _, _>")]
        limit: Option<u64>,
        #[serde(default, deserialize_with = "int::<0, 10, _, _>")]
        capacity: Option<Option<i32>>,
    }

    #[test]
    fn ranges_are_enforced() {
        let q: Q = serde_json::from_str(r#"{"limit":500,"capacity":null}"#).unwrap();
        assert_eq!((q.limit, q.capacity), (Some(500), Some(None)));
        let q: Q = serde_json::from_str("{}").unwrap();
        assert_eq!((q.limit, q.capacity), (None, None));
        for bad in [
            r#"{"limit":0}"#,
            r#"{"limit":501}"#,
            r#"{"limit":9223372036854775808}"#,
            r#"{"limit":-1}"#,
            r#"{"capacity":-1}"#,
            r#"{"capacity":11}"#,
        ] {
            let e = serde_json::from_str::<Q>(bad).unwrap_err().to_string();
            assert!(
                e.contains("must be between") || e.contains("invalid value"),
                "{bad}: {e}"
            );
        }
    }
}
