//! The corpus of bad inputs (`fixtures/corpus/`, see its README) through the
//! real binary: `bilan check` on each file (isolated reader, the default) and
//! `bilan batch` on a folder holding all of them. For every file: no panic, exit
//! status 1 (not 2, not a signal), the expected finding, within its time budget;
//! the wall time and peak memory of each check are printed
//! (`cargo test --test corpus -- --nocapture`).
//!
//! The committed files are made by `corpus_support` (regenerate them with
//! `BILAN_REGEN_CORPUS=1 cargo test --test corpus`); the large ones are
//! generated into a temporary folder at each run. `BILAN_CORPUS_BIN=path` runs
//! another build of `bilan` (e.g. `target/release/bilan`) to measure it.

mod corpus_support;

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use corpus_support::{cases, corpus_dir, large_legal, materialise, Case, Source};
use serde_json::Value;

/// The heavy tests run one at a time, so that their timings mean something.
static SERIAL: Mutex<()> = Mutex::new(());

/// Peak memory allowed for one `check` (the process and its reader worker).
const MAX_RSS_MB: i64 = 1024;

/// Peak memory allowed for the whole process tree (`bilan` and its worker, each
/// at its own peak, added): the worker's address space is capped at 512 MB by
/// default, and the main process only holds reports.
const MAX_TREE_MB: u64 = 512;

/// Peak memory allowed for the main process: it only holds reports.
const MAX_MAIN_MB: u64 = 64;

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// `BILAN_CORPUS_KNOWN=1`: also run the files of known, unfixed problems.
fn known_issues_too() -> bool {
    std::env::var("BILAN_CORPUS_KNOWN").is_ok_and(|v| v == "1")
}

fn bilan_bin() -> PathBuf {
    match std::env::var_os("BILAN_CORPUS_BIN") {
        Some(p) => PathBuf::from(p),
        None => assert_cmd::cargo::cargo_bin("bilan"),
    }
}

/// How one run of `bilan` ended.
struct Run {
    /// Exit code, if it exited.
    code: Option<i32>,
    /// The signal that killed it, if one did.
    signal: Option<i32>,
    stdout: String,
    stderr: String,
    wall: Duration,
    /// Largest resident set of the process and of its reaped children (the
    /// reader workers), in kilobytes (`wait4`'s `ru_maxrss`). Linux carries
    /// the resident size of the process that started it across `exec` into
    /// this figure, so it is never below the peak size of this test process.
    max_rss_kb: i64,
    /// Peak resident set (`VmHWM`) of `bilan` itself and of its largest reader
    /// worker, sampled every millisecond in `/proc`: exact per process,
    /// but a peak in the last milliseconds of a process can be missed.
    sampled: Peaks,
}

#[derive(Debug, Default, Clone, Copy)]
struct Peaks {
    main_kb: u64,
    worker_kb: u64,
}

fn vm_hwm_kb(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Samples the peak memory of `pid` and of its children until `stop` is set.
fn sample(pid: u32, stop: std::sync::Arc<std::sync::atomic::AtomicBool>) -> std::thread::JoinHandle<Peaks> {
    std::thread::spawn(move || {
        let mut peaks = Peaks::default();
        let pid = pid.to_string();
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            if let Some(kb) = vm_hwm_kb(&pid) {
                peaks.main_kb = peaks.main_kb.max(kb);
            }
            // Workers may be started by any thread of the process.
            if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
                for task in tasks.flatten() {
                    let children = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
                    for child in children.split_whitespace() {
                        if let Some(kb) = vm_hwm_kb(child) {
                            peaks.worker_kb = peaks.worker_kb.max(kb);
                        }
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        peaks
    })
}

/// Runs `bilan ARGS` and waits for it with `wait4`, to get its peak memory.
#[allow(clippy::zombie_processes)] // reaped by `wait4`, not `Child::wait`
fn run(args: &[OsString]) -> Run {
    let started = Instant::now();
    let mut child = std::process::Command::new(bilan_bin())
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("bilan starts");
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("stdout")));
    let err = drain(Box::new(child.stderr.take().expect("stderr")));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = sample(child.id(), stop.clone());
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: plain FFI call with pointers to live locals; rusage is plain data.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert_eq!(rc, pid, "wait4: {}", std::io::Error::last_os_error());
    let exited = libc::WIFEXITED(status);
    let signaled = libc::WIFSIGNALED(status);
    Run {
        code: exited.then(|| libc::WEXITSTATUS(status)),
        signal: signaled.then(|| libc::WTERMSIG(status)),
        stdout: out.join().expect("stdout read"),
        stderr: err.join().expect("stderr read"),
        wall,
        max_rss_kb: usage.ru_maxrss,
        sampled: sampler.join().expect("sampler"),
    }
}

/// The findings of one file of a JSON report (`check --format json` or `rapport.json`).
fn findings_of<'a>(report: &'a Value, path_ends_with: &str) -> Option<&'a Vec<Value>> {
    report["files"]
        .as_array()?
        .iter()
        .find(|f| f["path"].as_str().is_some_and(|p| p.ends_with(path_ends_with)))?["findings"]
        .as_array()
}

