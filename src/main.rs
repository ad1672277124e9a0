//! `convene`: the binary. Wiring only — CLI, configuration, starting the API and the
//! worker; every rule lives in `convene-domain`.

mod config;

use std::future::IntoFuture;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use convene_domain::effects;
use convene_domain::schedule::store;
use convene_domain::teams::{members, Role};
use sea_orm::DatabaseConnection;
use sea_orm_migration::MigratorTrait;

/// The demo programme: the 2019 Gaziantep Municipal Forum (examples/gaziantep-2019.json).
const DEMO_PROGRAMME: &[u8] = include_bytes!("../examples/gaziantep-2019.json");
/// The demo declaration (our own summary text, not the official declaration), in the
/// authoritative English and a Turkish translation.
const DEMO_DECLARATION_EN: &str = include_str!("../examples/gaziantep-declaration.en.md");
const DEMO_DECLARATION_TR: &str = include_str!("../examples/gaziantep-declaration.tr.md");

#[derive(Parser)]
#[command(
    name = "convene",
    version,
    about = "The backend that runs municipal forums"
)]
struct Cli {
    /// A TOML file read on top of the embedded defaults.
    #[arg(long, env = "CONVENE_CONFIG", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Apply pending migrations, then serve the API (with the e-mail worker, unless
    /// --no-worker). The default command.
    Serve {
        /// Do not run the e-mail worker in this process.
        #[arg(long)]
        no_worker: bool,
        /// Load (or refresh) and publish the demo forum `gaziantep2019`.
        #[arg(long)]
        demo: bool,
        /// With --demo: make this e-mail address the demo forum's owner (the account is
        /// created if absent) and print a new API token for it, once.
        #[arg(long, requires = "demo", value_name = "EMAIL")]
        demo_owner: Option<String>,
    },
    /// Run only the e-mail worker (any number may run against one PostgreSQL).
    Worker,
    /// Apply pending migrations and exit.
    Migrate,
    /// The configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Import a frab XML or c3voc JSON schedule: into the forum with that slug if it
    /// exists, else into a new draft forum.
    Import {
        /// The schedule file.
        file: PathBuf,
        /// Forum slug (default: from the file's acronym).
        #[arg(long)]
        forum: Option<String>,
        /// E-mail of an existing organizer account to make owner of the forum.
        #[arg(long)]
        owner: Option<String>,
        /// IANA time zone for files that name none (frab XML).
        #[arg(long)]
        time_zone: Option<String>,
        /// Publish the forum after importing.
        #[arg(long)]
        publish: bool,
    },
    /// Re-verify the ledger (hash chain) of every declaration, or of those selected;
    /// prints one line per declaration and exits 1 naming the first bad entry of any.
    VerifyLedger {
        /// Only the declarations of this forum (slug).
        #[arg(long)]
        forum: Option<String>,
        /// Only the declaration with this slug.
        #[arg(long)]
        declaration: Option<String>,
    },
    /// Administration.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the effective configuration (defaults, then the file, then
    /// `CONVENE_<SECTION>__<KEY>` variables) as TOML with secrets redacted; exit 1 when it
    /// does not parse or when it has a key that convene does not read (a typo or an old
    /// name), naming each with where it was set. Connects to nothing.
    Check,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an organizer account (or reuse it) and print a new API token, once.
    CreateOrganizer {
        /// E-mail address.
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long, default_value = "")]
        name: String,
        /// Label of the token.
        #[arg(long, default_value = "cli")]
        label: String,
    },
    /// Revoke every API token of an organizer.
    RevokeTokens {
        /// E-mail address.
        #[arg(long)]
        email: String,
    },
    /// Give a person a role on a forum (adding them to its team, and creating the account,
    /// when absent). A forum keeps at least one owner.
    Grant {
        /// The forum's slug.
        #[arg(long)]
        forum: String,
        /// The person's e-mail address.
        #[arg(long)]
        email: String,
        /// owner, organizer, checkin or viewer.
        #[arg(long, value_parser = parse_role)]
        role: Role,
    },
    /// Remove a person from a forum's team (not the last owner).
    Revoke {
        /// The forum's slug.
        #[arg(long)]
        forum: String,
        /// The person's e-mail address.
        #[arg(long)]
        email: String,
    },
}

