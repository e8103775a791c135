//! `eventfold-server --db ./data.sqlite --listen 127.0.0.1:8787 [--tokens tokens.json]
//! [--allow-open] [--max-body-bytes N] [--max-connections N] [--header-timeout SECS]
//! [--body-timeout SECS] [--log-level error|warn|info|debug]`
//!
//! Arguments are parsed by hand: a handful of flags do not justify a parser dependency.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use eventfold::sync::serve::ServeLimits;
use eventfold_server::listen::{self, ListenOptions, Shutdown};
use eventfold_server::{
    app, open_backend, AppState, Auth, DEFAULT_BODY_TIMEOUT, DEFAULT_MAX_BODY_BYTES,
};

const USAGE: &str = "usage: eventfold-server [--db ./data.sqlite] [--listen 127.0.0.1:8787] \
[--tokens tokens.json] [--allow-open] [--max-body-bytes N] [--max-connections N] \
[--header-timeout SECS] [--body-timeout SECS] [--log-level error|warn|info|debug]";

#[derive(Debug)]
struct Args {
    db: String,
    listen: SocketAddr,
    tokens: Option<PathBuf>,
    allow_open: bool,
    max_body_bytes: usize,
    listen_options: ListenOptions,
    body_timeout: Duration,
    log_level: tracing::Level,
}

fn seconds(flag: &str, value: &str) -> Result<Duration, String> {
    value
        .parse::<f64>()
        .ok()
        .filter(|s| *s > 0.0)
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| format!("{flag} {value}: not a positive number of seconds"))
}

fn number(flag: &str, value: &str) -> Result<usize, String> {
    value
        .parse::<usize>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{flag} {value}: not a positive integer"))
}

fn parse(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut args = Args {
        db: "./data.sqlite".into(),
        listen: SocketAddr::from(([127, 0, 0, 1], 8787)),
        tokens: None,
        allow_open: false,
        max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        listen_options: ListenOptions::default(),
        body_timeout: DEFAULT_BODY_TIMEOUT,
        log_level: tracing::Level::INFO,
    };
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--help" | "-h" => return Err(USAGE.into()),
            "--allow-open" => {
                args.allow_open = true;
                continue;
            }
            "--db" | "--listen" | "--tokens" | "--max-body-bytes" | "--max-connections"
            | "--header-timeout" | "--body-timeout" | "--log-level" => {}
            _ => return Err(format!("unknown argument {flag}\n{USAGE}")),
        }
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--db" => args.db = value,
            "--listen" => {
                args.listen = value
                    .parse()
                    .map_err(|e| format!("--listen {value}: {e}"))?
            }
            "--tokens" => args.tokens = Some(PathBuf::from(value)),
            "--max-body-bytes" => args.max_body_bytes = number(&flag, &value)?,
            "--max-connections" => args.listen_options.max_connections = number(&flag, &value)?,
            "--header-timeout" => args.listen_options.header_timeout = seconds(&flag, &value)?,
            "--body-timeout" => args.body_timeout = seconds(&flag, &value)?,
            "--log-level" => {
                args.log_level = value
                    .parse()
                    .map_err(|_| format!("--log-level {value}: one of error, warn, info, debug"))?
            }
            _ => return Err(format!("unknown argument {flag}\n{USAGE}")),
        }
    }
    Ok(args)
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
    let args = parse(std::env::args().skip(1))?;
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(args.log_level)
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
        body_timeout: args.body_timeout,
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
    listen::serve(listener, app(state), args.listen_options, shutdown).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Result<Args, String> {
        parse(s.split_whitespace().map(String::from))
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
        assert_eq!(a.listen_options.max_connections, 7);
        assert_eq!(a.listen_options.header_timeout, Duration::from_millis(500));
        assert_eq!(a.body_timeout, Duration::from_secs(2));
        assert_eq!(a.log_level, tracing::Level::WARN);
        assert!(args("--max-connections 0").is_err());
        assert!(args("--body-timeout -1").is_err());
        assert!(args("--log-level loud").is_err());
        assert!(args("--bogus")
            .unwrap_err()
            .starts_with("unknown argument --bogus"));
        assert!(args("--db").unwrap_err().starts_with("--db needs a value"));
        assert!(args("--listen nowhere").is_err());
        assert_eq!(
            redact("postgres://u:secret@h:5432/d"),
            "postgres://…@h:5432/d"
        );
        assert_eq!(redact("./data.sqlite"), "./data.sqlite");
    }
}
