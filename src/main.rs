//! The `echobase` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use echobase::config::Settings;
use echobase::db::Database;
use echobase::{App, telemetry};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// One small, fast server for echo, mock endpoints, people, deployment events
/// and message digests, on SQLite (default) or PostgreSQL.
///
/// Settings come from defaults, then a TOML file (--config, or ./echobase.toml
/// if present), then ECHOBASE_* environment variables, then flags; later wins.
#[derive(Debug, Parser)]
#[command(name = "echobase", version, propagate_version = true)]
struct Cli {
    /// TOML settings file [env: ECHOBASE_CONFIG] [default: ./echobase.toml if present]
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long, global = true, value_name = "ADDR")]
    listen: Option<String>,
    /// sqlite://FILE or postgres://USER@HOST/DB [default: sqlite://echobase.db]
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    /// pretty, json or auto (pretty on a terminal) [default: auto]
    #[arg(long, global = true, value_name = "FORMAT")]
    log_format: Option<String>,
    /// Log filter, e.g. info or echobase=debug,sqlx=warn [default: info]
    #[arg(long, global = true, value_name = "FILTER")]
    log_level: Option<String>,
    /// PEM certificate chain for HTTPS (leaf first) [setting: tls.cert]
    #[arg(long, global = true, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert [setting: tls.key]
    #[arg(long, global = true, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve HTTPS with a certificate generated at start-up for localhost (development)
    #[arg(long, global = true, conflicts_with = "tls_cert")]
    tls_self_signed: bool,
    /// Any other setting, e.g. --set body_limit=1MiB (repeatable)
    #[arg(long = "set", global = true, value_name = "KEY=VALUE")]
    set: Vec<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (applies pending migrations first)
    Serve {
        /// A WireMock root folder (mappings/ and __files/) to load stubs from
        /// [setting: mocks.mappings_dir]
        #[arg(long, value_name = "DIR")]
        mappings: Option<PathBuf>,
        /// An OpenAPI 3.0/3.1 document (JSON or YAML), or a folder of them, to
        /// serve as mocks [setting: mocks.openapi]
        #[arg(long, value_name = "FILE_OR_DIR")]
        openapi: Option<PathBuf>,
        /// A json-server db.json whose collections are loaded once, then
        /// served as REST resources [setting: resources.seed]
        #[arg(long, value_name = "FILE")]
        data: Option<PathBuf>,
    },
    /// Apply pending database migrations and exit
    Migrate,
    /// Inspect the settings
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Deployment events
    Events {
        #[command(subcommand)]
        action: EventsAction,
    },
    /// API keys
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// TLS certificates
    Cert {
        #[command(subcommand)]
        action: CertAction,
    },
    /// Resources (json-server collections)
    Resources {
        #[command(subcommand)]
        action: ResourcesAction,
    },
    /// Mock stubs as a WireMock folder (mappings/, __files/): record, export, apply
    Mocks {
        #[command(subcommand)]
        action: MocksAction,
    },
}

