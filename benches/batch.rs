//! Throughput, latency and memory of `bilan`, measured on generated campaigns,
//! against the floor: a raw calamine read of the same files, in this process.
//!
//! `cargo bench --bench batch` generates N returns of every template (from the
//! fixtures' descriptions, each with its own organisation name; clean returns
//! and returns with findings), then measures, in one run:
//! - the floor: `open_workbook_auto` + `worksheet_range` of every sheet of
//!   every file, on 1 thread and on 2 (wall clock and CPU time);
//! - `batch --no-annotated` with `--jobs 1` and `--jobs 2`, and `batch` with
//!   annotated workbooks: wall clock, CPU time (of `bilan` and its workers)
//!   and their ratios to the floor;
//! - `check` of one return, process start included (median and p95 of 50 runs,
//!   memory not sampled);
//! - peak memory of the whole process tree (`bilan` and its workers, sampled
//!   every 5 ms) for BIG returns with annotated reports: proportional sets
//!   summed (PSS: the real memory, the binary's shared code counted once; the
//!   target is read on it) and resident sets summed (RSS: shared code counted
//!   once per process);
//! - the rule profile: the same N returns checked in this process (this
//!   build's library), the time in each rule, the costliest first, and the
//!   rules' share of the whole check. `cargo bench --bench batch --
//!   --profil-regles` prints only that.
//!
//! The machine is shared: each measure is taken `BILAN_BENCH_ROUNDS` times
//! (default 3), interleaved, and the best is kept; ratios are taken within the
//! run. `BILAN_BENCH_N` (default 1000), `BILAN_BENCH_BIG` (default 5000) change
//! the sizes; `BILAN_BENCH_BIN` measures another `bilan` binary (a build from
//! before a change); `BILAN_BENCH_KEEP=1` keeps the generated campaigns. The
//! figures are printed as a Markdown table (see README, « Performance »).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use calamine::{open_workbook_auto, Reader};

use bilan::sheetgen::{write_xlsx, CellSpec, WorkbookSpec};

mod common;

/// The binary measured: this build's, or `BILAN_BENCH_BIN` (another build, to
/// compare before and after a change).
fn bin() -> String {
    std::env::var("BILAN_BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_bilan").to_string())
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
        .filter(|s| bilan::base::values::normalize_label(&s.name) == "identification")
    {
        for block in &mut sheet.blocks {
            for row in &mut block.rows {
                let is_org = matches!(row.first(), Some(CellSpec::Text(t)) if ["pole", "territoire", "programme"].contains(&bilan::base::values::normalize_label(t).as_str()));
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

/// A measure: wall clock, CPU time (user + system, of the process and of the
/// children it waited for) and peak memory.
#[derive(Debug, Clone, Copy, Default)]
struct Run {
    wall: Duration,
    cpu: Duration,
    /// Largest resident set of one process (KiB), from `wait4`.
    max_rss: i64,
    /// Largest sum of the resident sets of the process tree (bytes), sampled.
    tree_peak: u64,
    /// Largest sum of the proportional sets of the process tree (bytes): its
    /// real memory, shared code counted once.
    tree_pss: u64,
}

impl Run {
    fn best(runs: &[Run]) -> Run {
        let mut best = runs.iter().copied().min_by_key(|r| r.wall).unwrap_or_default();
        best.cpu = runs.iter().map(|r| r.cpu).min().unwrap_or_default();
        best.tree_peak = runs.iter().map(|r| r.tree_peak).max().unwrap_or_default();
        best.tree_pss = runs.iter().map(|r| r.tree_pss).max().unwrap_or_default();
        best.max_rss = runs.iter().map(|r| r.max_rss).max().unwrap_or_default();
        best
    }
}

fn cpu_of(usage: &libc::rusage) -> Duration {
    let t = |v: libc::timeval| Duration::new(v.tv_sec as u64, v.tv_usec as u32 * 1000);
    t(usage.ru_utime) + t(usage.ru_stime)
}

/// Runs `bilan` to its end, sampling the memory of its process tree.
fn measure(args: &[&str]) -> Run {
    let start = Instant::now();
    let child = Command::new(bin())
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let Ok(child) = child else { return Run::default() };
    let pid = child.id();
    let mut status = 0;
    // SAFETY: plain libc call on our own child's pid, with valid pointers.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let ((), peak) = common::peak_while(pid, || {
        // SAFETY: as above.
        unsafe {
            libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage);
        }
    });
    Run {
        wall: start.elapsed(),
        cpu: cpu_of(&usage),
        max_rss: usage.ru_maxrss,
        tree_peak: peak.rss,
        tree_pss: peak.pss,
    }
}

/// The wall time of one run of `bilan` with `args`, without sampling its
/// memory (the latency of a `check`: a sampling thread would take a share of
/// the two cores from the very processes being timed).
fn latency(args: &[&str]) -> Duration {
    let start = Instant::now();
    let _ = Command::new(bin())
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    start.elapsed()
}

