# Everyday commands for convene. Each recipe is a plain command: none needs `just`.

pg_url := "postgres://postgres@127.0.0.1:5432/postgres"

# List the recipes
default:
    @just --list

# Serve API + e-mail worker (SQLite by default; see config/default.toml)
run:
    cargo run --release -- serve

# Serve with a demo forum loaded
demo:
    cargo run --release -- serve --demo

# All tests on SQLite
test:
    cargo test --workspace

# All tests on PostgreSQL (a local server, user postgres, no password)
test-pg:
    CONVENE_TEST_DATABASE_URL={{ pg_url }} cargo test --workspace

# What CI runs: set-up, then the tests on SQLite and on PostgreSQL
ci:
    bash .ci/run

# Format the code
fmt:
    cargo fmt --all

# Lint; warnings are errors
lint:
    cargo clippy --workspace --all-targets -- -D warnings

# Load-test the schedule endpoint and time the imports (DURATION=15 seconds per run)
bench-schedule:
    bash bench/schedule-load