/// Parses a role name for the CLI.
fn parse_role(s: &str) -> std::result::Result<Role, String> {
    Role::parse(s).ok_or_else(|| {
        let names: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        format!("expected one of {}", names.join(", "))
    })
}

/// The process's allocator (see the `mimalloc` entry in Cargo.toml for why).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Logs go to stderr: `CONVENE_LOG` is the filter (default `info,sqlx=warn,sea_orm=warn`),
/// `logging.format` the shape (text or JSON lines with the current span's fields).
fn init_logging(cfg: &config::LoggingConfig) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CONVENE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    use std::io::IsTerminal as _;
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match cfg.format {
        config::LogFormat::Text => fmt.init(),
        config::LogFormat::Json => fmt
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    if let Some(Command::Config {
        command: ConfigCommand::Check,
    }) = cli.command
    {
        return config_check(cli.config.as_deref());
    }
    let cfg = config::load(cli.config.as_deref()).context("reading the configuration")?;
    init_logging(&cfg.logging);
    let command = cli.command.unwrap_or(Command::Serve {
        no_worker: false,
        demo: false,
        demo_owner: None,
    });
    convene_domain::declarations::configure(cfg.declarations.clone());
    let db = convene_domain::db::connect_with(
        &cfg.database.url,
        cfg.database.max_connections,
        std::time::Duration::from_secs(cfg.database.acquire_timeout_secs.max(1)),
    )
    .await
    .with_context(|| format!("connecting to {}", config::redact_url(&cfg.database.url)))?;
    match command {
        Command::Serve {
            no_worker,
            demo,
            demo_owner,
        } => {
            migrate(&db).await?;
            if demo {
                let slug = load_demo(&db).await?;
                let links = convene_domain::links::Links::new(&cfg.http.public_base_url)?;
                println!("demo forum: {}", links.forum_url(&slug));
                if let Some(email) = demo_owner {
                    let token = demo_owner_token(&db, &slug, &email).await?;
                    println!("demo owner {email}; API token (shown only once): {token}");
                }
            }
            serve(db, cfg, !no_worker).await
        }
        Command::Worker => {
            // A worker never migrates (`serve`/`migrate` do), but refuses an older schema.
            let pending = convene_migrations::Migrator::get_pending_migrations(&db)
                .await
                .context("reading the schema version")?;
            if !pending.is_empty() {
                anyhow::bail!(
                    "the database schema is not up to date ({} migration(s) pending): run `convene migrate` first",
                    pending.len()
                );
            }
            if cfg.metrics.enabled() {
                anyhow::ensure!(
                    !cfg.metrics.listen.is_empty(),
                    "`convene worker` serves /metrics only on metrics.listen (it has no HTTP listener); set it"
                );
                let m =
                    convene_api::ops::Metrics::install(db.clone(), cfg.database.max_connections)
                        .map_err(|e| anyhow::anyhow!("installing the metrics recorder: {e}"))?;
                spawn_metrics_listener(&cfg.metrics.listen, m).await?;
            }
            convene_notifier::run(
                db,
                cfg.mail,
                cfg.worker,
                cfg.http.public_base_url,
                shutdown_signal(),
            )
            .await
            .context("starting the notification worker")
        }
        Command::Migrate => migrate(&db).await,
        Command::Config { .. } => unreachable!("answered before connecting"),
        Command::Import {
            file,
            forum,
            owner,
            time_zone,
            publish,
        } => {
            migrate(&db).await?;
            // The same limits as over HTTP: the size before reading, the rest in `parse`.
            let limit = convene_domain::schedule::limits::MAX_FILE_BYTES;
            let size = std::fs::metadata(&file)
                .with_context(|| format!("reading {}", file.display()))?
                .len();
            if size > limit as u64 {
                anyhow::bail!("{}: the file is larger than {limit} bytes", file.display());
            }
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let started = std::time::Instant::now();
            let (forum_arg, tz_arg) = (forum.clone(), time_zone.clone());
            let (f, report) = effects::schedule::import_as_admin(
                &db,
                &bytes,
                owner.as_deref(),
                store::NewForumOptions {
                    slug: forum,
                    time_zone,
                },
            )
            .await
            .map_err(|e| {
                let hints: [Hint; 4] = [
                    ("account", "--owner", owner.as_deref()),
                    ("email", "--owner", owner.as_deref()),
                    ("slug", "--forum", forum_arg.as_deref()),
                    ("time_zone", "--time-zone", tz_arg.as_deref()),
                ];
                cli_error(e, &hints).context(format!("importing {}", file.display()))
            })?;
            if publish {
                publish_forum(&db, f.id).await?;
            }
            let elapsed = started.elapsed();
            println!(
                "{}: forum `{}` — {} created, {} updated, {} unchanged, {} cancelled; {} rooms and {} speakers created ({} ms)",
                file.display(),
                f.slug,
                report.created,
                report.updated,
                report.unchanged,
                report.cancelled,
                report.rooms_created,
                report.speakers_created,
                elapsed.as_millis()
            );
            for w in &report.warnings {
                println!("warning: {w}");
            }
            Ok(())
        }
        Command::VerifyLedger { forum, declaration } => {
            verify_ledger(&db, forum.as_deref(), declaration.as_deref()).await
        }
        Command::Admin { command } => match command {
            AdminCommand::CreateOrganizer { email, name, label } => {
                migrate(&db).await?;
                let (acc, token) =
                    convene_domain::accounts::create_organizer(&db, &email, &name, &label)
                        .await
                        .map_err(|e| {
                            cli_error(
                                e,
                                &[
                                    ("email", "--email", Some(&email)),
                                    ("name", "--name", Some(&name)),
                                    ("label", "--label", Some(&label)),
                                ],
                            )
                        })?;
                eprintln!(
                    "organizer {} ({}); the token below is shown only once:",
                    acc.email, acc.id
                );
                println!("{token}");
                Ok(())
            }
            AdminCommand::RevokeTokens { email } => {
                let n = convene_domain::accounts::revoke_tokens(&db, &email)
                    .await
                    .map_err(|e| {
                        cli_error(
                            e,
                            &[
                                ("email", "--email", Some(&email)),
                                ("account", "--email", Some(&email)),
                            ],
                        )
                    })?;
                println!("{n} token(s) revoked");
                Ok(())
            }
            AdminCommand::Grant { forum, email, role } => {
                migrate(&db).await?;
                let m = members::grant_as_admin(&db, &forum, &email, role)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                println!("{} is {} of {forum}", m.email, m.role);
                Ok(())
            }
            AdminCommand::Revoke { forum, email } => {
                migrate(&db).await?;
                members::revoke_as_admin(&db, &forum, &email)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                println!("{email} is no longer a member of {forum}");
                Ok(())
            }
        },
    }
}