fn self_cpu() -> Duration {
    // SAFETY: getrusage fills the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe {
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
    }
    cpu_of(&usage)
}

/// The floor: every sheet of every file read by calamine (no styles, no
/// checks), on `threads` threads. Returns the run and the number of cells.
fn raw_read(files: &[PathBuf], threads: usize) -> (Run, usize) {
    let cpu = self_cpu();
    let start = Instant::now();
    let cells = AtomicU64::new(0);
    let chunk = files.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|s| {
        for part in files.chunks(chunk) {
            let cells = &cells;
            s.spawn(move || {
                for f in part {
                    let Ok(mut wb) = open_workbook_auto(f) else { continue };
                    for name in wb.sheet_names() {
                        if let Ok(range) = wb.worksheet_range(&name) {
                            cells.fetch_add(range.used_cells().count() as u64, Ordering::Relaxed);
                        }
                    }
                }
            });
        }
    });
    let run = Run {
        wall: start.elapsed(),
        cpu: self_cpu().saturating_sub(cpu),
        ..Run::default()
    };
    (run, cells.load(Ordering::Relaxed) as usize)
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64()).replace('.', ",")
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0).replace('.', ",")
}

fn ratio(a: Duration, b: Duration) -> String {
    format!("{:.2}", a.as_secs_f64() / b.as_secs_f64().max(1e-9)).replace('.', ",")
}

fn ok(met: bool) -> &'static str {
    if met {
        "atteint"
    } else {
        "**non atteint**"
    }
}