/// What is wrong with `findings` for `case` (empty: nothing).
fn judge(case: &Case, findings: &[Value]) -> Vec<String> {
    let mut problems = Vec::new();
    // No file of the corpus expects the time limit: a file stopped by it did
    // not reach its finding, whatever the build (see `timeout_for`).
    if findings.iter().any(stopped_by_time) {
        problems.push(format!(
            "stopped by its time limit before its finding (expected {} « {} »)",
            case.rule,
            case.gist.join(" », « ")
        ));
        return problems;
    }
    for gist in case.gist {
        // The message is French; the reader's own (English) text is kept in
        // `detail` (issue 15): a gist may be found in either.
        let hit = findings.iter().any(|f| {
            let text = format!(
                "{} {}",
                f["message"].as_str().unwrap_or(""),
                f["detail"].as_str().unwrap_or("")
            );
            f["rule"] == case.rule && text.to_lowercase().contains(&gist.to_lowercase())
        });
        if !hit {
            let got: Vec<String> = findings
                .iter()
                .map(|f| format!("{} {}", f["rule"], f["message"]))
                .collect();
            problems.push(format!("expected {} « {gist} », got {got:#?}", case.rule));
        }
    }
    // A reader worker that died (a calamine abort, or a panic in the worker)
    // would be reported as "s'est arrêtée brutalement": none is expected.
    for f in findings {
        if f["message"].as_str().is_some_and(|m| m.contains("arrêtée brutalement")) {
            problems.push(format!("the reader crashed: {}", f["message"]));
        }
    }
    problems
}

/// Whether a finding is the time limit of a file's check (BILAN-IO-002).
fn stopped_by_time(f: &Value) -> bool {
    f["rule"] == "BILAN-IO-002" && f["message"].as_str().is_some_and(|m| m.contains("durée du contrôle"))
}

/// The `--timeout` of a file's check: its budget (at least 30 s), ten times
/// that in a debug build, which is that much slower. Time is not asserted (no
/// timed tests; benches measure speed): the limit only bounds a hang.
fn timeout_for(budget: u64) -> u64 {
    let budget = budget.max(30);
    if cfg!(debug_assertions) {
        budget * 10
    } else {
        budget
    }
}

fn no_panic(what: &str, r: &Run) -> Vec<String> {
    let mut problems = Vec::new();
    if r.stderr.contains("panicked") {
        problems.push(format!("{what}: panicked:\n{}", r.stderr));
    }
    if let Some(sig) = r.signal {
        problems.push(format!("{what}: killed by signal {sig}"));
    }
    if r.code != Some(1) {
        problems.push(format!(
            "{what}: exit status {:?}, expected 1\nstderr: {}",
            r.code, r.stderr
        ));
    }
    problems
}