/// How a domain error's field (or, for "not found", its object) maps to a command-line
/// argument and the value given: `("email", "--email", Some(value))`.
type Hint<'a> = (&'a str, &'a str, Option<&'a str>);

/// A domain error as the CLI prints it: each field error names the argument and the value
/// at fault (`--email "not an email": must be an e-mail address`), a missing object names
/// the argument that named it; anything else as the domain words it.
fn cli_error(e: convene_domain::Error, hints: &[Hint]) -> anyhow::Error {
    let arg = |key: &str| {
        hints
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, flag, value)| match value {
                Some(v) => format!("{flag} {v:?}"),
                None => (*flag).to_owned(),
            })
    };
    match &e {
        convene_domain::Error::Validation(errs) => anyhow::anyhow!(
            "{}",
            errs.iter()
                .map(|f| match arg(&f.field) {
                    Some(a) => format!("{a}: {}", f.message),
                    None => format!("{}: {}", f.field, f.message),
                })
                .collect::<Vec<_>>()
                .join("; ")
        ),
        convene_domain::Error::NotFound(what) => match arg(what) {
            Some(a) if *what == "account" => anyhow::anyhow!(
                "{a}: no organizer account has this e-mail address (create one with `convene admin create-organizer --email …`)"
            ),
            Some(a) => anyhow::anyhow!("{a}: no such {what}"),
            None => anyhow::anyhow!("{e}"),
        },
        _ => anyhow::anyhow!("{e}"),
    }
}

