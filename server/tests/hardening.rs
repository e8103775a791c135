//! The binary as an operator and an attacker meet it (issue 14): shutdown with live clients,
//! start-up failures, open mode, timeouts, the connection limit, logs, error bodies, the
//! SQLite file lock. Every test runs the real `eventfold-server` process.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod binary;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use binary::*;

#[test]
fn sigint_with_live_clients_exits_promptly_and_cleanly() {
    let dir = TempDir::new("shutdown");
    let mut p = start(&["--db", &dir.path("db.sqlite"), "--listen", "127.0.0.1:0"]);
    let mut lives = Vec::new();
    for _ in 0..3 {
        let mut s = connect(&p.addr);
        s.write_all(request("GET", "/v1/live", &p.addr, &[], "").as_bytes())
            .unwrap();
        let mut first = [0u8; 64];
        assert!(s.read(&mut first).unwrap() > 0, "the live stream answers");
        lives.push(s);
    }
    let sent = Instant::now();
    signal(&p.child, "INT");
    let status = wait_exit(&mut p.child, Duration::from_secs(20))
        .expect("the server exits while live clients stay connected");
    assert!(status.success(), "{status}");
    assert!(
        sent.elapsed() < Duration::from_secs(20),
        "exit within the grace period"
    );
    // The live streams were ended by the server (EOF), not cut by a crash.
    for mut s in lives {
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
    }
    let log = p.stderr.lock().unwrap().clone();
    assert!(log.contains("shutting down"), "{log}");
    // The database is usable (and unlocked) afterwards.
    let again = start(&["--db", &dir.path("db.sqlite"), "--listen", "127.0.0.1:0"]);
    assert_eq!(head(&again), 0);
}

#[test]
fn sigterm_is_a_graceful_shutdown_too() {
    let dir = TempDir::new("sigterm");
    let mut p = start(&["--db", &dir.path("db.sqlite"), "--listen", "127.0.0.1:0"]);
    assert_eq!(
        post(&p, "/v1/push", None, &push_body("s-1", 0..3)).status,
        200
    );
    signal(&p.child, "TERM");
    let status = wait_exit(&mut p.child, Duration::from_secs(20)).expect("exits");
    assert!(status.success(), "{status}");
    let again = start(&["--db", &dir.path("db.sqlite"), "--listen", "127.0.0.1:0"]);
    assert_eq!(head(&again), 3);
}