/// The rule profile: every file checked in this process with this build's
/// library, the time spent in each rule; prints the costliest rules.
fn rule_profile(files: &[PathBuf], top: usize) {
    let templates = bilan::pipeline::template::TemplateSet::builtin();
    let Ok(mut rules) = bilan::pipeline::rules::RulePack::builtin() else {
        println!("profil des règles : règles intégrées illisibles");
        return;
    };
    rules.enable_profile();
    let checker = bilan::job::Checker::new(templates, rules);
    let start = Instant::now();
    for f in files {
        let _ = checker.check_path(f);
    }
    let total = start.elapsed();
    let profile = checker.rules.profile();
    let in_rules: Duration = profile.iter().map(|(_, c)| c.time).sum();
    println!();
    println!(
        "Profil des règles : {} retours contrôlés dans le banc en {} ; dans les règles Rhai : {} ({:.0} %).",
        files.len(),
        secs(total),
        secs(in_rules),
        100.0 * in_rules.as_secs_f64() / total.as_secs_f64().max(1e-9)
    );
    println!();
    println!("| règle | passages | temps | par passage | part du contrôle |");
    println!("|---|---|---|---|---|");
    for (id, cost) in profile.iter().take(top) {
        let line = format!(
            "| {id} | {} | {} | {:.1} µs | {:.1} % |",
            cost.runs,
            ms(cost.time),
            cost.time.as_secs_f64() * 1e6 / (cost.runs.max(1) as f64),
            100.0 * cost.time.as_secs_f64() / total.as_secs_f64().max(1e-9)
        );
        println!("{}", line.replace('.', ","));
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` and `cargo test --benches`
    }
    let only_profile = std::env::args().any(|a| a == "--profil-regles");
    let n = env_usize("BILAN_BENCH_N", 1000);
    let big = env_usize("BILAN_BENCH_BIG", 5000);
    let rounds = env_usize("BILAN_BENCH_ROUNDS", 3).max(1);
    let root = std::env::temp_dir().join(format!("bilan-bench-{}", std::process::id()));
    let campaign = root.join("campagne");
    let t = Instant::now();
    let count = generate(&campaign, n);
    println!(
        "{count} retours générés en {:.1} s (fixtures de {} modèles) ; binaire : {}",
        t.elapsed().as_secs_f64(),
        specs().len(),
        bin()
    );
    let c = campaign.to_string_lossy().to_string();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&campaign)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    if only_profile {
        rule_profile(&files, 20);
        if std::env::var_os("BILAN_BENCH_KEEP").is_some() {
            println!("conservé : {}", root.display());
        } else {
            let _ = std::fs::remove_dir_all(&root);
        }
        return;
    }

    let batch = |out: &str, extra: &[&str]| -> Run {
        let out = root.join(out).to_string_lossy().to_string();
        let mut args = vec!["batch", &c, "--out", &out, "--quiet", "--fail-on", "never"];
        args.extend_from_slice(extra);
        measure(&args)
    };
    let (mut floor1, mut floor2, mut plain1, mut plain2, mut annotated2) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut cells = 0;
    for _ in 0..rounds {
        let (r, k) = raw_read(&files, 1);
        floor1.push(r);
        cells = k;
        floor2.push(raw_read(&files, 2).0);
        plain1.push(batch("sans1", &["--no-annotated", "--jobs", "1"]));
        plain2.push(batch("sans2", &["--no-annotated", "--jobs", "2"]));
        annotated2.push(batch("avec", &["--jobs", "2"]));
    }
    let (floor1, floor2) = (Run::best(&floor1), Run::best(&floor2));
    let (plain1, plain2, annotated2) = (Run::best(&plain1), Run::best(&plain2), Run::best(&annotated2));

    let one = files
        .first()
        .map(|p| p.to_string_lossy().to_string())
        .unwrap_or_default();
    let mut latencies: Vec<Duration> = (0..50)
        .map(|_| latency(&["check", &one, "--quiet", "--fail-on", "never"]))
        .collect();
    latencies.sort();
    let median = latencies[latencies.len() / 2];
    let p95 = latencies[latencies.len() * 95 / 100];

    let big_dir = root.join("grande-campagne");
    let big_count = generate(&big_dir, big);
    let b = big_dir.to_string_lossy().to_string();
    let out4 = root.join("grande").to_string_lossy().to_string();
    let bigrun = measure(&["batch", &b, "--out", &out4, "--quiet", "--fail-on", "never"]);

    let per_sec = |d: Duration| count as f64 / d.as_secs_f64().max(1e-9);
    let mb = |bytes: u64| bytes / 1_000_000;
    println!();
    println!("Plancher : lecture brute par calamine des {count} mêmes fichiers ({cells} cellules), dans le banc.");
    println!(
        "Meilleur de {rounds} passages entrelacés ; temps CPU = utilisateur + système, processus de contrôle compris."
    );
    println!();
    println!("| mesure | temps (CPU) | rapport au plancher, temps (CPU) | cible |");
    println!("|---|---|---|---|");
    println!(
        "| plancher : lecture brute calamine, 1 fil | {} ({}) | 1 | — |",
        secs(floor1.wall),
        secs(floor1.cpu)
    );
    println!(
        "| plancher : lecture brute calamine, 2 fils | {} ({}) | 1 | — |",
        secs(floor2.wall),
        secs(floor2.cpu)
    );
    println!(
        "| `batch --no-annotated --jobs 1`, {count} retours | {} ({}) | {} ({}) × plancher 1 fil | — |",
        secs(plain1.wall),
        secs(plain1.cpu),
        ratio(plain1.wall, floor1.wall),
        ratio(plain1.cpu, floor1.cpu)
    );
    let plain_ratio = plain2.wall.as_secs_f64() / floor2.wall.as_secs_f64().max(1e-9);
    println!(
        "| `batch --no-annotated --jobs 2` ({:.0} fichiers/s) | {} ({}) | {} ({}) × plancher 2 fils | ≤ 2 : {} |",
        per_sec(plain2.wall),
        secs(plain2.wall),
        secs(plain2.cpu),
        ratio(plain2.wall, floor2.wall),
        ratio(plain2.cpu, floor2.cpu),
        ok(plain_ratio <= 2.0)
    );
    let scaling = plain1.wall.as_secs_f64() / plain2.wall.as_secs_f64().max(1e-9);
    println!(
        "| gain de `--jobs 2` sur `--jobs 1` | {} × | — | ≥ 1,8 : {} |",
        ratio(plain1.wall, plain2.wall),
        ok(scaling >= 1.8)
    );
    let annotated_ratio = annotated2.wall.as_secs_f64() / floor2.wall.as_secs_f64().max(1e-9);
    println!(
        "| `batch` avec classeurs annotés, `--jobs 2` ({:.0} fichiers/s) | {} ({}) | {} ({}) × plancher 2 fils | ≤ 4 : {} |",
        per_sec(annotated2.wall),
        secs(annotated2.wall),
        secs(annotated2.cpu),
        ratio(annotated2.wall, floor2.wall),
        ratio(annotated2.cpu, floor2.cpu),
        ok(annotated_ratio <= 4.0)
    );
    println!(
        "| `check` d'un retour, lancement compris (50 fois) | médiane {}, p95 {} | — | ≤ 8 ms / ≤ 10 ms : {} |",
        ms(median),
        ms(p95),
        ok(median <= Duration::from_millis(8) && p95 <= Duration::from_millis(10))
    );
    println!(
        "| `batch` {big_count} retours avec classeurs annotés | {} ({}), pic de mémoire réelle {} Mo (PSS de l'arbre de processus ; RSS additionnés : {} Mo, le code du binaire compté une fois par processus ; un processus : {} Mo) | — | ≤ 100 Mo : {} |",
        secs(bigrun.wall),
        secs(bigrun.cpu),
        mb(bigrun.tree_pss),
        mb(bigrun.tree_peak),
        bigrun.max_rss / 1024,
        ok(bigrun.tree_pss <= 100_000_000)
    );
    rule_profile(&files, 15);
    if std::env::var_os("BILAN_BENCH_KEEP").is_some() {
        println!("conservé : {}", root.display());
    } else {
        let _ = std::fs::remove_dir_all(&root);
    }
}