/// `convene config check`: the effective configuration on stdout; errors and unknown keys
/// on stderr with exit status 1.
fn config_check(file: Option<&std::path::Path>) -> Result<()> {
    let check = config::check(file).map_err(|e| anyhow::anyhow!("{e}"))?;
    print!("{}", check.effective);
    if check.unknown.is_empty() {
        eprintln!("configuration ok");
        return Ok(());
    }
    for u in &check.unknown {
        eprintln!("error: unknown key {u}");
    }
    anyhow::bail!("{} unknown configuration key(s)", check.unknown.len())
}

/// `convene verify-ledger`: exit 0 when every selected chain verifies, else 1.
async fn verify_ledger(
    db: &DatabaseConnection,
    forum: Option<&str>,
    declaration: Option<&str>,
) -> Result<()> {
    migrate(db).await?;
    let all = convene_domain::declarations::all_for_verification(db, forum, declaration)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut failed = 0;
    for (forum_slug, d) in &all {
        let r = convene_domain::declarations::ledger::verify(db, d.id)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        match &r.first_bad {
            None => println!(
                "{forum_slug}/{}: ok, {} entries, head {}",
                d.slug, r.entries, r.head
            ),
            Some(b) => {
                failed += 1;
                let at = b
                    .seq
                    .map(|s| format!("entry {s}"))
                    .unwrap_or_else(|| "a signature".into());
                println!("{forum_slug}/{}: FAILED at {at}: {}", d.slug, b.reason);
            }
        }
    }
    if all.is_empty() {
        println!("no declarations to verify");
    }
    if failed > 0 {
        eprintln!("{failed} ledger(s) failed verification");
        std::process::exit(1);
    }
    Ok(())
}

/// Key of the PostgreSQL advisory lock held while migrating ("convene" in ASCII).
const MIGRATION_LOCK_KEY: i64 = 0x636f_6e76_656e_65;

/// Applies pending migrations, once even when several processes start together: on
/// PostgreSQL under the session advisory lock [`MIGRATION_LOCK_KEY`]
/// (`pg_advisory_lock`, held on a connection of its own outside the pool, so a
/// one-connection pool still works, and released by PostgreSQL if the process dies); on
/// SQLite under an exclusive lock of the file `<database>.migrate-lock` beside the
/// database. Whoever gets the lock second finds nothing pending.
async fn migrate(db: &DatabaseConnection) -> Result<()> {
    use sqlx::Connection as _;
    match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            let opts = db.get_postgres_connection_pool().connect_options();
            let mut lock = sqlx::PgConnection::connect_with(&opts)
                .await
                .context("opening the migration lock connection")?;
            sqlx::query("SELECT pg_advisory_lock($1)")
                .bind(MIGRATION_LOCK_KEY)
                .execute(&mut lock)
                .await
                .context("taking the migration lock")?;
            let res = convene_migrations::Migrator::up(db, None).await;
            let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(MIGRATION_LOCK_KEY)
                .execute(&mut lock)
                .await;
            let _ = lock.close().await;
            res.context("applying migrations")
        }
        sea_orm::DbBackend::Sqlite => {
            let file = db.get_sqlite_connection_pool().connect_options();
            let path = file.get_filename().to_owned();
            let _lock = if path.as_os_str().is_empty() || path.as_os_str() == ":memory:" {
                None
            } else {
                let mut lock_path = path.into_os_string();
                lock_path.push(".migrate-lock");
                let f = tokio::task::spawn_blocking(move || -> std::io::Result<std::fs::File> {
                    let f = std::fs::OpenOptions::new()
                        .create(true)
                        .truncate(false)
                        .write(true)
                        .open(&lock_path)?;
                    f.lock()?;
                    Ok(f)
                })
                .await?
                .context("taking the migration lock file")?;
                Some(f)
            };
            convene_migrations::Migrator::up(db, None)
                .await
                .context("applying migrations")
        }
        _ => convene_migrations::Migrator::up(db, None)
            .await
            .context("applying migrations"),
    }
}

