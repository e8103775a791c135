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
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(args)
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
        args.db,
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