#[test]
fn committed_files_are_what_their_makers_give() {
    let regen = std::env::var("BILAN_REGEN_CORPUS").is_ok_and(|v| v == "1");
    let dir = corpus_dir();
    let mut total = 0;
    let mut stale = Vec::new();
    for case in cases() {
        let Source::Committed(make) = case.source else { continue };
        let bytes = make();
        total += bytes.len();
        let path = dir.join(case.file);
        if regen {
            std::fs::write(&path, &bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        } else if std::fs::read(&path).ok().as_deref() != Some(bytes.as_slice()) {
            stale.push(case.file);
        }
    }
    assert!(
        stale.is_empty(),
        "{stale:?} differ from what tests/corpus_support makes: BILAN_REGEN_CORPUS=1 cargo test --test corpus"
    );
    assert!(total < 2_000_000, "the committed corpus stays small ({total} bytes)");
}

#[test]
fn the_readme_lists_every_file_and_its_finding() {
    let readme = std::fs::read_to_string(corpus_dir().join("README.md")).expect("fixtures/corpus/README.md");
    for case in cases() {
        let line = readme
            .lines()
            .find(|l| l.starts_with(&format!("| `{}`", case.file)))
            .unwrap_or_else(|| panic!("README.md has no row for `{}`", case.file));
        assert!(
            line.contains(case.rule),
            "README.md row of `{}` does not give {}",
            case.file,
            case.rule
        );
    }
}

#[test]
fn check_gives_each_file_its_finding_in_time() {
    let _serial = serial();
    let tmp = tempfile::tempdir().expect("tempdir");
    let corpus = materialise(tmp.path());
    let mut problems = Vec::new();
    eprintln!(
        "{:<36} {:<15} {:>8} {:>10} {:>10} {:>10} {:>10}",
        "file", "finding", "time (s)", "wait4 MB", "main MB", "worker MB", "tree MB"
    );
    for (case, path) in &corpus {
        if let Some(issue) = case.known_issue.filter(|_| !known_issues_too()) {
            eprintln!("{:<36} skipped (known issue: {issue})", case.file);
            continue;
        }
        let args: Vec<OsString> = vec![
            "check".into(),
            path.into(),
            "--format".into(),
            "json".into(),
            "--timeout".into(),
            timeout_for(case.budget).to_string().into(),
        ];
        let r = run(&args);
        let what = format!("check {}", case.file);
        // `cli.md`: a folder given to `check` stops the run (exit 2) with a
        // French message that points to `bilan batch`; nothing is checked.
        if matches!(case.source, Source::Directory) {
            if r.code != Some(2) || !r.stderr.contains("bilan batch") {
                problems.push(format!(
                    "{what}: expected exit 2 and « bilan batch », got {:?}:\n{}",
                    r.code, r.stderr
                ));
            }
            continue;
        }
        problems.extend(no_panic(&what, &r));
        match serde_json::from_str::<Value>(&r.stdout) {
            Ok(report) => match findings_of(&report, case.file) {
                Some(findings) => problems.extend(judge(case, findings).into_iter().map(|p| format!("{what}: {p}"))),
                None => problems.push(format!("{what}: no report for the file:\n{}", r.stdout)),
            },
            Err(e) => problems.push(format!("{what}: not a JSON report ({e}):\n{}", r.stdout)),
        }
        // Time is printed, not asserted (a loaded machine is slower): the
        // worker's --timeout bounds it, and benches measure speed.
        if r.max_rss_kb / 1024 > MAX_RSS_MB {
            problems.push(format!(
                "{what}: peak memory {} MB, over {MAX_RSS_MB} MB",
                r.max_rss_kb / 1024
            ));
        }
        let tree_kb = r.sampled.main_kb + r.sampled.worker_kb;
        // A worker stopped by its memory limit used up to that limit (512 MB):
        // the tree is then the limit plus the main process, which holds reports only.
        let stopped_by_memory = r.stdout.contains("mémoire nécessaire");
        let ceiling = if stopped_by_memory {
            MAX_TREE_MB + MAX_MAIN_MB
        } else {
            MAX_TREE_MB
        };
        if r.sampled.main_kb / 1024 > MAX_MAIN_MB {
            problems.push(format!(
                "{what}: the main process reached {} MB, over {MAX_MAIN_MB} MB",
                r.sampled.main_kb / 1024
            ));
        }
        if tree_kb / 1024 > ceiling {
            problems.push(format!(
                "{what}: peak memory of the process tree {} MB (main {} + worker {}), over {ceiling} MB",
                tree_kb / 1024,
                r.sampled.main_kb / 1024,
                r.sampled.worker_kb / 1024
            ));
        }
        eprintln!(
            "{:<36} {:<15} {:>8.2} {:>10.1} {:>10.1} {:>10.1} {:>10.1}",
            case.file,
            case.rule,
            r.wall.as_secs_f64(),
            r.max_rss_kb as f64 / 1024.0,
            r.sampled.main_kb as f64 / 1024.0,
            r.sampled.worker_kb as f64 / 1024.0,
            tree_kb as f64 / 1024.0
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn batch_on_a_folder_of_all_of_them() {
    let _serial = serial();
    let tmp = tempfile::tempdir().expect("tempdir");
    let folder = tmp.path().join("retours");
    let mut corpus = materialise(&folder);
    if !known_issues_too() {
        corpus.retain(|(case, _)| case.known_issue.is_none());
    }
    // The committed files are copied next to the generated ones.
    for (case, path) in &corpus {
        if let Source::Committed(_) = case.source {
            std::fs::copy(path, folder.join(case.file)).expect("copied");
        }
    }
    let out = tmp.path().join("sortie");
    let args: Vec<OsString> = vec![
        "batch".into(),
        folder.clone().into(),
        "--out".into(),
        out.clone().into(),
        "--timeout".into(),
        timeout_for(60).to_string().into(),
        "--quiet".into(),
    ];
    let r = run(&args);
    let mut problems = no_panic("batch", &r);
    if r.max_rss_kb / 1024 > MAX_RSS_MB {
        problems.push(format!(
            "batch: peak memory {} MB, over {MAX_RSS_MB} MB",
            r.max_rss_kb / 1024
        ));
    }
    if (r.sampled.main_kb + r.sampled.worker_kb) / 1024 > 2 * MAX_TREE_MB {
        problems.push(format!(
            "batch: main {} MB + largest worker {} MB, over {} MB",
            r.sampled.main_kb / 1024,
            r.sampled.worker_kb / 1024,
            2 * MAX_TREE_MB
        ));
    }
    eprintln!(
        "batch of {} files: {:.2} s, peak {:.1} MB (wait4); main {:.1} MB, largest worker {:.1} MB (sampled)",
        corpus.len(),
        r.wall.as_secs_f64(),
        r.max_rss_kb as f64 / 1024.0,
        r.sampled.main_kb as f64 / 1024.0,
        r.sampled.worker_kb as f64 / 1024.0
    );
    let report: Value = match std::fs::read_to_string(out.join("rapport.json")).map(|t| serde_json::from_str(&t)) {
        Ok(Ok(v)) => v,
        other => panic!(
            "batch wrote no readable rapport.json ({other:?})\n{}",
            problems.join("\n")
        ),
    };
    for (case, _) in &corpus {
        let found = findings_of(&report, &format!("/{}", case.file));
        match (&case.source, found) {
            // A directory given inside a folder is walked (here: empty), not checked.
            (Source::Directory, found) => {
                if found.is_some() {
                    problems.push(format!("batch: the directory {} was checked as a file", case.file));
                }
            }
            (_, Some(findings)) => problems.extend(
                judge(case, findings)
                    .into_iter()
                    .map(|p| format!("batch {}: {p}", case.file)),
            ),
            (_, None) => problems.push(format!("batch: no report for {}", case.file)),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn a_directory_inside_a_batch_folder_is_walked_not_checked() {
    // `batch DIR` walks DIR; `check DIR` refuses it (see the corpus). Here: a
    // directory whose name looks like a workbook, holding one, inside a folder.
    let _serial = serial();
    let tmp = tempfile::tempdir().expect("tempdir");
    let inner = tmp.path().join("dossier.xlsx");
    std::fs::create_dir_all(&inner).expect("dir");
    std::fs::copy(corpus_dir().join("csv-renomme.xlsx"), inner.join("csv-renomme.xlsx")).expect("copied");
    let out = tmp.path().join("sortie");
    let args: Vec<OsString> = vec![
        "batch".into(),
        tmp.path().into(),
        "--out".into(),
        out.clone().into(),
        "--quiet".into(),
    ];
    let r = run(&args);
    let problems = no_panic("batch", &r);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("rapport.json")).expect("rapport.json")).expect("JSON");
    let findings = findings_of(
        &report,
        &Path::new("dossier.xlsx").join("csv-renomme.xlsx").display().to_string(),
    )
    .expect("the inner file is checked");
    assert!(findings.iter().any(|f| f["rule"] == "BILAN-IO-001"), "{findings:?}");
}

#[test]
fn deflate_helpers_are_right() {
    use corpus_support::deflate::*;
    use corpus_support::package::{unpack, zip, Member};
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    for n in [0u64, 1, 7, 258, 1000, 70_000] {
        assert_eq!(crc32_zeros(n), crc32(&vec![0; n as usize]), "{n}");
    }
    let (stream, len) = zeros(1000);
    let bytes = zip(&[Member::deflated("z", stream, crc32_zeros(len), len)]);
    assert_eq!(unpack(&bytes)[0].1, vec![0; len as usize]);

    let mut f = Fixed::new();
    f.literals(b"<a>");
    f.repeat(b"<x>", 1000);
    f.repeat(b"abcde", 3);
    f.repeat(b"q", 2);
    let mut prev: Option<Vec<u8>> = None;
    let mut rows = String::new();
    for r in 95..=1105u32 {
        let row = format!(r#"<row r="{r}"><c r="A{r}"><v>{r}</v></c></row>"#);
        f.like(prev.as_deref(), row.as_bytes());
        rows.push_str(&row);
        prev = Some(row.into_bytes());
    }
    f.literals(b"</a>");
    let (stream, crc, len) = f.finish();
    let bytes = zip(&[Member::deflated("f", stream, crc, len)]);
    let want = format!("<a>{}abcdeabcdeabcdeqq{rows}</a>", "<x>".repeat(1000));
    assert_eq!(String::from_utf8(unpack(&bytes)[0].1.clone()).unwrap(), want);
}

#[test]
fn the_bombs_really_inflate_past_their_limits() {
    use corpus_support::deflate::*;
    // The same stream as the bombs, shorter: it inflates to exactly what it says.
    let (stream, len) = zeros(40_000);
    let bytes = corpus_support::package::zip(&[corpus_support::package::Member::deflated(
        "z",
        stream.clone(),
        crc32_zeros(len),
        len,
    )]);
    assert_eq!(corpus_support::package::unpack(&bytes)[0].1.len() as u64, len);
    // 2 bits per 258 bytes: the ~2 MB bomb holds over 2 GB.
    assert!(len / stream.len() as u64 > 1000, "{len} / {}", stream.len());
}

/// The large-but-legal files stopped by the default memory limit get their
/// findings when `--max-memory` is raised, and the main process stays small
/// (it only receives the report: findings capped per rule).
#[test]
fn large_legal_files_get_their_findings_with_more_memory() {
    let _serial = serial();
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut problems = Vec::new();
    for (make, file, rule, gist) in large_legal() {
        let path = tmp.path().join(file);
        std::fs::write(&path, make()).expect("written");
        let args: Vec<OsString> = vec![
            "check".into(),
            path.into(),
            "--format".into(),
            "json".into(),
            "--max-memory".into(),
            "4294967296".into(),
            "--timeout".into(),
            "600".into(),
        ];
        let r = run(&args);
        let what = format!("check --max-memory 4294967296 {file}");
        problems.extend(no_panic(&what, &r));
        let report: Value = serde_json::from_str(&r.stdout).unwrap_or_default();
        let findings = findings_of(&report, file).cloned().unwrap_or_default();
        let hit = findings
            .iter()
            .any(|f| f["rule"] == rule && f["message"].as_str().is_some_and(|m| m.contains(gist)));
        if !hit {
            problems.push(format!("{what}: expected {rule} « {gist} », got {findings:#?}"));
        }
        if findings.len() > 2_000 {
            problems.push(format!(
                "{what}: {} findings, the cap per rule did not hold",
                findings.len()
            ));
        }
        if r.sampled.main_kb / 1024 > 64 {
            problems.push(format!(
                "{what}: the main process reached {} MB",
                r.sampled.main_kb / 1024
            ));
        }
        eprintln!(
            "{file}: {:.2} s, main {:.1} MB, worker {:.1} MB, tree {:.1} MB",
            r.wall.as_secs_f64(),
            r.sampled.main_kb as f64 / 1024.0,
            r.sampled.worker_kb as f64 / 1024.0,
            (r.sampled.main_kb + r.sampled.worker_kb) as f64 / 1024.0
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
