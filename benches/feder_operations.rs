//! A long FEDER-OPERATIONS list: `cargo bench --bench feder_operations`.
//!
//! Generates a list of `BILAN_BENCH_OPERATIONS` operations (default 5 000,
//! the seed's nine priorities scaled, clean) with the fixtures' generator,
//! then measures, best of `BILAN_BENCH_ROUNDS` (default 5):
//! - `bilan check LIST` (process start included): wall clock and peak memory;
//! - `bilan batch LIST DASHBOARD --out …` (the list reconciled with the seed
//!   dashboard, annotated workbooks included): wall clock and the peak memory
//!   of `bilan` and its workers, against a batch of the dashboard alone.
//!
//! Target (issue 24): the 5 000-operation list checked in under 1 s (release).
//! The figures are printed as a Markdown table (README, « Certification FEDER »).

#[path = "../fixtures/feder_operations.rs"]
mod gen;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bilan::sheetgen::{write_xlsx, WorkbookSpec};

mod common;

#[derive(Debug, Clone, Copy, Default)]
struct Run {
    wall: Duration,
    /// Largest sum of the resident sets of the process tree (bytes), sampled.
    peak: u64,
}

fn measure(args: &[&std::ffi::OsStr]) -> Run {
    let start = Instant::now();
    let Ok(mut child) = Command::new(env!("CARGO_BIN_EXE_bilan"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    else {
        return Run::default();
    };
    let pid = child.id();
    let ((), peak) = common::peak_while(pid, || {
        let _ = child.wait();
    });
    Run {
        wall: start.elapsed(),
        peak: peak.rss,
    }
}

fn best(rounds: usize, args: &[&std::ffi::OsStr]) -> Run {
    let runs: Vec<Run> = (0..rounds).map(|_| measure(args)).collect();
    Run {
        wall: runs.iter().map(|r| r.wall).min().unwrap_or_default(),
        peak: runs.iter().map(|r| r.peak).max().unwrap_or_default(),
    }
}

fn main() {
    let n: usize = std::env::var("BILAN_BENCH_OPERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let rounds: usize = std::env::var("BILAN_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let Ok(dir) = tempfile::tempdir() else {
        eprintln!("dossier temporaire impossible");
        return;
    };
    let plan = gen::Plan::scaled(n);
    let ops = gen::operations(&plan);
    let spec: WorkbookSpec = match serde_json::from_value(gen::workbook(&plan.header, &ops, true)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("description : {e}");
            return;
        }
    };
    let list = dir.path().join(format!("feder-operations-{n}.xlsx"));
    match write_xlsx(&spec) {
        Ok(bytes) => {
            if let Err(e) = std::fs::write(&list, bytes) {
                eprintln!("{e}");
                return;
            }
        }
        Err(e) => {
            eprintln!("{e}");
            return;
        }
    }
    let dashboard = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/feder-axe1-2009-conforme.xlsx");
    let size = std::fs::metadata(&list).map(|m| m.len()).unwrap_or(0);
    let os = |s: &'static str| std::ffi::OsStr::new(s);
    let check = best(rounds, &[os("check"), os("--quiet"), list.as_os_str()]);
    let out = dir.path().join("sortie");
    let out2 = dir.path().join("sortie-tdb");
    let pair = best(
        rounds,
        &[
            os("batch"),
            list.as_os_str(),
            dashboard.as_os_str(),
            os("--out"),
            out.as_os_str(),
        ],
    );
    let alone = best(
        rounds,
        &[os("batch"), dashboard.as_os_str(), os("--out"), out2.as_os_str()],
    );
    let mib = |b: u64| b as f64 / 1_048_576.0;
    println!(
        "| mesure ({n} opérations, {:.1} Mo) | durée (meilleure de {rounds}) | mémoire de pointe |",
        size as f64 / 1e6
    );
    println!("|---|---|---|");
    println!(
        "| `bilan check` de la liste | {:.0} ms | {:.0} Mio |",
        check.wall.as_secs_f64() * 1000.0,
        mib(check.peak)
    );
    println!(
        "| `bilan batch` liste + tableau de bord (classeurs annotés) | {:.0} ms | {:.0} Mio |",
        pair.wall.as_secs_f64() * 1000.0,
        mib(pair.peak)
    );
    println!(
        "| `bilan batch` du tableau de bord seul | {:.0} ms | {:.0} Mio |",
        alone.wall.as_secs_f64() * 1000.0,
        mib(alone.peak)
    );
}
