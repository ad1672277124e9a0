//! What one request may cost: the largest body per endpoint, and the shape of a JSON body
//! (members per object, items per array, nesting, every string passing the edge text
//! rules of [`convene_domain::text`]) — checked in one streaming pass over the bytes
//! before anything is built from them, so that no body can make the server allocate much
//! more than its own size nor make an error answer large.

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use convene_domain::error::FieldError;
use convene_domain::text::{self, Shape};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::cell::RefCell;
use std::fmt;

use crate::problem::ApiError;

/// Body limit of the public registration endpoints (`POST …/registrations`,
/// `…/resend-link`), bytes: 64 KiB.
pub const REGISTRATION_BODY_BYTES: usize = 64 * 1024;
/// Body limit of schedule imports (`POST /forums/import`, `…/schedule/import`), bytes:
/// 16 MiB.
pub const IMPORT_BODY_BYTES: usize = 16 * 1024 * 1024;
/// Body limit of the declaration endpoints, bytes: 4 MiB (a text of
/// [`text::DOCUMENT`] characters fits, even with every character `\uXXXX`-escaped).
pub const DECLARATION_BODY_BYTES: usize = 4 * 1024 * 1024;
/// Body limit of every other endpoint, bytes: 1 MiB.
pub const DEFAULT_BODY_BYTES: usize = 1024 * 1024;

/// The most members one JSON object of a body may have (e.g. `answers`).
pub const MAX_OBJECT_MEMBERS: usize = 100;
/// The most items one JSON array of a body may have.
pub const MAX_ARRAY_ITEMS: usize = 500;
/// The deepest nesting of objects and arrays in a body.
pub const MAX_DEPTH: usize = 16;
/// The longest member name in a JSON object, characters.
pub const MAX_KEY_CHARS: usize = text::CODE;

/// The body limit in force for a request, bytes (set by [`body_limit`]).
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// Gives every route of `router` a body limit of `bytes`: a declared `Content-Length`
/// above it is refused at once, a streamed body is cut there; both answer 413
/// `payload-too-large` naming the limit.
pub fn body_limit<S: Clone + Send + Sync + 'static>(
    router: utoipa_axum::router::OpenApiRouter<S>,
    bytes: usize,
) -> utoipa_axum::router::OpenApiRouter<S> {
    router
        .layer(axum::middleware::from_fn(
            move |req: Request, next: Next| enforce(bytes, req, next),
        ))
        .layer(DefaultBodyLimit::max(bytes))
}

async fn enforce(limit: usize, mut req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return ApiError::payload_too_large(limit).into_response();
    }
    req.extensions_mut().insert(BodyLimit(limit));
    as_problem_413(next.run(req).await, limit)
}

/// A 413 that is not yet a problem (an extractor that is not ours refused the body)
/// becomes the `payload-too-large` problem naming `limit`.
fn as_problem_413(res: Response, limit: usize) -> Response {
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if res.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_problem {
        return ApiError::payload_too_large(limit).into_response();
    }
    res
}

/// The outermost layer, for routes without their own [`body_limit`]: a plain 413 becomes
/// the `payload-too-large` problem naming [`crate::MAX_BODY_BYTES`].
pub async fn problem_413(req: Request, next: Next) -> Response {
    as_problem_413(next.run(req).await, crate::MAX_BODY_BYTES)
}

/// Checks the shape of a JSON body (see the module doc) in one pass without building it.
/// Syntax errors are left to the typed parser (400 with line and column); a body that
/// breaks a limit → 422 naming the path of the offending member.
pub fn check_json_shape(bytes: &[u8]) -> Result<(), ApiError> {
    let state = RefCell::new(State::default());
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let outcome = Guard { state: &state }.deserialize(&mut de);
    let fault = state.into_inner().fault;
    match (outcome, fault) {
        (_, Some(f)) => Err(convene_domain::Error::Validation(vec![f]).into()),
        _ => Ok(()),
    }
}

#[derive(Default)]
struct State {
    path: Vec<Seg>,
    depth: usize,
    fault: Option<FieldError>,
}

enum Seg {
    Key(String),
    Index(usize),
}

