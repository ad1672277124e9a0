//! Text at the edge: the one type every string entering convene passes — request bodies,
//! path segments, query parameters, header-derived values and imported schedule files.
//!
//! Two shapes, each with a maximum length in Unicode scalar values (Rust `char`s):
//!
//! - [`Line<MAX>`]: one line — a name, a title, a slug, an e-mail address, a filter;
//! - [`Text<MAX>`]: several lines — descriptions, biographies, abstracts, reasons, the
//!   text of a declaration; it may hold line breaks (`\n`, `\r\n`) and tabs.
//!
//! Both are valid UTF-8 (Rust strings are; JSON's lone surrogate escapes are refused by the
//! parser) and hold no NUL (PostgreSQL `text` cannot store U+0000, SQLite would) and no
//! other control character (Unicode general category `Cc`: C0, DEL, C1) except the line
//! breaks and tabs a [`Text`] allows. A value is refused, never cleaned: a control
//! character is not what a person meant, and a one-line value goes into e-mail headers
//! (RFC 5322 §3.4 display names) and calendar properties (RFC 5545 §3.1) where a line
//! break would end the line.
//!
//! The limits below are the documented maximum of every field kind (README, "Limits of
//! one request"); the OpenAPI schemas carry them as `maxLength`.
//!
//! Request structs keep plain `String` fields and pass them through these types with
//! `#[serde(deserialize_with = "crate::text::line::<{ crate::text::NAME }, _, _>")]`
//! (or [`text`]), so a refused value is a 422 naming the field's JSON path, before any
//! operation runs and on every database alike.

use serde::{de, Deserialize, Deserializer, Serialize};
use std::fmt;
use std::ops::Deref;

/// Short codes and identifiers: a slug, a country or language code, a time zone name,
/// `HH:MM`, a question id, an enum-like filter (characters).
pub const CODE: usize = 100;
/// Names: a person, an organization, a position, a room, a city, a venue, a track, an
/// acronym, a choice of a question (characters).
pub const NAME: usize = 200;
/// An e-mail address (RFC 5321 §4.5.3.1.3: 254 octets in a path; characters here).
pub const EMAIL: usize = 254;
/// Titles: of a forum, a session, a declaration, a question's label (characters).
pub const TITLE: usize = 300;
/// A reason given for a cancellation, a rejection or a withdrawal (characters).
pub const REASON: usize = 2_000;
/// Free text: descriptions, biographies, abstracts, accessibility needs, a text
/// answer (characters).
pub const LONG: usize = 10_000;
/// The text of a declaration version or translation (characters).
pub const DOCUMENT: usize = 200_000;
/// A query parameter's value (a cursor, a token, a search), characters.
pub const PARAM: usize = 1_000;
/// A path segment (a slug, an id, a token), characters; a longer one names no object.
pub const PATH_SEGMENT: usize = 200;
/// Any string anywhere in a JSON body, whatever its field (the largest field limit).
pub const ANY: usize = DOCUMENT;

/// The shape of a text: one line, or several.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// No line breaks, no tabs.
    Line,
    /// Line breaks (`\n`, `\r`) and tabs allowed.
    Text,
}

/// Why a text was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextFault {
    /// It holds U+0000.
    Nul,
    /// It holds a control character its shape does not allow.
    Control(char),
    /// It is longer than `max` characters.
    TooLong {
        /// The limit, characters.
        max: usize,
    },
}

impl fmt::Display for TextFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TextFault::Nul => f.write_str("must not contain NUL (U+0000)"),
            TextFault::Control(c) if matches!(c, '\n' | '\r' | '\t') => {
                f.write_str("must be one line: no line breaks or tabs")
            }
            TextFault::Control(c) => write!(
                f,
                "must not contain control characters (found U+{:04X})",
                u32::from(*c)
            ),
            TextFault::TooLong { max } => write!(f, "must be at most {max} characters"),
        }
    }
}

/// Checks `value` against `shape` and `max` characters. The first fault found is
/// returned: NUL, then a forbidden control character, then the length.
pub fn check(value: &str, shape: Shape, max: usize) -> Result<(), TextFault> {
    let mut count = 0usize;
    for c in value.chars() {
        if c == '\0' {
            return Err(TextFault::Nul);
        }
        if c.is_control() && !(shape == Shape::Text && matches!(c, '\n' | '\r' | '\t')) {
            return Err(TextFault::Control(c));
        }
        count += 1;
    }
    if count > max {
        return Err(TextFault::TooLong { max });
    }
    Ok(())
}

macro_rules! edge_type {
    ($name:ident, $shape:expr, $doc:literal) => {
        #[doc = $doc]
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name<const MAX: usize>(String);

        impl<const MAX: usize> $name<MAX> {
            /// The shape this type enforces.
            pub const SHAPE: Shape = $shape;

            /// Checks `value`; see the module documentation for the rules.
            pub fn new(value: impl Into<String>) -> Result<Self, TextFault> {
                let value = value.into();
                check(&value, $shape, MAX)?;
                Ok($name(value))
            }

            /// The checked string.
            pub fn into_inner(self) -> String {
                self.0
            }

            /// The checked string, borrowed.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl<const MAX: usize> Deref for $name<MAX> {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl<const MAX: usize> AsRef<str> for $name<MAX> {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl<const MAX: usize> fmt::Display for $name<MAX> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<const MAX: usize> From<$name<MAX>> for String {
            fn from(v: $name<MAX>) -> String {
                v.0
            }
        }

        impl<const MAX: usize> TryFrom<String> for $name<MAX> {
            type Error = TextFault;
            fn try_from(v: String) -> Result<Self, TextFault> {
                Self::new(v)
            }
        }

        impl<'de, const MAX: usize> Deserialize<'de> for $name<MAX> {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::new(s).map_err(de::Error::custom)
            }
        }

        impl<const MAX: usize> utoipa::PartialSchema for $name<MAX> {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .max_length(Some(MAX))
                    .into()
            }
        }

        impl<const MAX: usize> utoipa::ToSchema for $name<MAX> {}
    };
}

