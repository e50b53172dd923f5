//! What the benchmarks share: the memory of a process tree, sampled while it
//! runs (`benches/batch.rs`, `benches/feder_operations.rs`).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// Resident bytes of `pid` and of all its descendants (the worker processes).
pub fn tree_rss(pid: u32) -> u64 {
    let page = 4096;
    let mut total = 0;
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        if let Ok(statm) = std::fs::read_to_string(format!("/proc/{p}/statm")) {
            total += statm
                .split_whitespace()
                .nth(1)
                .and_then(|r| r.parse::<u64>().ok())
                .unwrap_or(0)
                * page;
        }
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{p}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            if let Ok(children) = std::fs::read_to_string(task.path().join("children")) {
                todo.extend(children.split_whitespace().filter_map(|c| c.parse::<u32>().ok()));
            }
        }
    }
    total
}

/// Runs `wait` (which waits for the process `pid`) while sampling the memory
/// of its process tree every 5 ms; returns what `wait` returns and the
/// largest sum of resident sets seen (bytes).
pub fn peak_while<T>(pid: u32, wait: impl FnOnce() -> T) -> (T, u64) {
    let done = AtomicBool::new(false);
    let peak = AtomicU64::new(0);
    let out = std::thread::scope(|s| {
        s.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(tree_rss(pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        let out = wait();
        done.store(true, Ordering::Relaxed);
        out
    });
    (out, peak.load(Ordering::Relaxed))
}
