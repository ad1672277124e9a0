//! Every CSV export of convene is written here, one way: RFC 4180 (the `csv` crate does
//! the quoting), UTF-8, a header row, and every cell made safe for spreadsheets.
//!
//! Spreadsheets run a cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage
//! return as a formula (OWASP "CSV injection"); such a cell gets a `'` in front, which
//! the spreadsheet shows as text. Numbers and instants written by convene itself never
//! begin with one of these, so only people's text is ever changed.

use std::borrow::Cow;

/// A CSV document being written: the header first ([`Table::new`]), then the rows
/// ([`Table::row`]), then the text ([`Table::finish`]).
pub struct Table {
    w: csv::Writer<Vec<u8>>,
}

impl Table {
    /// A table with this header row.
    pub fn new<I, S>(header: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut t = Table {
            w: csv::Writer::from_writer(vec![]),
        };
        t.row(header);
        t
    }

    /// Appends one row, each cell [`neutralise`]d. Rows may differ in length from the
    /// header only by mistake: the writer refuses that, and the row is then dropped
    /// (never the case for the exports, which build rows from the header's fields).
    pub fn row<I, S>(&mut self, cells: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let cells: Vec<String> = cells
            .into_iter()
            .map(|c| neutralise(c.as_ref()).into_owned())
            .collect();
        let _ = self.w.write_record(&cells);
    }

    /// The document as text (writing into memory cannot fail).
    pub fn finish(self) -> String {
        String::from_utf8(self.w.into_inner().unwrap_or_default()).unwrap_or_default()
    }
}

/// A cell made safe for spreadsheets: a leading `=`, `+`, `-`, `@`, tab or CR gets a `'`
/// in front; any other cell is returned as it is.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_quoting_is_rfc_4180() {
        let mut t = Table::new(["a", "b"]);
        t.row(["=1+1", "x, \"y\""]);
        t.row(["-2", "\tz"]);
        t.row(["ok", "@me"]);
        assert_eq!(
            t.finish(),
            "a,b\n'=1+1,\"x, \"\"y\"\"\"\n'-2,'\tz\nok,'@me\n"
        );
    }
}