#[derive(Debug, Subcommand)]
enum ResourcesAction {
    /// Write every collection and singular resource to FILE as a json-server
    /// db.json (`-`: standard output)
    Export {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum MocksAction {
    /// Run a recording proxy to TARGET on --listen; on Ctrl-C, write what it
    /// recorded to OUT as a WireMock folder that echobase and WireMock load
    Record {
        /// The service to record (http or https URL)
        #[arg(long, value_name = "URL")]
        target: String,
        /// The folder to write mappings/ and __files/ into
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Write a running server's stubs and body files to DIR/mappings and DIR/__files
    Export {
        dir: PathBuf,
        #[command(flatten)]
        server: MocksServer,
    },
    /// Make a running server's stubs and body files those of DIR, and print what changed
    Apply {
        dir: PathBuf,
        #[command(flatten)]
        server: MocksServer,
        /// Only print what would change
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, clap::Args)]
struct MocksServer {
    /// The server's URL
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// An API key with mocks:write, when the server has keys
    #[arg(long, value_name = "KEY")]
    api_key: Option<String>,
}

#[derive(Debug, Subcommand)]
enum KeysAction {
    /// Print a new random key (once: it is not stored) and its auth.keys line
    Generate {
        /// Comma-separated scopes: admin, <module>:read, <module>:write
        #[arg(long, value_name = "SCOPES", default_value = "admin")]
        scopes: String,
        /// The key's name in logs and metrics [default: key-<random>]
        #[arg(long, value_name = "ID")]
        id: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum EventsAction {
    /// Import events from .ndjson, .json, .csv, or the original deploys.sqlite
    /// into the configured database (applies pending migrations first)
    Import {
        /// The file to import
        file: PathBuf,
        /// ndjson, json, csv or sqlite [default: from the file's extension]
        #[arg(long, value_name = "FORMAT")]
        format: Option<String>,
        /// Service given to events that name none
        #[arg(long, value_name = "NAME")]
        service: Option<String>,
        /// Environment given to events that name none
        #[arg(long, value_name = "NAME")]
        environment: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum CertAction {
    /// Write a self-signed cert.pem and key.pem for development
    Generate {
        /// Directory to write into (created if missing)
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Names and addresses the certificate covers
        #[arg(
            long,
            value_name = "HOSTS",
            value_delimiter = ',',
            default_value = "localhost,127.0.0.1,::1"
        )]
        hosts: Vec<String>,
        /// Days of validity
        #[arg(long, value_name = "DAYS", default_value_t = 365)]
        days: u32,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigAction {
    /// Validate the settings and print the effective values, secrets masked
    Check,
}

impl Cli {
    /// The flags as `(key, value)` settings, in the order they apply.
    fn setting_flags(&self) -> Result<Vec<(String, String)>, String> {
        let mut flags = Vec::new();
        for (key, value) in [
            ("listen", &self.listen),
            ("database_url", &self.database_url),
            ("log_format", &self.log_format),
            ("log_level", &self.log_level),
        ] {
            if let Some(value) = value {
                flags.push((key.to_owned(), value.clone()));
            }
        }
        if let Command::Serve {
            mappings,
            openapi,
            data,
        } = &self.command
        {
            if let Some(path) = data {
                flags.push(("resources.seed".to_owned(), path.display().to_string()));
            }
            if let Some(dir) = mappings {
                flags.push(("mocks.mappings_dir".to_owned(), dir.display().to_string()));
            }
            if let Some(path) = openapi {
                flags.push(("mocks.openapi".to_owned(), path.display().to_string()));
            }
        }
        if let Some(path) = &self.tls_cert {
            flags.push(("tls.cert".to_owned(), path.display().to_string()));
        }
        if let Some(path) = &self.tls_key {
            flags.push(("tls.key".to_owned(), path.display().to_string()));
        }
        if self.tls_self_signed {
            flags.push(("tls.self_signed".to_owned(), "true".to_owned()));
        }
        for pair in &self.set {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("--set {pair}: expected KEY=VALUE"))?;
            flags.push((key.trim().to_owned(), value.to_owned()));
        }
        Ok(flags)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Offline commands: no settings, no runtime.
    match &cli.command {
        Command::Keys {
            action: KeysAction::Generate { scopes, id },
        } => return keys_generate(scopes, id.as_deref()),
        Command::Cert {
            action: CertAction::Generate { out, hosts, days },
        } => return cert_generate(out, hosts, *days),
        Command::Mocks {
            action: MocksAction::Export { dir, server },
        } => {
            return mocks_client(
                |remote| async move { export_mocks(&remote, dir).await },
                server,
            );
        }
        Command::Mocks {
            action:
                MocksAction::Apply {
                    dir,
                    server,
                    dry_run,
                },
        } => {
            return mocks_client(
                |remote| async move { apply_mocks(&remote, dir, *dry_run).await },
                server,
            );
        }
        _ => {}
    }
    let settings = match load_settings(&cli) {
        Ok(settings) => settings,
        Err(message) => {
            eprintln!("echobase: {message}");
            return ExitCode::from(2);
        }
    };
    if let Command::Config {
        action: ConfigAction::Check,
    } = cli.command
    {
        print!("{}", settings.describe());
        return ExitCode::SUCCESS;
    }

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("echobase: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let _log_guard = telemetry::init_logging(settings.log_format, &settings.log_level);
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve { .. } => serve(settings).await,
            Command::Migrate => migrate(settings).await,
            Command::Mocks {
                action: MocksAction::Record { target, out },
            } => record_mocks(settings, &target, &out).await,
            Command::Config { .. }
            | Command::Keys { .. }
            | Command::Cert { .. }
            | Command::Mocks { .. } => Ok(()),
            Command::Events {
                action:
                    EventsAction::Import {
                        file,
                        format,
                        service,
                        environment,
                    },
            } => import_events(settings, file, format, service, environment).await,
            Command::Resources {
                action: ResourcesAction::Export { file },
            } => export_resources(settings, &file).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            eprintln!("echobase: {message}");
            ExitCode::FAILURE
        }
    }
}

fn keys_generate(scopes: &str, id: Option<&str>) -> ExitCode {
    use echobase::http::auth::{self, Scope};
    let scopes: Result<Vec<Scope>, String> = scopes
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(str::parse)
        .collect();
    let scopes = match scopes {
        Ok(scopes) if !scopes.is_empty() => scopes,
        Ok(_) => {
            eprintln!("echobase: give at least one scope");
            return ExitCode::from(2);
        }
        Err(message) => {
            eprintln!("echobase: {message}");
            return ExitCode::from(2);
        }
    };
    let id = id.map_or_else(
        || format!("key-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
        str::to_owned,
    );
    let key = auth::generate_key();
    let line = auth::config_line(&id, &key, &scopes);
    if let Err(message) = line.parse::<auth::ApiKey>() {
        eprintln!("echobase: {message}");
        return ExitCode::from(2);
    }
    println!("API key (shown once, store it now; the server keeps only its hash):");
    println!();
    println!("    {key}");
    println!();
    println!("Add this line to auth.keys in echobase.toml:");
    println!();
    println!("    [auth]");
    println!("    keys = [\"{line}\"]");
    println!();
    println!("or, in the environment (several keys separated by ';'):");
    println!();
    println!("    ECHOBASE_AUTH__KEYS='{line}'");
    ExitCode::SUCCESS
}

fn cert_generate(out: &std::path::Path, hosts: &[String], days: u32) -> ExitCode {
    use echobase::http::tls;
    let result = tls::self_signed(hosts, days).and_then(|(cert, key)| {
        let fingerprint = tls::load_pem(cert.as_bytes(), key.as_bytes())?.fingerprint;
        let (cert_path, key_path) = tls::write_pair(out, &cert, &key)?;
        Ok((cert_path, key_path, fingerprint))
    });
    match result {
        Ok((cert_path, key_path, fingerprint)) => {
            println!("wrote {} and {}", cert_path.display(), key_path.display());
            println!("SHA-256 fingerprint: {fingerprint}");
            println!(
                "serve with: echobase serve --tls-cert {} --tls-key {}",
                cert_path.display(),
                key_path.display()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("echobase: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a command against a server's admin API: no settings, no database.
fn mocks_client<F, Fut>(command: F, server: &MocksServer) -> ExitCode
where
    F: FnOnce(echobase::mocks::folder::Remote) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let remote = match echobase::mocks::folder::Remote::new(&server.server, server.api_key.clone())
    {
        Ok(remote) => remote,
        Err(error) => {
            eprintln!("echobase: {error}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("echobase: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(command(remote)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("echobase: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn export_mocks(
    remote: &echobase::mocks::folder::Remote,
    dir: &std::path::Path,
) -> Result<(), String> {
    let exported = echobase::mocks::folder::export(remote, dir)
        .await
        .map_err(|e| e.to_string())?;
    for path in &exported.removed {
        println!("- {}", path.display());
    }
    println!(
        "wrote {} stubs and {} body files to {}",
        exported.stubs,
        exported.files,
        dir.display()
    );
    Ok(())
}

async fn apply_mocks(
    remote: &echobase::mocks::folder::Remote,
    dir: &std::path::Path,
    dry_run: bool,
) -> Result<(), String> {
    let applied = echobase::mocks::folder::apply(remote, dir, dry_run)
        .await
        .map_err(|e| e.to_string())?;
    println!("{applied}");
    if dry_run && !applied.is_empty() {
        println!("(dry run: nothing was changed)");
    }
    Ok(())
}

/// `echobase mocks record`: a server of its own (the mocks only, on a
/// database in a temporary folder) whose recording proxies to `target`
/// until Ctrl-C, then the recorded stubs written to `out`.
async fn record_mocks(
    mut settings: Settings,
    target: &str,
    out: &std::path::Path,
) -> Result<(), String> {
    use echobase::mocks::folder::{self, Remote};
    use echobase::setting::SettingValue;
    let target_url = echobase::mocks::parse::response::proxy_base_url(target)?;
    let host = target_url
        .host_str()
        .unwrap_or_default()
        .trim_matches(['[', ']']);
    let allowed =
        echobase::mocks::proxy::ProxyTarget::from_setting(&toml::Value::String(host.to_owned()))?;
    let work = std::env::temp_dir().join(format!("echobase-record-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let database = format!("sqlite://{}", work.join("record.db").display());
    settings.database_url = echobase::db::DatabaseUrl::parse(&database)?;
    settings.modules = vec![echobase::module::Module::Mocks];
    settings.mocks.mappings_dir = None;
    settings.mocks.openapi = None;
    settings.mocks.proxy_allowed_targets = vec![allowed];
    let result = async {
        let app = App::build(settings).await.map_err(|e| e.to_string())?;
        let base = format!("http://{}", app.local_addr());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until_stopped(async {
            let _ = stopped.await;
        }));
        let remote = Remote::new(&base, None).map_err(|e| e.to_string())?;
        folder::start_recording(&remote, target_url.as_str())
            .await
            .map_err(|e| e.to_string())?;
        println!(
            "recording {target}: send requests to {base}; Ctrl-C writes the stubs to {}",
            out.display()
        );
        shutdown_signal().await;
        let recorded = folder::stop_recording(&remote)
            .await
            .map_err(|e| e.to_string())?;
        let exported = folder::export(&remote, out)
            .await
            .map_err(|e| e.to_string())?;
        println!(
            "recorded {recorded} stubs; wrote {} stubs and {} body files to {}",
            exported.stubs,
            exported.files,
            out.display()
        );
        let _ = stop.send(());
        server
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())
    }
    .await;
    let _ = std::fs::remove_dir_all(&work);
    result
}

fn load_settings(cli: &Cli) -> Result<Settings, String> {
    let flags = cli.setting_flags()?;
    let config_file = cli
        .config
        .clone()
        .or_else(|| std::env::var_os("ECHOBASE_CONFIG").map(PathBuf::from));
    Settings::load(config_file.as_deref(), std::env::vars(), &flags).map_err(|e| e.to_string())
}

async fn serve(settings: Settings) -> Result<(), String> {
    let started = std::time::Instant::now();
    let modules: Vec<&str> = settings.modules.iter().map(|m| m.name()).collect();
    let database = settings.database_url.masked();
    let app = App::build(settings).await.map_err(|e| e.to_string())?;
    release_startup_garbage();
    for notice in app.notices() {
        println!("{notice}");
    }
    let (http, https) = match app.tls_addr() {
        Some(tls) if tls == app.local_addr() => (None, Some(tls)),
        Some(tls) => (Some(app.local_addr()), Some(tls)),
        None => (Some(app.local_addr()), None),
    };
    let urls: Vec<String> = http
        .map(|a| format!("http://{a}"))
        .into_iter()
        .chain(https.map(|a| format!("https://{a}")))
        .collect();
    tracing::info!(
        address = %app.local_addr(),
        database = %database,
        modules = %modules.join(","),
        startup_ms = started.elapsed().as_secs_f64() * 1000.0,
        "echobase listening on {}",
        urls.join(" and ")
    );
    app.run_until_stopped(shutdown_signal())
        .await
        .map_err(|e| e.to_string())
}

/// Start-up peaks at several MiB of heap (the OpenAPI document is built from
/// every route's annotations, cloned and merged, then serialised) that is
/// garbage once the server listens. Released on the thread that built the
/// app, idle anonymous memory falls by several MiB.
fn release_startup_garbage() {
    echobase::memory::release_freed_pages();
}

/// How long a command waits for a pooled connection: a command can wait,
/// where a request should learn quickly that the database is gone.
const COMMAND_ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

async fn migrate(settings: Settings) -> Result<(), String> {
    let db = Database::connect(&settings.database_url, 1, COMMAND_ACQUIRE_TIMEOUT)
        .await
        .map_err(|e| e.to_string())?;
    db.migrate().await.map_err(|e| e.to_string())?;
    println!(
        "migrations applied to {} ({})",
        settings.database_url.masked(),
        db.backend_name()
    );
    db.close().await;
    Ok(())
}

/// `echobase resources export FILE`: the database's collections as a
/// db.json, written to a temporary file and renamed over FILE, so FILE is
/// never left half written.
async fn export_resources(settings: Settings, file: &std::path::Path) -> Result<(), String> {
    let db = Database::connect(&settings.database_url, 2, COMMAND_ACQUIRE_TIMEOUT)
        .await
        .map_err(|e| e.to_string())?;
    db.migrate().await.map_err(|e| e.to_string())?;
    let store = echobase::resources::store::for_database(&db, 0, Default::default());
    let exported = echobase::resources::native::export(store.as_ref()).await;
    db.close().await;
    let exported = exported.map_err(|e| e.to_string())?;
    let mut text = serde_json::to_string_pretty(&exported).map_err(|e| e.to_string())?;
    text.push('\n');
    if file == std::path::Path::new("-") {
        print!("{text}");
        return Ok(());
    }
    let partial = file.with_extension("json.partial");
    std::fs::write(&partial, text)
        .and_then(|()| std::fs::rename(&partial, file))
        .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    let collections = exported.as_object().map_or(0, |db| db.len());
    println!(
        "{} collection(s) written to {}",
        collections,
        file.display()
    );
    Ok(())
}

async fn import_events(
    settings: Settings,
    file: PathBuf,
    format: Option<String>,
    service: Option<String>,
    environment: Option<String>,
) -> Result<(), String> {
    use echobase::events::import::{self, ImportOptions};
    let format = format.map(|f| f.parse()).transpose()?;
    let db = Database::connect(&settings.database_url, 2, COMMAND_ACQUIRE_TIMEOUT)
        .await
        .map_err(|e| e.to_string())?;
    db.migrate().await.map_err(|e| e.to_string())?;
    let store = echobase::events::store::for_database(&db);
    let options = ImportOptions {
        format,
        service,
        environment,
        limits: (&settings.events).into(),
        progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    let started = std::time::Instant::now();
    let result = import::import_file(store, &file, &options).await;
    db.close().await;
    let report = result.map_err(|e| e.to_string())?;
    let seconds = started.elapsed().as_secs_f64();
    for error in &report.errors {
        eprintln!(
            "{}: record {}: {}",
            file.display(),
            error.line,
            error.message
        );
    }
    if report.rejected > report.errors.len() as u64 {
        eprintln!(
            "... and {} more rejected records",
            report.rejected - report.errors.len() as u64
        );
    }
    println!(
        "{}: {} records, {} stored, {} already stored, {} rejected in {:.2}s ({:.0} records/s) into {}",
        file.display(),
        report.received,
        report.stored,
        report.duplicates,
        report.rejected,
        seconds,
        report.received as f64 / seconds.max(1e-9),
        settings.database_url.masked(),
    );
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
