//! `eventfold-server --db ./data.sqlite --listen 127.0.0.1:8787 [--tokens tokens.json]
//! [--allow-open] [--max-body-bytes N] [--max-connections N] [--header-timeout SECS]
//! [--body-timeout SECS] [--log-level error|warn|info|debug]`
//!
//! Every flag also takes `--flag=value` and falls back to an environment variable
//! (`EVENTFOLD_DB`, `EVENTFOLD_LISTEN`, ...; `--help` lists them). The command line is parsed by
//! clap: `--help`, `--version`, suggestions for misspelt flags and errors that name the flag.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use eventfold::sync::serve::ServeLimits;
use eventfold_server::listen::{self, ListenOptions, Shutdown};
use eventfold_server::{
    app, open_backend, AppState, Auth, DEFAULT_BODY_TIMEOUT, DEFAULT_MAX_BODY_BYTES,
};

/// The eventfold sync server: an HTTP API over an event store on SQLite (embedded, default) or
/// PostgreSQL.
#[derive(Debug, Parser)]
#[command(
    name = "eventfold-server",
    version,
    about,
    allow_negative_numbers = true
)]
struct Args {
    /// The store: a SQLite file (created if missing) or a postgres:// URL.
    #[arg(
        long,
        env = "EVENTFOLD_DB",
        default_value = "./data.sqlite",
        value_name = "PATH|URL"
    )]
    db: String,
    /// The address to listen on.
    #[arg(
        long,
        env = "EVENTFOLD_LISTEN",
        default_value = "127.0.0.1:8787",
        value_name = "ADDR"
    )]
    listen: SocketAddr,
    /// The token file (JSON: tokens and the stream prefixes each may read and write). Without
    /// one the server is open: any request may read and write every stream.
    #[arg(long, env = "EVENTFOLD_TOKENS", value_name = "FILE")]
    tokens: Option<PathBuf>,
    /// Accept open mode (no token file) on a non-loopback address.
    #[arg(long, env = "EVENTFOLD_ALLOW_OPEN")]
    allow_open: bool,
    /// Largest request body, in bytes.
    #[arg(long, env = "EVENTFOLD_MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES,
          value_parser = positive, value_name = "N")]
    max_body_bytes: usize,
    /// Most connections served at once; more wait to be accepted [default: 4096, or the open-file
    /// limit less 64 when lower].
    #[arg(long, env = "EVENTFOLD_MAX_CONNECTIONS", value_parser = positive, value_name = "N")]
    max_connections: Option<usize>,
    /// Seconds a client has to send a request's headers [default: 10].
    #[arg(long, env = "EVENTFOLD_HEADER_TIMEOUT", value_parser = seconds, value_name = "SECS")]
    header_timeout: Option<Duration>,
    /// Seconds a client has to send a request's body [default: 30].
    #[arg(long, env = "EVENTFOLD_BODY_TIMEOUT", value_parser = seconds, value_name = "SECS")]
    body_timeout: Option<Duration>,
    /// Least severe log level written to stderr.
    #[arg(long, env = "EVENTFOLD_LOG_LEVEL", default_value = "info",
          value_parser = ["error", "warn", "info", "debug", "trace"], value_name = "LEVEL")]
    log_level: String,
}

impl Args {
    fn listen_options(&self) -> ListenOptions {
        let mut options = ListenOptions::default();
        if let Some(n) = self.max_connections {
            options.max_connections = n;
        }
        if let Some(t) = self.header_timeout {
            options.header_timeout = t;
        }
        options
    }

    fn log_level(&self) -> tracing::Level {
        self.log_level.parse().unwrap_or(tracing::Level::INFO)
    }
}

fn seconds(value: &str) -> Result<Duration, String> {
    value
        .parse::<f64>()
        .ok()
        .filter(|s| *s > 0.0)
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| "not a positive number of seconds".to_owned())
}

fn positive(value: &str) -> Result<usize, String> {
    value
        .parse::<usize>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| "not a positive integer".to_owned())
}

/// The database argument without credentials (`postgres://user:secret@host/db` prints as
/// `postgres://…@host/db`).
fn redact(db: &str) -> String {
    match (db.find("://"), db.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}…{}", &db[..scheme + 3], &db[at..]),
        _ => db.to_owned(),
    }
}

