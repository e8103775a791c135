//! `eventfold-server --db ./data.sqlite --listen 127.0.0.1:8787 [--tokens tokens.json]
//! [--max-body-bytes N]`
//!
//! Arguments are parsed by hand: four flags do not justify a parser dependency.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use eventfold::sync::serve::ServeLimits;
use eventfold_server::{app, open_backend, AppState, Auth, DEFAULT_MAX_BODY_BYTES};

const USAGE: &str = "usage: eventfold-server [--db ./data.sqlite] [--listen 127.0.0.1:8787] \
[--tokens tokens.json] [--max-body-bytes N]";

#[derive(Debug)]
struct Args {
    db: String,
    listen: SocketAddr,
    tokens: Option<PathBuf>,
    max_body_bytes: usize,
}

fn parse(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut args = Args {
        db: "./data.sqlite".into(),
        listen: SocketAddr::from(([127, 0, 0, 1], 8787)),
        tokens: None,
        max_body_bytes: DEFAULT_MAX_BODY_BYTES,
    };
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            return Err(USAGE.into());
        }
        if !["--db", "--listen", "--tokens", "--max-body-bytes"].contains(&flag.as_str()) {
            return Err(format!("unknown argument {flag}\n{USAGE}"));
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
            "--max-body-bytes" => {
                args.max_body_bytes = value
                    .parse()
                    .map_err(|e| format!("--max-body-bytes {value}: {e}"))?
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

#[tokio::main]
async fn main() {
    if let Err(message) = run().await {
        eprintln!("eventfold-server: {message}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), String> {
    let args = parse(std::env::args().skip(1))?;
    let auth = match &args.tokens {
        Some(path) => Auth::load(path).map_err(|e| e.to_string())?,
        None => Auth::Open,
    };
    let limits = ServeLimits::default();
    let backend = open_backend(&args.db, limits)
        .await
        .map_err(|e| e.to_string())?;
    let state = AppState {
        backend: backend.clone(),
        auth: Arc::new(auth),
        max_body_bytes: args.max_body_bytes,
        limits,
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    eprintln!(
        "eventfold-server: store {} ({}) listening on http://{addr}{}",
        backend.store_id(),
        redact(&args.db),
        if args.tokens.is_none() {
            " (no token file: open access)"
        } else {
            ""
        }
    );
    axum::serve(listener, app(state))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Result<Args, String> {
        parse(s.split_whitespace().map(String::from))
    }

    #[test]
    fn arguments_parse_and_bad_ones_are_explained() {
        let a =
            args("--db x.sqlite --listen 127.0.0.1:0 --tokens t.json --max-body-bytes 10").unwrap();
        assert_eq!(
            (a.db.as_str(), a.listen.port(), a.max_body_bytes),
            ("x.sqlite", 0, 10)
        );
        assert!(a.tokens.is_some());
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