#[test]
fn start_up_failures_print_their_cause_and_exit_non_zero() {
    let dir = TempDir::new("startup");
    let bad_tokens = dir.path("tokens.json");
    std::fs::write(&bad_tokens, r#"{"tokens":{"t":{"reads":[""]}}}"#).unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        // Nothing listens on port 1: the real cause is printed, no panic.
        (
            vec!["--db".into(), "postgres://u:secret@127.0.0.1:1/nope".into()],
            "Connection refused",
        ),
        (vec!["--db".into(), String::new()], "--db is empty"),
        (vec!["--db".into(), ":memory:".into()], "in-memory"),
        (
            vec!["--db".into(), "file:x?mode=memory&cache=shared".into()],
            "in-memory",
        ),
        (
            vec!["--db".into(), dir.path("no/such/dir/db.sqlite")],
            "unable to open database file",
        ),
        (
            vec![
                "--db".into(),
                dir.path("db.sqlite"),
                "--tokens".into(),
                bad_tokens.clone(),
            ],
            "unknown field `reads`",
        ),
        (
            vec![
                "--db".into(),
                dir.path("db.sqlite"),
                "--listen".into(),
                "0.0.0.0:0".into(),
            ],
            "--allow-open",
        ),
    ];
    for (args, cause) in cases {
        let mut full: Vec<&str> = args.iter().map(String::as_str).collect();
        if !args.iter().any(|a| a == "--listen") {
            full.extend(["--listen", "127.0.0.1:0"]);
        }
        let (status, stderr) = run_to_exit(&full);
        assert_eq!(status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(cause), "{args:?}: {cause:?} in {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.contains("secret"), "credentials stay out: {stderr}");
    }
    assert!(
        !std::path::Path::new(&dir.path("db.sqlite")).exists(),
        "nothing was created by a refused start"
    );
}

#[test]
fn open_mode_on_a_public_address_needs_allow_open() {
    let dir = TempDir::new("allowopen");
    let p = start(&[
        "--db",
        &dir.path("db.sqlite"),
        "--listen",
        "0.0.0.0:0",
        "--allow-open",
    ]);
    let log = p.stderr.lock().unwrap().clone();
    assert!(log.contains("open mode"), "{log}");
}

#[test]
fn open_mode_refuses_rebindable_hosts_and_non_json_writes() {
    let dir = TempDir::new("openmode");
    let p = start(&["--db", &dir.path("db.sqlite"), "--listen", "127.0.0.1:0"]);
    let body = push_body("s-1", 0..1);
    // A page on evil.example posting text/plain (a "simple" request, no CORS preflight).
    let forged = exchange(
        &p.addr,
        &request(
            "POST",
            "/v1/push",
            &p.addr,
            &[
                ("Content-Type", "text/plain"),
                ("Origin", "http://evil.example"),
            ],
            &body,
        ),
    );
    assert_eq!(forged.status, 415, "{forged:?}");
    assert_eq!(forged.json()["code"], "INVALID_INPUT");
    // DNS rebinding: the browser sends the attacker's host name.
    for host in [
        "evil.example",
        "evil.example:8787",
        "localhost.evil.example",
    ] {
        let r = exchange(
            &p.addr,
            &request(
                "POST",
                "/v1/push",
                host,
                &[("Content-Type", "application/json")],
                &body,
            ),
        );
        assert_eq!(r.status, 403, "{host}: {r:?}");
        assert_eq!(r.json()["code"], "FORBIDDEN");
        let r = exchange(&p.addr, &request("GET", "/v1/health", host, &[], ""));
        assert_eq!(r.status, 403, "{host}");
    }
    assert_eq!(head(&p), 0, "nothing was written");
    for host in ["localhost", "127.0.0.1", &p.addr] {
        let r = exchange(&p.addr, &request("GET", "/v1/health", host, &[], ""));
        assert_eq!(r.status, 200, "{host}");
    }
    assert_eq!(post(&p, "/v1/push", None, &body).status, 200);
    assert_eq!(head(&p), 1);
    let log = p.stderr.lock().unwrap().clone();
    assert!(
        log.contains("request refused") && log.contains("status=403"),
        "refusals are logged: {log}"
    );
    assert!(log.contains("path=/v1/push status=200"), "{log}");
}

#[test]
fn with_tokens_any_host_is_served_but_writes_still_need_json() {
    let dir = TempDir::new("tokens");
    let tokens = dir.path("tokens.json");
    std::fs::write(&tokens, r#"{"tokens":{"t":{"read":[""],"write":[""]}}}"#).unwrap();
    let p = start(&[
        "--db",
        &dir.path("db.sqlite"),
        "--listen",
        "127.0.0.1:0",
        "--tokens",
        &tokens,
    ]);
    let r = exchange(
        &p.addr,
        &request("GET", "/v1/health", "sync.example.com", &[], ""),
    );
    assert_eq!(r.status, 200);
    let r = exchange(
        &p.addr,
        &request(
            "POST",
            "/v1/push",
            &p.addr,
            &[
                ("Content-Type", "text/plain"),
                ("Authorization", "Bearer t"),
            ],
            &push_body("s-1", 0..1),
        ),
    );
    assert_eq!(r.status, 415);
    assert_eq!(head(&p), 0);
}

#[test]
fn every_error_body_is_json() {
    let dir = TempDir::new("errors");
    let p = start(&["--db", &dir.path("db.sqlite"), "--listen", "127.0.0.1:0"]);
    for (method, path, status) in [
        ("GET", "/v1/streams/%FF%FE", 400),
        ("GET", "/v1/push", 405),
        ("DELETE", "/v1/pull", 405),
        ("PUT", "/v1/health", 405),
        ("GET", "/nowhere", 404),
    ] {
        let r = exchange(&p.addr, &request(method, path, &p.addr, &[], ""));
        assert_eq!(r.status, status, "{method} {path}: {r:?}");
        assert_eq!(
            r.header("content-type").as_deref(),
            Some("application/json"),
            "{method} {path}"
        );
        let code = r.json()["code"].as_str().unwrap().to_owned();
        assert!(!code.is_empty(), "{method} {path}");
    }
}

#[test]
fn slow_headers_and_slow_bodies_are_cut_off() {
    let dir = TempDir::new("timeouts");
    let p = start(&[
        "--db",
        &dir.path("db.sqlite"),
        "--listen",
        "127.0.0.1:0",
        "--header-timeout",
        "0.5",
        "--body-timeout",
        "0.5",
    ]);
    // Partial headers: the server closes the connection (it would wait forever on main).
    let mut s = connect(&p.addr);
    s.write_all(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = Vec::new();
    let read = s.read_to_end(&mut buf);
    assert!(
        read.is_ok(),
        "the server closed the connection (not our 10 s read timeout): {read:?}"
    );
    // A partial body: 408 with a JSON error, nothing written.
    let body = push_body("s-1", 0..1);
    let mut s = connect(&p.addr);
    let head_only = request(
        "POST",
        "/v1/push",
        &p.addr,
        &[("Content-Type", "application/json")],
        &body,
    );
    let cut = head_only.len() - body.len() / 2;
    s.write_all(&head_only.as_bytes()[..cut]).unwrap();
    let r = read_answer(&mut s);
    assert_eq!(r.status, 408, "{r:?}");
    assert_eq!(r.json()["code"], "NETWORK");
    assert_eq!(head(&p), 0);
}

#[test]
fn connections_beyond_the_limit_wait_and_the_server_survives() {
    let dir = TempDir::new("connlimit");
    let p = start(&[
        "--db",
        &dir.path("db.sqlite"),
        "--listen",
        "127.0.0.1:0",
        "--max-connections",
        "4",
        "--header-timeout",
        "60",
    ]);
    // Four sockets holding partial headers take every slot.
    let mut held: Vec<_> = (0..4)
        .map(|_| {
            let mut s = connect(&p.addr);
            s.write_all(b"GET /v1/health HTTP/1.1\r\n").unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut waiting = connect(&p.addr);
    waiting
        .write_all(request("GET", "/v1/health", &p.addr, &[], "").as_bytes())
        .unwrap();
    waiting
        .set_read_timeout(Some(Duration::from_millis(700)))
        .unwrap();
    let mut one = [0u8; 1];
    assert!(
        waiting.read(&mut one).is_err(),
        "a fifth connection is not served while four are open"
    );
    drop(held.pop());
    waiting
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let r = read_answer(&mut waiting);
    assert_eq!(r.status, 200, "served once a slot is free");
    let log = p.stderr.lock().unwrap().clone();
    assert!(log.contains("connection limit reached"), "{log}");
}

#[test]
fn a_second_server_on_the_same_sqlite_file_is_refused() {
    let dir = TempDir::new("lock");
    let db = dir.path("db.sqlite");
    let first = start(&["--db", &db, "--listen", "127.0.0.1:0"]);
    assert_eq!(
        post(&first, "/v1/push", None, &push_body("s-1", 0..2)).status,
        200
    );
    let (status, stderr) = run_to_exit(&["--db", &db, "--listen", "127.0.0.1:0"]);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("in use by another process"), "{stderr}");
    // The first one is unaffected.
    assert_eq!(
        post(&first, "/v1/push", None, &push_body("s-2", 2..3)).status,
        200
    );
    assert_eq!(head(&first), 3);
}
