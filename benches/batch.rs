//! Throughput, latency and memory of `bilan`, measured on generated campaigns.
//!
//! `cargo bench --bench batch` generates N returns of every template (from the
//! fixtures' descriptions, each with its own organisation name; clean returns
//! and returns with findings), then times the release binary:
//! - `batch` without annotated reports and with them (files/s, wall clock);
//! - `check` of one return, process start included (median and p95 of 30 runs);
//! - peak memory (max RSS of `bilan` and its reader processes) for 5 000 returns.
//!
//! `BILAN_BENCH_N` (default 1000) and `BILAN_BENCH_BIG` (default 5000) change
//! the sizes; `BILAN_BENCH_KEEP=1` keeps the generated campaigns. The figures
//! are printed as a Markdown table (see README).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bilan::sheetgen::{write_xlsx, CellSpec, WorkbookSpec};

const BIN: &str = env!("CARGO_BIN_EXE_bilan");

/// The binary measured: this build's, or `BILAN_BENCH_BIN` (another build, to
/// compare before and after a change).
fn bin() -> std::ffi::OsString {
    std::env::var_os("BILAN_BENCH_BIN").unwrap_or_else(|| BIN.into())
}

fn specs() -> Vec<(String, WorkbookSpec)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/src");
    let mut out = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    entries.sort();
    for path in entries {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let Ok(spec) = serde_json::from_str::<WorkbookSpec>(&text) else {
            continue;
        };
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        out.push((name, spec));
    }
    out
}

/// Gives the return its own organisation: the value right of `Pôle`,
/// `Territoire` or `Programme` on the Identification sheet.
fn rename(spec: &mut WorkbookSpec, suffix: usize) {
    for sheet in spec
        .sheets
        .iter_mut()
        .filter(|s| bilan::values::normalize_label(&s.name) == "identification")
    {
        for block in &mut sheet.blocks {
            for row in &mut block.rows {
                let is_org = matches!(row.first(), Some(CellSpec::Text(t)) if ["pole", "territoire", "programme"].contains(&bilan::values::normalize_label(t).as_str()));
                if is_org {
                    if let Some(CellSpec::Text(v)) = row.get_mut(1) {
                        *v = format!("{v} n°{suffix}");
                    }
                }
            }
        }
    }
}

fn generate(dir: &Path, n: usize) -> usize {
    let specs = specs();
    let _ = std::fs::create_dir_all(dir);
    let mut written = 0;
    for i in 0..n {
        let (name, spec) = &specs[i % specs.len()];
        let mut spec = spec.clone();
        rename(&mut spec, i);
        if let Ok(bytes) = write_xlsx(&spec) {
            if std::fs::write(dir.join(format!("r{i:05}-{name}.xlsx")), bytes).is_ok() {
                written += 1;
            }
        }
    }
    written
}

/// Runs `bilan` and returns (wall time, max RSS in KiB of it and its readers).
fn measure(args: &[&str]) -> (Duration, i64) {
    let start = Instant::now();
    let child = Command::new(bin())
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let Ok(child) = child else { return (Duration::ZERO, 0) };
    let mut status = 0;
    // SAFETY: plain libc call on our own child's pid, with valid pointers.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe {
        libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage);
    }
    (start.elapsed(), usage.ru_maxrss)
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` and `cargo test --benches`
    }
    let n = env_usize("BILAN_BENCH_N", 1000);
    let big = env_usize("BILAN_BENCH_BIG", 5000);
    let root = std::env::temp_dir().join(format!("bilan-bench-{}", std::process::id()));
    let campaign = root.join("campagne");
    let t = Instant::now();
    let count = generate(&campaign, n);
    println!(
        "generated {count} returns in {:.1} s ({} templates' fixtures)",
        t.elapsed().as_secs_f64(),
        specs().len()
    );
    let c = campaign.to_string_lossy().to_string();

    let out1 = root.join("sans").to_string_lossy().to_string();
    let (plain, rss_plain) = measure(&[
        "batch",
        &c,
        "--out",
        &out1,
        "--no-annotated",
        "--quiet",
        "--fail-on",
        "never",
    ]);
    let out2 = root.join("avec").to_string_lossy().to_string();
    let (annotated, rss_annotated) = measure(&["batch", &c, "--out", &out2, "--quiet", "--fail-on", "never"]);
    let out3 = root.join("inline").to_string_lossy().to_string();
    let (inline, _) = measure(&[
        "batch",
        &c,
        "--out",
        &out3,
        "--no-annotated",
        "--quiet",
        "--fail-on",
        "never",
        "--no-isolation",
    ]);

    let one = std::fs::read_dir(&campaign)
        .ok()
        .and_then(|mut d| d.next())
        .and_then(|e| e.ok())
        .map(|e| e.path().to_string_lossy().to_string())
        .unwrap_or_default();
    let mut latencies: Vec<Duration> = (0..30)
        .map(|_| measure(&["check", &one, "--quiet", "--fail-on", "never"]).0)
        .collect();
    latencies.sort();
    let median = latencies[latencies.len() / 2];
    let p95 = latencies[latencies.len() * 95 / 100];

    let big_dir = root.join("grande-campagne");
    let big_count = generate(&big_dir, big);
    let b = big_dir.to_string_lossy().to_string();
    let out4 = root.join("grande").to_string_lossy().to_string();
    let (big_time, rss_big) = measure(&["batch", &b, "--out", &out4, "--quiet", "--fail-on", "never"]);

    let per_sec = |d: Duration, k: usize| k as f64 / d.as_secs_f64().max(1e-9);
    println!();
    println!("| measure | figure | target |");
    println!("|---|---|---|");
    println!(
        "| `batch` {count} returns, no annotated reports | {:.2} s ({:.0} files/s), peak {} MB | < 2 s |",
        plain.as_secs_f64(),
        per_sec(plain, count),
        rss_plain / 1024
    );
    println!(
        "| same, readers in-process (`--no-isolation`) | {:.2} s ({:.0} files/s) | — |",
        inline.as_secs_f64(),
        per_sec(inline, count)
    );
    println!(
        "| `batch` {count} returns with annotated reports | {:.2} s ({:.0} files/s), peak {} MB | < 5 s |",
        annotated.as_secs_f64(),
        per_sec(annotated, count),
        rss_annotated / 1024
    );
    println!(
        "| `check` one return, process start included | median {:.1} ms, p95 {:.1} ms | < 30 ms |",
        median.as_secs_f64() * 1000.0,
        p95.as_secs_f64() * 1000.0
    );
    println!(
        "| `batch` {big_count} returns with annotated reports | {:.2} s, peak {} MB | < 150 MB |",
        big_time.as_secs_f64(),
        rss_big / 1024
    );
    if std::env::var_os("BILAN_BENCH_KEEP").is_some() {
        println!("kept: {}", root.display());
    } else {
        let _ = std::fs::remove_dir_all(&root);
    }
}
