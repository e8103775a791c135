//! The real `eventfold-server` binary as a child process, and raw HTTP/1.1 over std sockets
//! (so a test controls every byte: partial headers, slow bodies, odd `Host` headers).
#![allow(dead_code, missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_eventfold-server");

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        use std::hash::BuildHasher;
        let n = std::collections::hash_map::RandomState::new().hash_one(Instant::now());
        let dir = std::env::temp_dir().join(format!("eventfold-{tag}-{n:016x}"));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    pub fn path(&self, name: &str) -> String {
        self.0.join(name).to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running server process; killed on drop if still running.
pub struct Proc {
    pub child: Child,
    pub stderr: Arc<Mutex<String>>,
    pub addr: String,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn collect(child: &mut Child) -> Arc<Mutex<String>> {
    let out = Arc::new(Mutex::new(String::new()));
    let stderr = child.stderr.take().unwrap();
    let sink = out.clone();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stderr);
        let mut line = String::new();
        while lines.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
            sink.lock().unwrap().push_str(&line);
            line.clear();
        }
    });
    out
}

/// Starts the binary with `args` and waits until it listens.
pub fn start(args: &[&str]) -> Proc {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = collect(&mut child);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = stderr.lock().unwrap().clone();
        if let Some(i) = text.find("listening on http://") {
            let rest = &text[i + "listening on http://".len()..];
            let addr = rest.split_whitespace().next().unwrap().to_owned();
            return Proc {
                child,
                stderr,
                addr,
            };
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the server exited ({status}) before listening:\n{text}");
        }
        assert!(
            Instant::now() < deadline,
            "not listening after 30 s:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs the binary with `args` and expects it to exit by itself within 30 s: its status and
/// what it printed on stderr.
pub fn run_to_exit(args: &[&str]) -> (ExitStatus, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = collect(&mut child);
    let status = wait_exit(&mut child, Duration::from_secs(30)).expect("exits by itself");
    std::thread::sleep(Duration::from_millis(50));
    let text = stderr.lock().unwrap().clone();
    (status, text)
}

/// Waits up to `limit` for the child to exit.
pub fn wait_exit(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// Sends `signal` (`INT`, `TERM`, `KILL`) to the process.
pub fn signal(child: &Child, signal: &str) {
    let ok = Command::new("kill")
        .args([format!("-{signal}"), child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{signal}");
}

/// An HTTP answer read off a raw socket.
#[derive(Debug)]
pub struct Raw {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl Raw {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {:?}", self.body))
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }
}

/// Connects with a read timeout.
pub fn connect(addr: &str) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s
}

/// Sends `request` as is (one request, `Connection: close` expected in it) and reads the
/// whole answer.
pub fn exchange(addr: &str, request: &str) -> Raw {
    let mut s = connect(addr);
    s.write_all(request.as_bytes()).unwrap();
    read_answer(&mut s)
}

/// Reads an answer up to the connection's end.
pub fn read_answer(s: &mut TcpStream) -> Raw {
    let mut bytes = Vec::new();
    let _ = s.read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {text:?}"));
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Raw {
        status,
        head: head.to_owned(),
        body,
    }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// A request text.
pub fn request(
    method: &str,
    path: &str,
    host: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> String {
    let mut r = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (k, v) in headers {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    if method == "POST" {
        r.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    r.push_str("\r\n");
    r.push_str(body);
    r
}

/// `GET path` on the server's own address as `Host`.
pub fn get(p: &Proc, path: &str, token: Option<&str>) -> Raw {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    exchange(&p.addr, &request("GET", path, &p.addr, &headers, ""))
}

/// `POST path` with a JSON body.
pub fn post(p: &Proc, path: &str, token: Option<&str>, body: &str) -> Raw {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(a) = &auth {
        headers.push(("Authorization", a.as_str()));
    }
    exchange(&p.addr, &request("POST", path, &p.addr, &headers, body))
}

/// The store's head, from `/v1/health`.
pub fn head(p: &Proc) -> u64 {
    get(p, "/v1/health", None).json()["head"].as_u64().unwrap()
}

/// A UUID for test event `n`.
pub fn uuid(n: u32) -> String {
    format!("{n:08x}-0000-4000-8000-000000000000")
}

/// A push body of events `ns` to `stream`, expected version `any`.
pub fn push_body(stream: &str, ns: std::ops::Range<u32>) -> String {
    let events: Vec<serde_json::Value> = ns
        .map(|n| serde_json::json!({"id": uuid(n), "type": "Added", "data": {"n": n}, "metadata": {}}))
        .collect();
    serde_json::json!({"v": 1, "streams": [{"stream": stream, "expectedVersion": "any", "events": events}]})
        .to_string()
}
