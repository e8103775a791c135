//! Property: clients doing random offline edits and syncing in random orders, through a
//! network that drops, duplicates and delays requests, converge to the server's log: same
//! ids, order and versions everywhere, nothing lost (every command is on the server exactly
//! once or was reported rejected exactly once), nothing duplicated. Half-way, the server is
//! replaced by a restore of its log under another store id (`CHECKPOINT_MISMATCH`): every
//! client re-syncs from scratch, and the same properties hold.

use std::collections::HashMap;

use super::*;

/// xorshift64*: a small deterministic generator, so a failing seed replays exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const STREAMS: [&str; 4] = ["cart-1", "cart-2", "log-1", "log-2"];
const FAULTS: [Fault; 5] = [
    Fault::None,
    Fault::DropRequest,
    Fault::DropResponse,
    Fault::Duplicate,
    Fault::Replay,
];

fn pending_with(device: &Device, tag: &str) -> usize {
    let set = now(device.replica().pending()).unwrap();
    let pending = set
        .streams
        .values()
        .flat_map(|p| p.events.iter().map(|e| &e.event));
    let rebasing = set
        .rebasing
        .values()
        .flatten()
        .flat_map(|b| b.events.iter());
    pending
        .chain(rebasing)
        .filter(|e| e.data.as_str() == tag)
        .count()
}

fn run(seed: u64) {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let old = Server::new();
    let restored = Server::with_id("server-2");
    let mut server = &old;
    let devices: Vec<Device> = (1..=3u8)
        .map(|tag| {
            // Pages of 1, 4 and 1000 events: multi-page pulls (each page's successor is
            // fetched while it is stored) meet the faults too.
            let pull_limit = [1, 4, 1000][usize::from(tag - 1)];
            let mut d = Device::with_options(
                tag,
                &[],
                SyncOptions {
                    pull_limit,
                    ..SyncOptions::default()
                },
            );
            d.strategies.push(("log-".into(), Strategy::Append));
            d.capacity = 6;
            d
        })
        .collect();
    let mut links: Vec<Link> = devices.iter().map(|_| Link::new(server)).collect();
    let mut resynced = [false; 3];
    let mut had_checkpoint = [false; 3];
    let mut issued: Vec<String> = Vec::new();
    let rejected: RefCell<HashMap<String, usize>> = RefCell::new(HashMap::new());
    let record = |device: &Device| {
        for r in device.rejected.borrow_mut().drain(..) {
            assert_eq!(
                r.error.code(),
                "DECIDER_REJECTED",
                "seed {seed}: {:?}",
                r.error
            );
            let tag = r
                .command
                .as_ref()
                .map(|c| c.as_str().to_owned())
                .unwrap_or_default();
            *rejected.borrow_mut().entry(tag).or_default() += 1;
        }
    };
    block_on(async {
        for step in 0..120 {
            if step == 60 {
                // The server is restored from its log into another store; requests still in
                // flight to the old one are lost.
                for e in old.log() {
                    let event = NewEvent {
                        id: e.id,
                        event_type: e.event_type,
                        data: e.data,
                        metadata: e.metadata,
                    };
                    let before = ExpectedVersion::Exact(Version(e.version.0 - 1));
                    restored
                        .store
                        .append(&e.stream, vec![event], before)
                        .await
                        .unwrap();
                }
                for (d, device) in devices.iter().enumerate() {
                    had_checkpoint[d] = device.client.checkpoint().await.unwrap().is_some();
                }
                server = &restored;
                links = devices.iter().map(|_| Link::new(server)).collect();
            }
            let d = rng.below(3) as usize;
            let (device, link) = (&devices[d], &links[d]);
            match rng.below(10) {
                0..=5 => {
                    let stream = sid(STREAMS[rng.below(4) as usize]);
                    let tag = format!("{d}-{step}");
                    if stream.as_str().starts_with("cart-") {
                        match device.command(&stream, &tag).await {
                            Ok(()) => issued.push(format!(r#"{{"add":"{tag}"}}"#)),
                            Err(e) => assert_eq!(e.code(), "DECIDER_REJECTED"),
                        }
                    } else {
                        device.append(&stream, &tag).await.unwrap();
                        issued.push(format!("\"{tag}\""));
                    }
                }
                6 => link.flush_delayed().await,
                _ => {
                    let faults: Vec<Fault> =
                        (0..4).map(|_| FAULTS[rng.below(5) as usize]).collect();
                    link.faults.borrow_mut().extend(faults);
                    match device.sync(link).await {
                        Ok(report) => {
                            resynced[d] |= report.resynced;
                            record(device)
                        }
                        Err(e) => {
                            record(device);
                            assert_eq!(e.code(), "NETWORK", "seed {seed}: {e}")
                        }
                    }
                }
            }
            if step % 8 == 0 {
                // Mid-way, every command is somewhere: on the server (at most once), pending
                // on its device (possibly also on the server when a push's answer was lost,
                // or waiting in a rebase), or reported rejected.
                let log = server.log();
                for tag in &issued {
                    let on = log.iter().filter(|e| e.data.as_str() == tag).count();
                    let pend: usize = devices.iter().map(|d| pending_with(d, tag)).sum();
                    let rej = rejected.borrow().get(tag).copied().unwrap_or(0);
                    assert!(
                        on + rej <= 1 && on + pend + rej >= 1 && pend <= 1,
                        "seed {seed} step {step}: {tag} on server {on}, pending {pend}, rejected {rej}"
                    );
                }
            }
        }
        // The network heals; everyone syncs until nothing is pending.
        for link in &links {
            link.faults.borrow_mut().clear();
            link.flush_delayed().await;
        }
        for _ in 0..3 {
            for (d, (device, link)) in devices.iter().zip(&links).enumerate() {
                resynced[d] |= device.sync(link).await.unwrap().resynced;
                record(device);
            }
        }
    });
    // Exactly the devices holding a checkpoint of the old server re-synced (and said so).
    assert_eq!(resynced, had_checkpoint, "seed {seed}");
    let log = server.log();
    let view = server_view(server);
    for device in &devices {
        assert_eq!(
            device.confirmed(),
            view,
            "seed {seed}: a client's log differs"
        );
        assert!(
            block_on(device.replica().pending()).unwrap().is_empty(),
            "seed {seed}"
        );
    }
    let mut ids: Vec<_> = log.iter().map(|e| e.id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), log.len(), "seed {seed}: an id twice");
    for tag in &issued {
        let on_server = log.iter().filter(|e| e.data.as_str() == tag).count();
        let dropped = rejected.borrow().get(tag).copied().unwrap_or(0);
        assert_eq!(
            on_server + dropped,
            1,
            "seed {seed}: {tag} on server {on_server}, rejected {dropped}"
        );
    }
    for stream in ["cart-1", "cart-2"] {
        let n = log.iter().filter(|e| e.stream.as_str() == stream).count();
        assert!(
            n <= 6,
            "seed {seed}: the decider's rule broke on {stream}: {n}"
        );
    }
}

#[test]
fn clients_converge_under_random_offline_edits_and_faults() {
    let cases: u64 = std::env::var("EVENTFOLD_SYNC_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    for seed in 0..cases {
        run(seed);
    }
}