edge_type!(
    Line,
    Shape::Line,
    "One line of text of at most `MAX` characters: no NUL, no control characters, no \
     line breaks or tabs."
);
edge_type!(
    Text,
    Shape::Text,
    "Multi-line text of at most `MAX` characters: no NUL, no control characters except \
     line breaks (`\\n`, `\\r`) and tabs."
);

/// How a request field of type `Self` is read through the edge type `W` ([`Line`] or
/// [`Text`]): `String`, `Option<String>`, `Option<Option<String>>` (a PATCH field where
/// `null` clears: give it `#[serde(default)]`), `Vec<String>` and `Option<Vec<String>>`.
pub trait EdgeField<W>: Sized {
    /// Deserializes the field through `W`.
    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error>;
}

impl<W: for<'a> Deserialize<'a> + Into<String>> EdgeField<W> for String {
    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        W::deserialize(d).map(Into::into)
    }
}

impl<W: for<'a> Deserialize<'a> + Into<String>> EdgeField<W> for Option<String> {
    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Option::<W>::deserialize(d).map(|o| o.map(Into::into))
    }
}

/// Present (`null` or a value) → `Some(…)`; absent fields take the `default` (`None`).
impl<W: for<'a> Deserialize<'a> + Into<String>> EdgeField<W> for Option<Option<String>> {
    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Option::<W>::deserialize(d).map(|o| Some(o.map(Into::into)))
    }
}

impl<W: for<'a> Deserialize<'a> + Into<String>> EdgeField<W> for Vec<String> {
    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::<W>::deserialize(d).map(|v| v.into_iter().map(Into::into).collect())
    }
}

impl<W: for<'a> Deserialize<'a> + Into<String>> EdgeField<W> for Option<Vec<String>> {
    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Option::<Vec<W>>::deserialize(d).map(|o| o.map(|v| v.into_iter().map(Into::into).collect()))
    }
}

/// `deserialize_with` for a one-line field of at most `MAX` characters (through
/// [`Line<MAX>`]); see [`EdgeField`] for the field types it reads.
pub fn line<'de, const MAX: usize, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: EdgeField<Line<MAX>>,
{
    T::read(d)
}

/// `deserialize_with` for a multi-line field of at most `MAX` characters (through
/// [`Text<MAX>`]); see [`EdgeField`] for the field types it reads.
pub fn text<'de, const MAX: usize, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: EdgeField<Text<MAX>>,
{
    T::read(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_refuse_breaks_tabs_controls_and_nul() {
        assert!(Line::<50>::new("Ayşe Çelik, Dr. — عائشة 🙂").is_ok());
        assert_eq!(Line::<50>::new("a\0b").unwrap_err(), TextFault::Nul);
        for bad in [
            "a\nb",
            "a\r\nb",
            "a\tb",
            "a\u{7f}b",
            "a\u{85}b",
            "a\u{1b}[31m",
        ] {
            assert!(
                matches!(Line::<50>::new(bad), Err(TextFault::Control(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn texts_allow_breaks_and_tabs_only() {
        assert!(Text::<50>::new("one\ntwo\r\n\tthree").is_ok());
        assert_eq!(Text::<50>::new("a\0b").unwrap_err(), TextFault::Nul);
        assert!(matches!(
            Text::<50>::new("a\u{7}b"),
            Err(TextFault::Control('\u{7}'))
        ));
    }

    #[test]
    fn length_is_counted_in_characters() {
        assert!(Line::<3>::new("äöü").is_ok());
        assert_eq!(
            Line::<3>::new("äöüx").unwrap_err(),
            TextFault::TooLong { max: 3 }
        );
        assert!(Line::<0>::new("").is_ok());
    }

    #[derive(Deserialize, Debug)]
    struct Body {
        #[serde(deserialize_with = "line::<5, _, _>")]
        name: String,
        #[serde(default, deserialize_with = "text::<10, _, _>")]
        note: Option<String>,
        #[serde(default, deserialize_with = "line::<5, _, _>")]
        city: Option<Option<String>>,
        #[serde(default, deserialize_with = "line::<5, _, _>")]
        tags: Vec<String>,
    }

    #[test]
    fn fields_read_through_the_edge_types() {
        let b: Body = serde_json::from_str(r#"{"name":"ab","note":"x\ny"}"#).unwrap();
        assert_eq!((b.name.as_str(), b.note.as_deref()), ("ab", Some("x\ny")));
        assert_eq!(b.city, None);
        let b: Body = serde_json::from_str(r#"{"name":"ab","city":null}"#).unwrap();
        assert_eq!(b.city, Some(None));
        let b: Body = serde_json::from_str(r#"{"name":"ab","tags":["a","b"]}"#).unwrap();
        assert_eq!(b.tags, ["a", "b"]);
        for bad in [
            r#"{"name":"a\u0000b"}"#,
            r#"{"name":"abcdef"}"#,
            r#"{"name":"a","note":"\u0007"}"#,
            r#"{"name":"a","city":"x\ny"}"#,
            r#"{"name":"a","tags":["ok","a\tb"]}"#,
        ] {
            assert!(serde_json::from_str::<Body>(bad).is_err(), "{bad}");
        }
        assert!(serde_json::from_str::<Body>(r#"{"note":"x"}"#).is_err());
    }
}