/// Serves `GET /metrics` on `listen` (a separate address: no token there) and prints
/// `metrics at http://ADDR/metrics`.
async fn spawn_metrics_listener(
    listen: &str,
    m: std::sync::Arc<convene_api::ops::Metrics>,
) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("metrics.listen: listening on {listen}"))?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, convene_api::ops::metrics_router(m)).await {
            tracing::error!(error = %e, "the metrics listener stopped");
        }
    });
    println!("metrics at http://{addr}/metrics");
    std::io::stdout().flush().ok();
    Ok(())
}

async fn publish_forum(db: &DatabaseConnection, id: uuid::Uuid) -> Result<()> {
    use sea_orm::{ActiveModelTrait, IntoActiveModel, Set};
    let f = convene_domain::forums::by_id(db, id)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if f.status == "draft" {
        let version = f.version;
        let mut am = f.into_active_model();
        am.status = Set("published".into());
        am.version = Set(version + 1);
        am.updated_at = Set(convene_domain::db::now());
        am.update(db).await?;
    }
    Ok(())
}

/// Makes `email` the owner of the demo forum and issues it a new API token (returned
/// to be printed once).
async fn demo_owner_token(db: &DatabaseConnection, slug: &str, email: &str) -> Result<String> {
    members::grant_as_admin(db, slug, email, Role::Owner)
        .await
        .map_err(|e| anyhow::anyhow!("making {email} the demo forum's owner: {e}"))?;
    let (_, token) = convene_domain::accounts::create_organizer(db, email, "", "demo")
        .await
        .map_err(|e| anyhow::anyhow!("issuing a token to {email}: {e}"))?;
    Ok(token)
}

/// How far ahead the demo forum starts: at least this many days after today (and less
/// than a week more), so that it always takes registrations and sign-ups.
const DEMO_LEAD_DAYS: i64 = 21;

/// Loads the demo forum, moved by whole weeks to start [`DEMO_LEAD_DAYS`] or a few more
/// days after today (same weekdays, same local times:
/// `convene_domain::schedule::moved_ahead`); returns its slug. A demo forum
/// loaded on an earlier day gets the new days first, then the moved programme.
async fn load_demo(db: &DatabaseConnection) -> Result<String> {
    use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};
    let today = convene_domain::db::now().date_naive();
    let programme = convene_domain::schedule::moved_ahead(DEMO_PROGRAMME, today, DEMO_LEAD_DAYS)
        .map_err(|e| anyhow::anyhow!("moving the demo forum ahead: {e}"))?;
    let parsed = convene_domain::schedule::parse_c3voc_json(&programme)
        .map_err(|e| anyhow::anyhow!("reading the demo forum: {e}"))?;
    let slug = store::slug_from_acronym(&parsed.conference.acronym);
    if let Some(f) = convene_domain::forums::entity::Entity::find()
        .filter(convene_domain::forums::entity::Column::Slug.eq(slug))
        .one(db)
        .await?
    {
        let (first, last) = (parsed.conference.start, parsed.conference.end);
        if (f.first_day, f.last_day) != (first, last) {
            let version = f.version;
            let mut am = f.into_active_model();
            am.first_day = Set(first);
            am.last_day = Set(last);
            am.version = Set(version + 1);
            am.updated_at = Set(convene_domain::db::now());
            am.update(db).await?;
        }
    }
    let (f, report) =
        effects::schedule::import_as_admin(db, &programme, None, store::NewForumOptions::default())
            .await
            .map_err(|e| anyhow::anyhow!("loading the demo forum: {e}"))?;
    publish_forum(db, f.id).await?;
    convene_domain::declarations::ensure_demo(
        db,
        f.id,
        "gaziantep-declaration",
        ("en", "Gaziantep Declaration", DEMO_DECLARATION_EN),
        &[("tr", "Gaziantep Bildirgesi", DEMO_DECLARATION_TR)],
    )
    .await
    .map_err(|e| anyhow::anyhow!("loading the demo declaration: {e}"))?;
    tracing::info!(forum = %f.slug, created = report.created, unchanged = report.unchanged, "demo forum loaded");
    Ok(f.slug)
}

