//! The identity of human-entered names, decided once: [`NameKey`].
//!
//! Two names that a person would call the same have the same key, so that a rule saying
//! "unique" cannot be passed by typing a name differently. The key is used wherever
//! such names are compared: signatory entities (one live signature per entity), room
//! names within a forum, and speaker names matched on schedule import. E-mail addresses
//! have their own edge type (`crate::email`).

use std::fmt;
use unicode_normalization::UnicodeNormalization;

/// A name's comparison key. The rule, in this order:
///
/// 1. Unicode compatibility normalization, NFKC (UAX #15): `Cafe` + U+0301 and `Café`
///    are one name; so are fullwidth `Ｉｚｍｉｒ` and `Izmir`, and `ﬁ` and `fi`;
/// 2. full Unicode lower case (`str::to_lowercase`), then NFKC again (lower-casing can
///    leave unnormalized sequences): `SAAL 1` and `saal 1` are one name;
/// 3. whitespace: every run of Unicode white space (space, tab, line breaks, U+00A0
///    no-break space, U+2007, U+202F, ideographic space …) becomes one space, and
///    leading and trailing white space is dropped.
///
/// The key is for comparison only; the name as entered is what is stored and shown.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NameKey(String);

impl NameKey {
    /// The key of `name` (see the type's rule). An empty or all-blank name has the
    /// empty key.
    pub fn of(name: &str) -> Self {
        let folded: String = name
            .nfkc()
            .collect::<String>()
            .to_lowercase()
            .nfkc()
            .collect();
        NameKey(folded.split_whitespace().collect::<Vec<_>>().join(" "))
    }

    /// The key as text (what is stored where a key column exists).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NameKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_a_person_calls_the_same_have_one_key() {
        let same = [
            ("Café", "Cafe\u{301}"),
            ("Izmir", "Ｉｚｍｉｒ"),
            ("Saal 1", "  saal\u{a0}\u{a0}1 "),
            ("New York", "NEW\t\nYORK"),
            ("ﬁsh", "fish"),
            ("Ünal", "U\u{308}NAL"),
        ];
        for (a, b) in same {
            assert_eq!(NameKey::of(a), NameKey::of(b), "{a:?} vs {b:?}");
        }
        for (a, b) in [("Saal 1", "Saal 2"), ("Ana", "Anna"), ("Cafe", "Café")] {
            assert_ne!(NameKey::of(a), NameKey::of(b), "{a:?} vs {b:?}");
        }
        assert_eq!(NameKey::of(" \u{a0} ").as_str(), "");
    }
}
