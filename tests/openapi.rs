//! The API's contract: `/api/v1/openapi.json` is valid OpenAPI 3.1 and the running
//! server keeps to it.
//!
//! - openapi-spec-validator (the reference validator of the OpenAPI 3.x JSON schemas)
//!   passes on the served document, and every response has a description, every error
//!   answer is `application/problem+json`;
//! - schemathesis runs every operation (examples, coverage, fuzzing and stateful phases;
//!   a bounded number of examples per operation so that CI stays within its time) against
//!   the built binary with an organizer token and a real forum (the pretalx DemoCon
//!   schedule from `../shared`), with every check except one:
//!   `positive_data_acceptance` is off because the document does not yet say the text
//!   rules (`crates/domain/src/text.rs`: no control characters, a length per field) in
//!   its schemas, so schema-valid strings that break them are rightly refused with 422.
//!   A refused precondition (412, a stale `If-Match`) counts as a rejection of invalid
//!   data, as 428 does.
//!
//! The tools come from `.ci/py-tools` (run by `.ci/run`) in `<target>/py-tools`; missing
//! tools FAIL the tests under `CONVENE_REQUIRE_SHARED=1` (as in CI) and skip them with a
//! note otherwise (a fresh clone's `cargo test`). The schemathesis seed is fixed (override with
//! `CONVENE_SCHEMATHESIS_SEED`) so that a failure can be replayed.
mod common;

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn py_tool(name: &str) -> Option<PathBuf> {
    let p = common::browser::target_dir()
        .join("py-tools/bin")
        .join(name);
    common::require_tool(p, "run `bash .ci/py-tools`, as .ci/run does")
}

async fn served_document(server: &common::Server) -> Value {
    let res = server
        .client
        .get(server.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

const METHODS: [&str; 5] = ["get", "put", "post", "patch", "delete"];

#[tokio::test]
async fn the_served_document_is_valid_openapi_3_1_and_documents_problems() {
    let Some(validator) = py_tool("openapi-spec-validator") else {
        return;
    };
    let server = common::Server::start().await;
    let doc = served_document(&server).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, serde_json::to_vec(&doc).unwrap()).unwrap();
    let out = Command::new(validator).arg(&file).output().unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "openapi-spec-validator: {said}");
    assert!(said.contains("OK"), "{said}");

    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in METHODS {
            let Some(op) = item.get(m) else { continue };
            operations += 1;
            for (status, r) in op["responses"].as_object().unwrap() {
                let desc = r["description"].as_str().unwrap_or("");
                assert!(!desc.is_empty(), "{m} {path} {status}: no description");
                if status.starts_with('4') || status.starts_with('5') {
                    let types: Vec<&String> = r["content"]
                        .as_object()
                        .map(|c| c.keys().collect())
                        .unwrap_or_default();
                    assert_eq!(types, ["application/problem+json"], "{m} {path} {status}");
                }
            }
            assert!(
                op["responses"].get("503").is_some(),
                "{m} {path}: the database-outage answer is undocumented"
            );
        }
    }
    assert!(operations >= 70, "only {operations} operations");

    // What the document says is what the server sends: a body that is not JSON.
    let token = server.organizer_token("org@example.org");
    let res = server
        .client
        .post(server.url("/api/v1/forums"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(
        res.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    let documented = &doc["paths"]["/forums"]["post"]["responses"]["400"]["content"];
    assert!(
        documented.get("application/problem+json").is_some(),
        "{documented}"
    );
}

#[tokio::test]
async fn schemathesis_finds_no_server_error_or_contract_violation() {
    let shared = common::require_shared();
    let Some(shared) = shared else { return };
    let Some(schemathesis) = py_tool("schemathesis") else {
        return;
    };
    let server = common::Server::start_with(
        &["serve", "--no-worker"],
        &[
            // The public endpoints' per-IP limits would answer most generated cases 429.
            ("CONVENE_RATE_LIMIT__REGISTRATION__PER_MINUTE", "0"),
            ("CONVENE_RATE_LIMIT__RESEND_LINK__PER_MINUTE", "0"),
        ],
    )
    .await;
    let token = server.organizer_token("org@example.org");
    let file = shared.join("data/schedules/pretalx-democon.json");
    server.run_cli_ok(&[
        "import",
        file.to_str().unwrap(),
        "--owner",
        "org@example.org",
        "--publish",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("schemathesis.toml");
    std::fs::write(
        &config,
        "[parameters]\n\"slug\" = \"democon\"\n\n\
         [checks.negative_data_rejection]\n\
         expected-statuses = [\"400\", \"401\", \"403\", \"404\", \"405\", \"406\", \"409\", \
         \"412\", \"413\", \"415\", \"422\", \"428\", \"429\"]\n",
    )
    .unwrap();
    let seed = std::env::var("CONVENE_SCHEMATHESIS_SEED").unwrap_or_else(|_| "20261201".into());
    let out = Command::new(schemathesis)
        .current_dir(dir.path())
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(server.url("/api/v1/openapi.json"))
        .args(["--url", &server.url("/api/v1")])
        .args(["--checks", "all"])
        .args(["--exclude-checks", "positive_data_acceptance"])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args(["--max-examples", "10", "--workers", "2", "--seed", &seed])
        .args(["--no-color", "--request-timeout", "30"])
        .env("SCHEMATHESIS_HOOKS", "")
        .output()
        .unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let summary = said
        .lines()
        .skip_while(|l| !l.contains("SUMMARY"))
        .collect::<Vec<_>>()
        .join("\n");
    eprintln!("{summary}");
    assert!(
        out.status.success(),
        "schemathesis found failures (seed {seed}):\n{said}"
    );
    // A server that drops a connection or answers garbage is a failure (non-zero exit);
    // schemathesis's own "Runtime Error"s (its generator failing on a schema, as
    // hypothesis's AST cache does now and then) are printed but are not the server's.
    let cases = summary
        .lines()
        .find(|l| l.contains("generated"))
        .unwrap_or_default();
    assert!(cases.contains("generated"), "{summary}");
}
