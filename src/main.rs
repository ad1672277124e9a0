//! `convene`: the binary. Wiring only — CLI, configuration, starting the API and the
//! worker; every rule lives in `convene-domain`.

mod config;

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use convene_domain::schedule::store;
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
    },
    /// Run only the e-mail worker (any number may run against one PostgreSQL).
    Worker,
    /// Apply pending migrations and exit.
    Migrate,
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
}

/// The process's allocator (see the `mimalloc` entry in Cargo.toml for why).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CONVENE_LOG").unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("info,sqlx=warn,sea_orm=warn")
            }),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let cfg = config::load(cli.config.as_deref()).context("reading the configuration")?;
    let command = cli.command.unwrap_or(Command::Serve {
        no_worker: false,
        demo: false,
    });
    convene_domain::declarations::configure(cfg.declarations.clone());
    let db = convene_domain::db::connect(&cfg.database.url, cfg.database.max_connections)
        .await
        .with_context(|| format!("connecting to {}", config::redact_url(&cfg.database.url)))?;
    match command {
        Command::Serve { no_worker, demo } => {
            migrate(&db).await?;
            if demo {
                let slug = load_demo(&db).await?;
                let links = convene_domain::links::Links::new(&cfg.http.public_base_url)?;
                println!("demo forum: {}", links.forum_url(&slug));
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
        Command::Import {
            file,
            forum,
            owner,
            time_zone,
            publish,
        } => {
            migrate(&db).await?;
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let started = std::time::Instant::now();
            let (f, report) = store::import_as_admin(
                &db,
                &bytes,
                owner.as_deref(),
                store::NewForumOptions {
                    slug: forum,
                    time_zone,
                },
            )
            .await
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
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
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
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
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                println!("{n} token(s) revoked");
                Ok(())
            }
        },
    }
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

async fn migrate(db: &DatabaseConnection) -> Result<()> {
    convene_migrations::Migrator::up(db, None)
        .await
        .context("applying migrations")
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

/// Loads the demo forum; returns its slug.
async fn load_demo(db: &DatabaseConnection) -> Result<String> {
    let (f, report) =
        store::import_as_admin(db, DEMO_PROGRAMME, None, store::NewForumOptions::default())
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
    let worker = with_worker.then(|| {
        let mut rx = stop_rx.clone();
        let (db, mail, wcfg, base) = (
            db.clone(),
            cfg.mail.clone(),
            cfg.worker.clone(),
            cfg.http.public_base_url.clone(),
        );
        tokio::spawn(async move {
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
        .with_page_secret(cfg.http.page_secret.as_deref()),
    );
    println!("listening on http://{addr}");
    std::io::stdout().flush().ok();
    tracing::info!(%addr, worker = with_worker, "convene serving");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    key_purge.abort();
    let _ = stop_tx.send(true);
    if let Some(w) = worker {
        let _ = w.await;
    }
    Ok(())
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