fn main() {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("eventfold-server: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    let result = runtime.block_on(run());
    // Whatever still runs (connections past the grace period) is dropped, not awaited.
    runtime.shutdown_timeout(Duration::from_secs(1));
    if let Err(message) = result {
        eprintln!("eventfold-server: {message}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), String> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(args.log_level())
        .with_ansi(false)
        .init();
    let auth = match &args.tokens {
        Some(path) => Auth::load(path).map_err(|e| e.to_string())?,
        None => Auth::Open,
    };
    if auth.is_open() && !args.listen.ip().is_loopback() && !args.allow_open {
        return Err(format!(
            "refusing to listen on {} without a token file: anyone who can reach it could read \
             and write every stream. Give --tokens tokens.json, listen on a loopback address, or \
             pass --allow-open to accept this",
            args.listen
        ));
    }
    let limits = ServeLimits::default();
    let backend = open_backend(&args.db, limits)
        .await
        .map_err(|e| format!("cannot open the store {}: {e}", redact(&args.db)))?;
    let (trigger, shutdown) = Shutdown::new();
    let state = AppState {
        max_body_bytes: args.max_body_bytes,
        body_timeout: args.body_timeout.unwrap_or(DEFAULT_BODY_TIMEOUT),
        shutdown: shutdown.clone(),
        ..AppState::new(backend.clone(), auth, limits)
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let open = state.auth.is_open();
    if open && !addr.ip().is_loopback() {
        tracing::warn!(%addr, "open mode (no token file) on a non-loopback address (--allow-open)");
    }
    eprintln!(
        "eventfold-server: store {} ({}) listening on http://{addr}{}",
        backend.store_id(),
        redact(&args.db),
        if open {
            " (no token file: open access)"
        } else {
            ""
        }
    );
    tokio::spawn(async move {
        listen::os_signal().await;
        tracing::info!("shutting down");
        trigger.trigger();
    });
    listen::serve(listener, app(state), args.listen_options(), shutdown).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;

    fn args(s: &str) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("eventfold-server").chain(s.split_whitespace()))
    }

    #[test]
    fn arguments_parse_and_bad_ones_are_explained() {
        let a = args(
            "--db x.sqlite --listen 127.0.0.1:0 --tokens t.json --max-body-bytes 10 --allow-open \
             --max-connections 7 --header-timeout 0.5 --body-timeout 2 --log-level warn",
        )
        .unwrap();
        assert_eq!(
            (a.db.as_str(), a.listen.port(), a.max_body_bytes),
            ("x.sqlite", 0, 10)
        );
        assert!(a.tokens.is_some() && a.allow_open);
        assert_eq!(a.listen_options().max_connections, 7);
        assert_eq!(
            a.listen_options().header_timeout,
            Duration::from_millis(500)
        );
        assert_eq!(a.body_timeout, Some(Duration::from_secs(2)));
        assert_eq!(a.log_level(), tracing::Level::WARN);
        for bad in [
            "--max-connections 0",
            "--body-timeout -1",
            "--log-level loud",
            "--listen nowhere",
        ] {
            let e = args(bad).map(|_| ()).unwrap_err();
            assert!(
                matches!(
                    e.kind(),
                    ErrorKind::ValueValidation | ErrorKind::InvalidValue
                ),
                "{bad}: {e}"
            );
            let flag = bad.split_whitespace().next().unwrap_or_default();
            assert!(e.to_string().contains(flag), "{bad}: {e}");
        }
        let e = args("--bogus").map(|_| ()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnknownArgument);
        assert!(e.to_string().contains("--bogus"));
        let e = args("--db").map(|_| ()).unwrap_err();
        assert!(e.to_string().contains("--db"), "{e}");
        assert_eq!(
            redact("postgres://u:secret@h:5432/d"),
            "postgres://…@h:5432/d"
        );
        assert_eq!(redact("./data.sqlite"), "./data.sqlite");
    }

    #[test]
    fn defaults_and_the_equals_form() {
        let a = args("").unwrap();
        assert_eq!(a.db, "./data.sqlite");
        assert_eq!(a.listen, SocketAddr::from(([127, 0, 0, 1], 8787)));
        assert_eq!(a.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
        assert_eq!(a.listen_options(), ListenOptions::default());
        assert_eq!(
            (a.tokens, a.allow_open, a.body_timeout),
            (None, false, None)
        );
        let a = args("--db=./other.sqlite --listen=127.0.0.1:9000 --log-level=debug").unwrap();
        assert_eq!((a.db.as_str(), a.listen.port()), ("./other.sqlite", 9000));
        assert_eq!(a.log_level(), tracing::Level::DEBUG);
    }

    #[test]
    fn help_and_version() {
        let e = args("--help").map(|_| ()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::DisplayHelp);
        let help = e.to_string();
        for line in [
            "--db <PATH|URL>",
            "[env: EVENTFOLD_DB=]",
            "[env: EVENTFOLD_TOKENS=]",
            "--version",
        ] {
            assert!(help.contains(line), "--help shows {line}:\n{help}");
        }
        let e = args("--version").map(|_| ()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::DisplayVersion);
        assert!(e.to_string().contains(env!("CARGO_PKG_VERSION")));
    }

    #[test]
    fn the_command_definition_is_consistent() {
        use clap::CommandFactory;
        Args::command().debug_assert();
    }
}