async fn serve(db: DatabaseConnection, cfg: config::Config, with_worker: bool) -> Result<()> {
    anyhow::ensure!(
        cfg.registration.idempotency_ttl_seconds >= 1
            && cfg.registration.idempotency_purge_interval_seconds >= 1,
        "registration.idempotency_ttl_seconds and registration.idempotency_purge_interval_seconds must be at least 1"
    );
    let links = convene_domain::links::Links::new(&cfg.http.public_base_url)?;
    let listener = tokio::net::TcpListener::bind(&cfg.http.listen)
        .await
        .with_context(|| format!("listening on {}", cfg.http.listen))?;
    let addr = listener.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    // The embedded worker's liveness for /readyz: false once its task ends (returned,
    // failed to start, or panicked).
    let worker_alive = Arc::new(AtomicBool::new(with_worker));
    let worker = with_worker.then(|| {
        let mut rx = stop_rx.clone();
        let alive = AliveWhileRunning(worker_alive.clone());
        let (db, mail, wcfg, base) = (
            db.clone(),
            cfg.mail.clone(),
            cfg.worker.clone(),
            cfg.http.public_base_url.clone(),
        );
        tokio::spawn(async move {
            let _alive = alive;
            let res = convene_notifier::run(db, mail, wcfg, base, async move {
                let _ = rx.wait_for(|s| *s).await;
            })
            .await;
            if let Err(e) = res {
                tracing::error!(error = %e, "the embedded notification worker did not start");
            }
        })
    });
    let registrar = convene_domain::registrations::batcher::Registrar::new(
        db.clone(),
        cfg.registration.batching,
        std::time::Duration::from_secs(cfg.registration.idempotency_ttl_seconds),
    );
    let key_purge = registrar.spawn_key_purge(std::time::Duration::from_secs(
        cfg.registration.idempotency_purge_interval_seconds,
    ));
    let metrics = if cfg.metrics.enabled() {
        Some(
            convene_api::ops::Metrics::install(db.clone(), cfg.database.max_connections)
                .map_err(|e| anyhow::anyhow!("installing the metrics recorder: {e}"))?,
        )
    } else {
        None
    };
    let ops = convene_api::ops::Ops {
        migrations: convene_migrations::Migrator::migrations()
            .iter()
            .map(|m| m.name().to_owned())
            .collect(),
        worker: with_worker.then(|| worker_alive.clone()),
        metrics: metrics.clone(),
        metrics_token_sha256: None,
        access_log: cfg.logging.access_log,
    }
    .with_metrics_token(&cfg.metrics.token);
    let app = convene_api::router(
        convene_api::AppState::new(
            db,
            links.clone(),
            registrar,
            convene_api::ratelimit::RateLimits::new(
                cfg.rate_limit.registration,
                cfg.rate_limit.resend_link,
            ),
        )
        .with_page_secret(cfg.http.page_secret.as_deref())
        .with_ops(ops),
    );
    println!("listening on http://{addr}");
    std::io::stdout().flush().ok();
    if let (Some(m), false) = (metrics, cfg.metrics.listen.is_empty()) {
        spawn_metrics_listener(&cfg.metrics.listen, m).await?;
    }
    tracing::info!(%addr, worker = with_worker, "convene serving");

    // SIGTERM/Ctrl-C: stop accepting, let the requests in flight (and so the registration
    // batches they wait for) finish — for at most `http.shutdown_grace_secs` — then stop
    // the worker, which finishes its sends and releases the rows it holds.
    let (signalled_tx, signalled_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: no new connections; finishing the requests in flight");
        let _ = signalled_tx.send(true);
    });
    let signalled = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let grace = std::time::Duration::from_secs(cfg.http.shutdown_grace_secs);
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(signalled(signalled_rx.clone()));
    tokio::select! {
        res = server.into_future() => res?,
        _ = async {
            signalled(signalled_rx).await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!(grace_secs = grace.as_secs(), "requests still in flight after the grace period; closing them");
        }
    }
    key_purge.abort();
    let _ = stop_tx.send(true);
    if let Some(w) = worker {
        let _ = w.await;
    }
    tracing::info!("convene stopped");
    Ok(())
}

/// Sets its flag to `false` when dropped: held by the embedded worker's task, so the flag
/// says whether that task still runs (also after a panic).
struct AliveWhileRunning(Arc<AtomicBool>);

impl Drop for AliveWhileRunning {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