impl State {
    fn path_string(&self) -> String {
        let mut s = String::new();
        for seg in &self.path {
            match seg {
                Seg::Key(k) => {
                    if !s.is_empty() {
                        s.push('.');
                    }
                    s.push_str(k);
                }
                Seg::Index(i) => s.push_str(&format!("[{i}]")),
            }
        }
        if s.is_empty() {
            "body".to_owned()
        } else {
            s
        }
    }

    fn fail<E: de::Error>(&mut self, message: impl Into<String>) -> E {
        if self.fault.is_none() {
            self.fault = Some(FieldError::new(self.path_string(), message));
        }
        E::custom("request shape limit")
    }
}

#[derive(Clone, Copy)]
struct Guard<'a> {
    state: &'a RefCell<State>,
}

impl<'de> DeserializeSeed<'de> for Guard<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl Guard<'_> {
    fn string<E: de::Error>(&self, v: &str) -> Result<(), E> {
        match text::check(v, Shape::Text, text::ANY) {
            Ok(()) => Ok(()),
            Err(f) => Err(self.state.borrow_mut().fail(f.to_string())),
        }
    }

    fn enter<E: de::Error>(&self) -> Result<(), E> {
        let mut st = self.state.borrow_mut();
        st.depth += 1;
        if st.depth > MAX_DEPTH {
            return Err(st.fail(format!("nests deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }
}

impl<'de> Visitor<'de> for Guard<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.string(v)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.enter()?;
        let mut i = 0usize;
        loop {
            if i == MAX_ARRAY_ITEMS {
                // One more item means too many; an end means exactly the limit.
                self.state.borrow_mut().path.push(Seg::Index(i));
                let more = seq.next_element_seed(Guard { state: self.state })?;
                self.state.borrow_mut().path.pop();
                if more.is_some() {
                    return Err(self
                        .state
                        .borrow_mut()
                        .fail(format!("at most {MAX_ARRAY_ITEMS} items")));
                }
                break;
            }
            self.state.borrow_mut().path.push(Seg::Index(i));
            let got = seq.next_element_seed(Guard { state: self.state })?;
            self.state.borrow_mut().path.pop();
            if got.is_none() {
                break;
            }
            i += 1;
        }
        self.state.borrow_mut().depth -= 1;
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.enter()?;
        let mut n = 0usize;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            n += 1;
            if n > MAX_OBJECT_MEMBERS {
                return Err(self
                    .state
                    .borrow_mut()
                    .fail(format!("at most {MAX_OBJECT_MEMBERS} members")));
            }
            if let Err(f) = text::check(&key, Shape::Line, MAX_KEY_CHARS) {
                let mut st = self.state.borrow_mut();
                return Err(st.fail(format!("member names {f}")));
            }
            self.state
                .borrow_mut()
                .path
                .push(Seg::Key(key.into_owned()));
            map.next_value_seed(Guard { state: self.state })?;
            self.state.borrow_mut().path.pop();
        }
        self.state.borrow_mut().depth -= 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(body: &str) -> Option<String> {
        let st = RefCell::new(State::default());
        let mut de = serde_json::Deserializer::from_slice(body.as_bytes());
        let _ = Guard { state: &st }.deserialize(&mut de);
        st.into_inner()
            .fault
            .map(|f| format!("{}: {}", f.field, f.message))
    }

    #[test]
    fn shape_limits_name_the_member() {
        assert_eq!(fault(r#"{"a":{"b":[1,"x",{"c":null}]}}"#), None);
        assert_eq!(
            fault(r#"{"a":{"b":[1,"x\u0000y"]}}"#).unwrap(),
            "a.b[1]: must not contain NUL (U+0000)"
        );
        let many: String = (0..=MAX_OBJECT_MEMBERS)
            .map(|i| format!("\"k{i}\":1"))
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(
            fault(&format!(r#"{{"answers":{{{many}}}}}"#)).unwrap(),
            format!("answers: at most {MAX_OBJECT_MEMBERS} members")
        );
        let items = vec!["0"; MAX_ARRAY_ITEMS].join(",");
        assert_eq!(fault(&format!("{{\"a\":[{items}]}}")), None);
        assert_eq!(
            fault(&format!("{{\"a\":[{items},1]}}")).unwrap(),
            format!("a: at most {MAX_ARRAY_ITEMS} items")
        );
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(fault(&deep).unwrap().contains("nests deeper"));
        assert!(fault(r#"{"a\nb":1}"#)
            .unwrap()
            .starts_with("body: member names"));
    }
}
