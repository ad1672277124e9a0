//! E-mail addresses at the edges: [`Email`], parsed once where an address enters convene
//! (registrations, sign-ups, signatures, speakers, organizer accounts) so that an address
//! accepted today is one the mail transport can send to tomorrow.

use std::fmt;

/// An e-mail address that the mail transport (lettre over an SMTP relay without
/// SMTPUTF8, RFC 6531) can send to, in its stored form.
///
/// Parsing ([`Email::parse`]):
/// - surrounding white space is dropped and the address is lower-cased (addresses are
///   compared and stored this way);
/// - it splits at its last `@` into a local part and a domain;
/// - the local part must be ASCII: a relay without SMTPUTF8 cannot carry any other
///   (convene's configuration has no relay with SMTPUTF8 yet, so none is accepted); it
///   must be valid for RFC 5321 as the `email_address` crate checks it — the check
///   lettre itself makes at send time;
/// - the domain is converted to its ASCII form (IDNA / UTS #46, punycode:
///   `münchen.example` → `xn--mnchen-3ya.example`) with the `idna` crate, and must then
///   be a valid domain name with at least one dot;
/// - at most 254 octets in all (RFC 5321 §4.5.3.1.3 path limit less the brackets).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

/// Why a text is not an [`Email`]; its `Display` is the sentence shown to the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailFault {
    /// Not `local@domain` with a valid local part and domain.
    Shape,
    /// The local part has characters outside ASCII.
    NonAsciiLocalPart,
    /// Longer than 254 octets (in ASCII form).
    TooLong,
}

impl fmt::Display for EmailFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EmailFault::Shape => "is not an e-mail address",
            EmailFault::NonAsciiLocalPart => {
                "has non-ASCII characters before the @, which the mail relay cannot deliver (no SMTPUTF8)"
            }
            EmailFault::TooLong => "is longer than 254 characters",
        })
    }
}

impl Email {
    /// Parses and normalises `input` (the rule is on the type).
    pub fn parse(input: &str) -> Result<Email, EmailFault> {
        let e = input.trim().to_lowercase();
        let (local, domain) = e.rsplit_once('@').ok_or(EmailFault::Shape)?;
        if local.is_empty() || domain.is_empty() {
            return Err(EmailFault::Shape);
        }
        if !local.is_ascii() {
            return Err(EmailFault::NonAsciiLocalPart);
        }
        if !email_address::EmailAddress::is_valid_local_part(local) {
            return Err(EmailFault::Shape);
        }
        let domain = idna::domain_to_ascii(domain).map_err(|_| EmailFault::Shape)?;
        if !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || !email_address::EmailAddress::is_valid_domain(&domain)
        {
            return Err(EmailFault::Shape);
        }
        let out = format!("{local}@{domain}");
        if out.len() > 254 {
            return Err(EmailFault::TooLong);
        }
        Ok(Email(out))
    }

    /// The address as stored and sent (ASCII).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_the_relay_can_take() {
        for (input, want) in [
            (" Ana@Example.org ", "ana@example.org"),
            ("name@münchen.example", "name@xn--mnchen-3ya.example"),
            ("x@BÜCHER.example", "x@xn--bcher-kva.example"),
            ("a.b+tag@sub.example.co.uk", "a.b+tag@sub.example.co.uk"),
        ] {
            assert_eq!(Email::parse(input).unwrap().as_str(), want, "{input}");
        }
        assert_eq!(
            Email::parse("jürgen@example.org"),
            Err(EmailFault::NonAsciiLocalPart)
        );
        for bad in [
            "",
            "a",
            "@example.org",
            "a@",
            "a@b",
            "a b@example.org",
            "a@exa mple.org",
            "a@.example.org",
            "a@example.org.",
            "a..b@example.org",
            "a@-x-.example",
        ] {
            assert_eq!(Email::parse(bad), Err(EmailFault::Shape), "{bad:?}");
        }
        let long = format!("{}@{}.example", "a".repeat(64), "b".repeat(63 * 3));
        assert!(Email::parse(&long).is_err());
    }
}
