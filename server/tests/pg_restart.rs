//! The binary on PostgreSQL while the database goes away and comes back (`pg_ctl stop`, then
//! `start`): health answers 503 during the outage, writes fail with 503 STORE_CLOSED (nothing
//! half-written), and after the restart the server reconnects by itself and the log stays
//! contiguous. Alone in its test binary: stopping PostgreSQL must not hit other tests.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod binary;
mod pg;

use std::process::Command;
use std::time::{Duration, Instant};

use binary::*;

fn pgctl(action: &str) {
    let ctl = std::env::var("EVENTFOLD_TEST_PG_CTL").expect("run through scripts/with-postgres");
    assert!(
        Command::new(&ctl).arg(action).status().unwrap().success(),
        "pgctl {action}"
    );
}

fn wait_for(p: &Proc, status: u16, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let r = get(p, "/v1/health", None);
        if r.status == status {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "health still {} ({}) after {limit:?}",
            r.status,
            r.body
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_server_rides_out_a_postgres_restart() {
    let Some(url) = pg::pg_url() else {
        return;
    };
    // A database of its own (the binary uses schema `public`).
    let db = pg::fresh_schema();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client
            .batch_execute(&format!("CREATE DATABASE {db}"))
            .await
            .unwrap();
    });
    let db_url = format!("{}/{db}", url.rsplit_once('/').unwrap().0);
    let p = start(&["--db", &db_url, "--listen", "127.0.0.1:0"]);
    assert_eq!(
        post(&p, "/v1/push", None, &push_body("s-1", 0..5)).status,
        200
    );
    assert_eq!(head(&p), 5);

    pgctl("stop");
    let noticed = wait_for(&p, 503, Duration::from_secs(10));
    let health = get(&p, "/v1/health", None);
    assert_eq!(health.json()["code"], "STORE_CLOSED", "{}", health.body);
    let refused = post(&p, "/v1/push", None, &push_body("s-2", 5..8));
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert_eq!(refused.json()["code"], "STORE_CLOSED");
    // The server keeps running through the outage (it did not exit or panic).
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(get(&p, "/v1/health", None).status, 503);

    pgctl("start");
    let back = wait_for(&p, 200, Duration::from_secs(30));
    assert_eq!(head(&p), 5, "nothing of the refused push was written");
    assert_eq!(
        post(&p, "/v1/push", None, &push_body("s-2", 5..8)).status,
        200
    );
    let pull = post(&p, "/v1/pull", None, r#"{"v":1}"#).json();
    let positions: Vec<u64> = pull["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["position"].as_u64().unwrap())
        .collect();
    assert_eq!(positions, (1..=8).collect::<Vec<_>>());
    // And a restart in one go (pg_ctl restart -m fast), the issue's reproduction.
    pgctl("restart");
    wait_for(&p, 200, Duration::from_secs(30));
    let mut ok = false;
    for _ in 0..50 {
        if post(&p, "/v1/push", None, &push_body("s-3", 8..9)).status == 200 {
            ok = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(ok, "pushes succeed again after a restart");
    assert_eq!(head(&p), 9);
    let log = p.stderr.lock().unwrap().clone();
    assert!(
        log.contains("postgres connection lost") && log.contains("postgres reconnected"),
        "{log}"
    );
    eprintln!("outage noticed by health in {noticed:?}; back {back:?} after start");
}
