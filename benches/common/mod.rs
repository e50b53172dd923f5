//! What the benchmarks share: the memory of a process tree, sampled while it
//! runs (`benches/batch.rs`, `benches/feder_operations.rs`).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// The memory of a process tree at one moment, in bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    /// The resident sets summed: the binary's code pages, shared by the main
    /// process and its workers, counted once per process.
    pub rss: u64,
    /// The proportional sets summed (`Pss` of `/proc/PID/smaps_rollup`): each
    /// shared page divided among the processes that map it, i.e. the real
    /// memory the tree occupies.
    pub pss: u64,
}

/// [`Memory`] of `pid` and of all its descendants (the worker processes).
pub fn tree_memory(pid: u32) -> Memory {
    let page = 4096;
    let mut total = Memory::default();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        if let Ok(statm) = std::fs::read_to_string(format!("/proc/{p}/statm")) {
            total.rss += statm
                .split_whitespace()
                .nth(1)
                .and_then(|r| r.parse::<u64>().ok())
                .unwrap_or(0)
                * page;
        }
        if let Ok(rollup) = std::fs::read_to_string(format!("/proc/{p}/smaps_rollup")) {
            total.pss += rollup
                .lines()
                .find_map(|l| l.strip_prefix("Pss:"))
                .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .unwrap_or(0)
                * 1024;
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
/// largest sums seen (resident sets, proportional sets).
pub fn peak_while<T>(pid: u32, wait: impl FnOnce() -> T) -> (T, Memory) {
    let done = AtomicBool::new(false);
    let rss = AtomicU64::new(0);
    let pss = AtomicU64::new(0);
    let out = std::thread::scope(|s| {
        s.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                let now = tree_memory(pid);
                rss.fetch_max(now.rss, Ordering::Relaxed);
                pss.fetch_max(now.pss, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        let out = wait();
        done.store(true, Ordering::Relaxed);
        out
    });
    (
        out,
        Memory {
            rss: rss.load(Ordering::Relaxed),
            pss: pss.load(Ordering::Relaxed),
        },
    )
}
