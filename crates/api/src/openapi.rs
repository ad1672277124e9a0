//! The last pass over the OpenAPI 3.1 document the handlers' annotations generate: the
//! answers every operation shares are described once here instead of in 74 annotations.
//!
//! - every response gets a `description` (required by OpenAPI 3.1 §4.8.17.1; the
//!   annotations leave most empty), from [`describe`];
//! - every 4xx/5xx answer is documented as `application/problem+json` (RFC 9457 §3),
//!   the content type [`crate::problem::ApiError`] sends, not `application/json`;
//! - answers the shared layers give on any operation are listed where they can occur:
//!   `400` (a body or parameter that does not parse) and `422` (one that parses but
//!   breaks a rule) for every operation with parameters or a body; `413`
//!   ([`crate::limits`]) and `415` (not JSON, [`crate::extract`]) for every operation with
//!   a body; `401` for every operation that takes a token; `404` for every operation
//!   whose path names a resource; `409` for every change inside a forum (an archived
//!   forum is read-only: `invalid-state`); `503` with `Retry-After` for every operation (the
//!   database is unreachable: README "Database outages").

use utoipa::openapi::path::Operation;
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Response};

/// The media type of every error answer (RFC 9457 §3).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// A short description of what `status` means in this API (the sentence shown beside
/// each answer in the docs page).
pub fn describe(status: &str) -> &'static str {
    match status {
        "200" => "OK",
        "201" => "Created",
        "202" => "Accepted: the change is recorded and will be carried out",
        "204" => "Done; no content",
        "303" => "See other: follow `Location`",
        "304" => "Not modified: the representation matches `If-None-Match`",
        "400" => "Malformed request: a body, header or parameter that does not parse (problem `malformed-request`)",
        "401" => "No valid token: send `Authorization: Bearer <token>` of the kind this operation takes",
        "403" => "The token is valid but does not allow this operation on this forum",
        "404" => "No such resource (or one the caller may not see)",
        "409" => "Conflict with the resource's state (the problem's `type` says which)",
        "410" => "Gone: the link or token has expired",
        "412" => "Precondition failed: `If-Match` does not match the current ETag",
        "413" => "The body is larger than this operation accepts (`max_body_bytes`)",
        "415" => "The body is not `application/json`",
        "422" => "The input parses but breaks a rule; `errors` names each field",
        "428" => "Precondition required: send `If-Match`",
        "429" => "Too many requests from this client: wait `Retry-After` seconds",
        "503" => "The database is unreachable or restarting: retry after `Retry-After` seconds",
        s if s.starts_with('2') => "Success",
        s if s.starts_with('3') => "Redirection",
        s if s.starts_with('4') => "The request was refused (see the problem's `type`)",
        _ => "Server error",
    }
}

/// Applies the rules of this module to `doc` (see the module documentation).
///
/// # Panics
/// When two operations share an `operationId` (OpenAPI 3.1 §4.8.10.1 requires them
/// unique; utoipa takes the handler's function name): a programming error that every
/// test starting the server catches.
pub fn finish(mut doc: OpenApi) -> OpenApi {
    let mut ids = std::collections::BTreeSet::new();
    for (path, item) in doc.paths.paths.iter_mut() {
        let in_path = path.contains('{');
        let shared_params = item.parameters.as_ref().is_some_and(|p| !p.is_empty());
        let in_forum = path.starts_with("/forums/{slug}");
        for (op, writes) in [
            (&mut item.get, false),
            (&mut item.put, true),
            (&mut item.post, true),
            (&mut item.delete, true),
            (&mut item.patch, true),
        ] {
            let Some(op) = op else { continue };
            if let Some(id) = &op.operation_id {
                assert!(ids.insert(id.clone()), "operationId `{id}` is not unique");
            }
            finish_operation(op, shared_params, in_path, writes && in_forum);
        }
    }
    doc
}

fn finish_operation(op: &mut Operation, shared_params: bool, in_path: bool, forum_write: bool) {
    let has_body = op.request_body.is_some();
    let has_params = shared_params || op.parameters.as_ref().is_some_and(|p| !p.is_empty());
    let takes_token = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let mut add = vec!["503"];
    if has_body || has_params {
        add.extend(["400", "422"]);
    }
    if has_body {
        add.extend(["413", "415"]);
    }
    if takes_token {
        add.push("401");
    }
    if in_path {
        add.push("404");
    }
    if forum_write {
        // `invalid-state`: the forum is archived (read-only) or the object's state forbids it.
        add.push("409");
    }
    let responses = &mut op.responses.responses;
    for status in add {
        responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::T(problem_response(status)));
    }
    for (status, response) in responses.iter_mut() {
        let RefOr::T(r) = response else { continue };
        if r.description.is_empty() {
            r.description = describe(status).to_owned();
        }
        if status.starts_with('4') || status.starts_with('5') {
            if let Some(c) = r.content.shift_remove("application/json") {
                r.content.insert(PROBLEM_JSON.to_owned(), c);
            }
        }
    }
}

/// A `status` answer with a `Problem` body (and `Retry-After` on 503 and 429).
fn problem_response(status: &str) -> Response {
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("Problem")))
        .build();
    let mut r = Response::new(describe(status));
    r.content.insert(PROBLEM_JSON.to_owned(), RefOr::T(content));
    if status == "503" || status == "429" {
        r.headers.insert(
            "Retry-After".to_owned(),
            RefOr::T(utoipa::openapi::header::Header::new(
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::Integer)
                    .minimum(Some(0)),
            )),
        );
    }
    r
}
