//! Serving connections: HTTP/1.1 with a header read timeout, a connection limit and a bounded
//! graceful shutdown (what `axum::serve` does not expose).
//!
//! Each accepted connection takes a permit of a semaphore of [`ListenOptions::max_connections`]
//! permits; at the limit the server stops accepting (new connections wait in the kernel's
//! backlog) instead of running out of file descriptors. On shutdown the listener closes, every
//! connection is asked to finish its request in flight and close, live streams end (they watch
//! the same signal through [`Shutdown`]), and whatever is still open after
//! [`ListenOptions::shutdown_grace`] is dropped.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

/// Connection-level limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListenOptions {
    /// Most connections open at once (live streams included).
    pub max_connections: usize,
    /// Time a client has to send a request's headers (also between keep-alive requests).
    pub header_timeout: Duration,
    /// How long a shutdown waits for requests in flight before closing what is left.
    pub shutdown_grace: Duration,
}

/// Most connections by default, lowered to fit the process's file descriptor limit.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;

impl Default for ListenOptions {
    fn default() -> Self {
        ListenOptions {
            max_connections: default_max_connections(),
            header_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// [`DEFAULT_MAX_CONNECTIONS`], or the soft limit on open files less 64 (for the database, the
/// listener and logs) when that is lower. Linux only reads the limit (`/proc/self/limits`);
/// elsewhere the default stands.
pub fn default_max_connections() -> usize {
    let soft = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|n| n.parse::<usize>().ok())
        });
    match soft {
        Some(n) => DEFAULT_MAX_CONNECTIONS.min(n.saturating_sub(64).max(16)),
        None => DEFAULT_MAX_CONNECTIONS,
    }
}

/// The shutdown signal, shared by the accept loop, every connection and every live stream.
#[derive(Clone, Debug)]
pub struct Shutdown(watch::Receiver<bool>);

/// Starts shutting down everything holding the matching [`Shutdown`].
#[derive(Debug)]
pub struct ShutdownTrigger(watch::Sender<bool>);

impl Shutdown {
    /// A signal and its trigger.
    pub fn new() -> (ShutdownTrigger, Shutdown) {
        let (tx, rx) = watch::channel(false);
        (ShutdownTrigger(tx), Shutdown(rx))
    }

    /// A signal that never fires (for tests and embedders that stop by dropping the server).
    pub fn never() -> Shutdown {
        let (tx, rx) = watch::channel(false);
        std::mem::forget(tx);
        Shutdown(rx)
    }

    /// Whether shutdown has started.
    pub fn is_started(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once shutdown has started (or its trigger is gone).
    pub async fn started(&self) {
        let mut rx = self.0.clone();
        let _ = rx.wait_for(|s| *s).await;
    }
}

impl ShutdownTrigger {
    /// Starts the shutdown.
    pub fn trigger(&self) {
        self.0.send_replace(true);
    }
}

/// Serves `router` on `listener` until `shutdown` starts, then shuts down gracefully within
/// [`ListenOptions::shutdown_grace`].
pub async fn serve(
    listener: TcpListener,
    router: Router,
    options: ListenOptions,
    shutdown: Shutdown,
) {
    let permits = Arc::new(Semaphore::new(options.max_connections.max(1)));
    let total = u32::try_from(options.max_connections.max(1)).unwrap_or(u32::MAX);
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            _ = shutdown.started() => break,
        };
        let (socket, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and friends: wait a little instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.started() => break,
        };
        if permits.available_permits() == 0 {
            tracing::warn!(
                max = options.max_connections,
                "connection limit reached: new connections wait"
            );
        }
        let _ = socket.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(options.header_timeout)
                .keep_alive(true);
            let conn = builder.serve_connection(TokioIo::new(socket), service);
            let mut conn = std::pin::pin!(conn);
            let result = tokio::select! {
                r = conn.as_mut() => r,
                _ = shutdown.started() => {
                    conn.as_mut().graceful_shutdown();
                    conn.as_mut().await
                }
            };
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    // Every connection holds a permit until it closes: wait for all of them, bounded.
    let drained = tokio::time::timeout(options.shutdown_grace, permits.acquire_many(total)).await;
    if drained.is_err() {
        tracing::warn!(
            open = options.max_connections - permits.available_permits(),
            "shutdown grace period over: closing the connections still open"
        );
    }
}

/// Resolves on SIGINT or SIGTERM (SIGINT only where there is no SIGTERM).
pub async fn os_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
