//! Issue 14's protocol-level reproductions against the real binary: detected durable loss,
//! answers capped in bytes, errors and heads kept inside a token's scope, health answered
//! during a heavy push, and the shared input rules (numbers, nesting, bidi controls, id case).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod binary;

use std::time::{Duration, Instant};

use binary::*;
use serde_json::{json, Value};

fn push_one(p: &Proc, token: Option<&str>, stream: &str, id: &str, data: Value) -> Raw {
    let body = json!({"v": 1, "streams": [{"stream": stream, "expectedVersion": "any",
        "events": [{"id": id, "type": "T", "data": data, "metadata": {}}]}]});
    post(p, "/v1/push", token, &body.to_string())
}

fn pull(p: &Proc, token: Option<&str>, after: &Value) -> Raw {
    post(
        p,
        "/v1/pull",
        token,
        &json!({"v": 1, "after": after, "limit": 5000}).to_string(),
    )
}

fn stop(p: &mut Proc) {
    signal(&p.child, "TERM");
    assert!(wait_exit(&mut p.child, Duration::from_secs(20)).is_some());
}

fn copy_db(from: &TempDir, to: &TempDir) {
    for name in ["db.sqlite", "db.sqlite-wal"] {
        let src = from.0.join(name);
        let dst = to.0.join(name);
        let _ = std::fs::remove_file(&dst);
        if src.exists() {
            std::fs::copy(src, dst).unwrap();
        }
    }
}

#[test]
fn a_server_that_lost_acknowledged_events_answers_checkpoint_mismatch() {
    let live = TempDir::new("loss");
    let backup = TempDir::new("loss-backup");
    let db = live.path("db.sqlite");
    let mut p = start(&["--db", &db, "--listen", "127.0.0.1:0"]);
    for n in 0..23 {
        assert_eq!(
            push_one(&p, None, "s-1", &uuid(n), json!({"n": n})).status,
            200
        );
    }
    stop(&mut p);
    copy_db(&live, &backup); // the backup at head 23
    let mut p = start(&["--db", &db, "--listen", "127.0.0.1:0"]);
    for n in 23..50 {
        assert_eq!(
            push_one(&p, None, "s-1", &uuid(n), json!({"n": n})).status,
            200
        );
    }
    let page = pull(&p, None, &Value::Null).json();
    assert_eq!(page["events"].as_array().unwrap().len(), 50);
    let checkpoint = page["checkpoint"].clone();
    assert_eq!(checkpoint["position"], 50);
    assert!(checkpoint["mark"].is_string(), "{checkpoint}");
    stop(&mut p);
    // Acknowledged events 24..50 are lost: the database goes back to the backup.
    copy_db(&backup, &live);
    let p = start(&["--db", &db, "--listen", "127.0.0.1:0"]);
    assert_eq!(head(&p), 23);
    for n in 100..140 {
        assert_eq!(
            push_one(&p, None, "s-2", &uuid(n), json!({"n": n})).status,
            200
        );
    }
    assert_eq!(head(&p), 63);
    // On main this answered 200 with positions 51..63: the client never saw 24..50 again.
    let r = pull(&p, None, &checkpoint);
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(r.json()["code"], "CHECKPOINT_MISMATCH");
    assert!(r.body.contains("lost acknowledged events"), "{}", r.body);
    // A fresh pull (what the client does after CHECKPOINT_MISMATCH) sees the whole log.
    let again = pull(&p, None, &Value::Null).json();
    assert_eq!(again["events"].as_array().unwrap().len(), 63);
    // A checkpoint at the same position whose event is still there passes.
    let good = pull(&p, None, &again["checkpoint"]);
    assert_eq!(good.status, 200);
    assert_eq!(good.json()["events"].as_array().unwrap().len(), 0);
}

#[test]
fn answers_are_capped_in_bytes_and_more_stays_right() {
    let dir = TempDir::new("cap");
    let p = start(&["--db", &dir.path("db.sqlite"), "--listen", "127.0.0.1:0"]);
    let big = "x".repeat(900_000);
    for n in 0..12 {
        assert_eq!(
            push_one(&p, None, "big-1", &uuid(n), json!(big)).status,
            200
        );
    }
    let mut after = Value::Null;
    let mut positions = Vec::new();
    let mut pages = 0;
    loop {
        let r = pull(&p, None, &after);
        assert_eq!(r.status, 200);
        assert!(
            r.body.len() < 4 * 1024 * 1024 + 1_000_000,
            "page of {} bytes",
            r.body.len()
        );
        let page = r.json();
        pages += 1;
        positions.extend(
            page["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["position"].as_u64().unwrap()),
        );
        after = page["checkpoint"].clone();
        if page["more"] == false {
            break;
        }
        assert!(pages < 20);
    }
    assert_eq!(positions, (1..=12).collect::<Vec<_>>(), "no gap, no repeat");
    assert_eq!(pages, 3, "4 events of 900 kB per 4 MiB answer");
    // One stream's read is capped too.
    let r = get(&p, "/v1/streams/big-1?limit=100", None);
    assert_eq!(r.json()["events"].as_array().unwrap().len(), 4);
    assert_eq!(r.json()["version"], 12);
}

#[test]
fn nothing_tells_a_token_about_streams_outside_its_scope() {
    let dir = TempDir::new("scope");
    let tokens = dir.path("tokens.json");
    std::fs::write(
        &tokens,
        r#"{"tokens":{"ta":{"read":["a-"],"write":["a-"]},"tb":{"read":["b-"],"write":["b-"]}}}"#,
    )
    .unwrap();
    let p = start(&[
        "--db",
        &dir.path("db.sqlite"),
        "--listen",
        "127.0.0.1:0",
        "--tokens",
        &tokens,
    ]);
    assert_eq!(
        push_one(&p, Some("ta"), "a-1", &uuid(1), json!(1)).status,
        200
    );
    for n in 10..20 {
        assert_eq!(
            push_one(&p, Some("tb"), "b-1", &uuid(n), json!(n)).status,
            200
        );
    }
    // Tenant a reuses an id of tenant b's stream.
    let r = push_one(&p, Some("ta"), "a-1", &uuid(15), json!("x"));
    assert_eq!(r.status, 200);
    let result = &r.json()["results"][0]["error"];
    assert_eq!(result["code"], "EVENT_ID_CONFLICT");
    assert!(!r.body.contains("b-1"), "{}", r.body);
    // a's pull: its event, and a head and checkpoint that do not move with b's writes.
    let page = pull(&p, Some("ta"), &Value::Null).json();
    assert_eq!(page["events"].as_array().unwrap().len(), 1);
    assert_eq!(page["head"], 1, "{page}");
    assert_eq!(page["checkpoint"]["position"], 1);
    for n in 20..25 {
        push_one(&p, Some("tb"), "b-1", &uuid(n), json!(n));
    }
    let next = pull(&p, Some("ta"), &page["checkpoint"]).json();
    assert_eq!(
        (
            next["head"].clone(),
            next["events"].as_array().unwrap().len()
        ),
        (json!(1), 0)
    );
    // A checkpoint beyond the head is refused without telling the head.
    let mut beyond = page["checkpoint"].clone();
    beyond["position"] = json!(1000);
    beyond.as_object_mut().unwrap().remove("mark");
    let r = pull(&p, Some("ta"), &beyond);
    assert_eq!(r.status, 409);
    assert!(
        r.body.contains("(beyond this store's head)") && !r.body.contains("head 16"),
        "no head number: {}",
        r.body
    );
}

#[test]
fn health_and_pulls_are_served_while_a_long_push_runs() {
    let dir = TempDir::new("busy");
    let p = start(&["--db", &dir.path("db.sqlite"), "--listen", "127.0.0.1:0"]);
    let n = 1500;
    let streams: Vec<Value> = (0..n)
        .map(|i| {
            json!({"stream": format!("s-{i}"), "expectedVersion": "any",
            "events": [{"id": uuid(i), "type": "T", "data": {}, "metadata": {}}]})
        })
        .collect();
    let body = json!({"v": 1, "streams": streams}).to_string();
    let addr = p.addr.clone();
    let started = Instant::now();
    let pusher = std::thread::spawn(move || {
        let r = exchange(
            &addr,
            &request(
                "POST",
                "/v1/push",
                &addr,
                &[("Content-Type", "application/json")],
                &body,
            ),
        );
        (r.status, started.elapsed())
    });
    let mut between = Vec::new();
    let mut slowest = Duration::ZERO;
    while !pusher.is_finished() {
        let asked = Instant::now();
        let h = head(&p);
        slowest = slowest.max(asked.elapsed());
        if h > 0 && h < u64::from(n) {
            between.push(h);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let (status, push_took) = pusher.join().unwrap();
    assert_eq!(status, 200);
    assert_eq!(head(&p), u64::from(n));
    eprintln!(
        "push of {n} one-event streams took {push_took:?}; {} health answers during it, slowest {slowest:?}",
        between.len()
    );
    // On main the push held the store thread for its whole duration: health saw 0 or n.
    assert!(
        between.len() >= 3,
        "health answered mid-push only {} times",
        between.len()
    );
}

#[test]
fn unsafe_numbers_deep_nesting_and_bidi_names_are_invalid_input_and_ids_are_lower_case() {
    let dir = TempDir::new("input");
    let p = start(&["--db", &dir.path("db.sqlite"), "--listen", "127.0.0.1:0"]);
    let raw = |stream: &str, data: &str| {
        post(
            &p,
            "/v1/push",
            None,
            &format!(
                r#"{{"v":1,"streams":[{{"stream":{},"expectedVersion":"any","events":[{{"id":"{}","type":"T","data":{data},"metadata":{{}}}}]}}]}}"#,
                serde_json::to_string(stream).unwrap(),
                uuid(1)
            ),
        )
    };
    let deep = format!("{}1{}", "[".repeat(100), "]".repeat(100));
    let very_deep = format!("{}{}", "[".repeat(524_000), "]".repeat(524_000));
    for (stream, data) in [
        ("s-1", "1e400"),
        ("s-1", r#"{"big":-1e999}"#),
        ("s-1", "12345678901234567890"),
        ("s-1", deep.as_str()),
        ("s-1\u{202E}", "1"),
        ("s-\u{2066}1", "1"),
    ] {
        let r = raw(stream, data);
        assert_eq!(r.status, 400, "{stream:?} {}", &data[..data.len().min(30)]);
        assert_eq!(r.json()["code"], "INVALID_INPUT", "{}", r.body);
    }
    // Half a million levels: refused (over the body limit or by depth), never stored.
    let r = raw("s-1", &very_deep);
    assert!(matches!(r.status, 400 | 413), "{}", r.status);
    assert_eq!(head(&p), 0, "nothing written");
    // Ids differing only in case are one event.
    let upper = "ABCDEF01-2345-4789-ABCD-EF0123456789";
    assert_eq!(push_one(&p, None, "s-1", upper, json!(1)).status, 200);
    let again = push_one(&p, None, "s-1", &upper.to_lowercase(), json!(1));
    assert_eq!(
        again.json()["results"][0]["ok"]["version"],
        1,
        "{}",
        again.body
    );
    assert_eq!(head(&p), 1);
    let page = pull(&p, None, &Value::Null).json();
    assert_eq!(page["events"][0]["id"], upper.to_lowercase());
}

#[test]
fn a_damaged_sqlite_file_serves_reads_but_refuses_writes() {
    let dir = TempDir::new("damaged");
    let db = dir.path("db.sqlite");
    let mut p = start(&["--db", &db, "--listen", "127.0.0.1:0"]);
    for n in 0..50 {
        push_one(&p, None, &format!("s-{n}"), &uuid(n), json!({"n": n}));
    }
    stop(&mut p);
    // Fold the WAL into the file, then damage one page of an index of the events table.
    let root: i64 = {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
        c.query_row(
            "SELECT rootpage FROM sqlite_master WHERE name = 'sqlite_autoindex_events_2'",
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::fs::OpenOptions::new().write(true).open(&db).unwrap();
        let page = (root as u64 - 1) * 4096;
        f.seek(SeekFrom::Start(page)).unwrap();
        f.write_all(&[0x0a, 0, 0, 0, 0x40, 0xff, 0xff, 0xff])
            .unwrap();
        f.seek(SeekFrom::Start(page + 4096 - 300)).unwrap();
        f.write_all(&[0xff; 300]).unwrap();
    }
    let p = start(&["--db", &db, "--listen", "127.0.0.1:0"]);
    // On main the server took this write into a file SQLite reports malformed.
    let r = push_one(&p, None, "s-new", &uuid(999), json!(1));
    assert_eq!(r.status, 500, "{}", r.body);
    assert_eq!(r.json()["code"], "CORRUPT_DATA");
    assert_eq!(head(&p), 50, "nothing written");
    let page = pull(&p, None, &Value::Null).json();
    assert_eq!(page["events"].as_array().unwrap().len(), 50, "reads go on");
    let log = p.stderr.lock().unwrap().clone();
    assert!(log.contains("database is damaged"), "{log}");
}
