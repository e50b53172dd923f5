//! `bilan batch`: every return of a campaign at once, in parallel, with the
//! cross-file checks, a machine report and a synthesis workbook.
//!
//! Memory stays bounded: each file's workbook and extracted data are dropped as
//! soon as its annotated report is written; its entry of `rapport.json` and its
//! findings go to disk as it is checked (`ReportStream`, the synthesis's
//! constant-memory sheets), and only a [`Brief`] of it (identity, counts, key
//! figures, its cross-file view) lives until the end.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use globset::GlobSet;
use serde_json::{json, Value};

use crate::finding::{EngineRule, Finding, Severity};
use crate::job::{Checked, Checker, Input, Job};
pub use crate::outcome::{BatchFinding, Brief, Returned, Skipped, Summary};
use crate::pipeline::check::FileReport;
// Transition re-exports (moved items; see the block in lib.rs).
pub use crate::outcome::key_rows;
pub use crate::pipeline::rules::campaign::{parse_expected, read_expected, Expected};
use crate::pipeline::rules::RulePack;

/// What `batch` will look at.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    pub files: Vec<PathBuf>,
    pub skipped: Vec<Skipped>,
    /// Folders that could not be read, and why (each becomes a finding).
    pub unreadable: Vec<(PathBuf, String)>,
    /// Symbolic links to folders that were followed: (link, target).
    pub links: Vec<(PathBuf, PathBuf)>,
}

const WORKBOOK_EXTENSIONS: [&str; 5] = ["xlsx", "xlsm", "xlsb", "xls", "ods"];

/// Walks the given paths. Files named explicitly are always checked (even a
/// pipe or a missing file: they get their finding); files found in directories
/// are checked when they have a workbook extension and match `glob`; hidden and
/// temporary Excel files (`~$x.xlsx`, `.~lock.x#`) are skipped and reported.
/// A symbolic link to a folder is followed once (a folder reached twice, or a
/// loop, is walked once and said); `exclude` (the output folder) is never
/// entered; a folder that cannot be read is listed in `unreadable`.
/// The result is sorted, so runs are reproducible.
pub fn collect_inputs(paths: &[PathBuf], glob: Option<&GlobSet>, exclude: Option<&Path>) -> Inputs {
    let mut inputs = Inputs::default();
    let mut seen_files = std::collections::HashSet::new();
    for root in paths {
        if !root.is_dir() {
            inputs.files.push(root.clone());
            continue;
        }
        let visited = std::cell::RefCell::new(std::collections::HashSet::new());
        let revisits = std::cell::RefCell::new(Vec::new());
        let walker = walkdir::WalkDir::new(root)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| {
                if !e.file_type().is_dir() {
                    return true;
                }
                let Ok(canonical) = e.path().canonicalize() else {
                    return true;
                };
                if exclude.is_some_and(|x| x == canonical) {
                    return false;
                }
                if !visited.borrow_mut().insert(canonical.clone()) {
                    revisits.borrow_mut().push((e.path().to_path_buf(), canonical));
                    return false;
                }
                true
            });
        for entry in walker {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let path = e.path().map(Path::to_path_buf).unwrap_or_else(|| root.clone());
                    match e.loop_ancestor() {
                        Some(ancestor) => inputs.skipped.push(Skipped {
                            path,
                            reason: format!(
                                "lien symbolique en boucle vers {} (dossier déjà parcouru)",
                                ancestor.display()
                            ),
                        }),
                        None => {
                            let why = e
                                .io_error()
                                .map(crate::output::io_fr)
                                .unwrap_or_else(|| "illisible".to_string());
                            inputs.unreadable.push((path, why));
                        }
                    }
                    continue;
                }
            };
            let path = entry.path().to_path_buf();
            if entry.file_type().is_dir() {
                if entry.path_is_symlink() && entry.depth() > 0 {
                    if let Ok(target) = path.canonicalize() {
                        inputs.links.push((path, target));
                    }
                }
                continue;
            }
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with("~$") || name.starts_with(".~lock") {
                inputs.skipped.push(Skipped {
                    path,
                    reason: "fichier temporaire d'Excel ou de LibreOffice (classeur ouvert)".into(),
                });
                continue;
            }
            let below_root = path.strip_prefix(root).unwrap_or(&path);
            if below_root
                .components()
                .any(|c| c.as_os_str().to_string_lossy().starts_with('.'))
            {
                inputs.skipped.push(Skipped {
                    path,
                    reason: "fichier caché".into(),
                });
                continue;
            }
            let relative = path.strip_prefix(root).unwrap_or(&path);
            if let Some(g) = glob {
                if !g.is_match(relative) && !g.is_match(&name) {
                    continue;
                }
            }
            let ext = path
                .extension()
                .map(|e| e.to_string_lossy().to_ascii_lowercase())
                .unwrap_or_default();
            if !WORKBOOK_EXTENSIONS.contains(&ext.as_str()) {
                inputs.skipped.push(Skipped {
                    path,
                    reason: "pas une extension de classeur (.xlsx, .xlsm, .xlsb, .xls, .ods)".into(),
                });
                continue;
            }
            // The same file reached through two links is checked once.
            if let Ok(canonical) = path.canonicalize() {
                if !seen_files.insert(canonical) {
                    continue;
                }
            }
            inputs.files.push(path);
        }
        for (path, target) in revisits.into_inner() {
            inputs.skipped.push(Skipped {
                path,
                reason: format!("dossier déjà parcouru par un autre chemin ({})", target.display()),
            });
        }
    }
    inputs.files.sort();
    inputs.files.dedup();
    inputs.skipped.sort_by(|a, b| a.path.cmp(&b.path));
    inputs.links.sort();
    inputs
}

/// Checks every file, in parallel (each in a worker process when the checker
/// is isolated), with the [`Job`] `job(i)` gives for the i-th. Results keep the
/// input order whatever the number of threads. A file whose annotated report
/// could not be written gets BILAN-OUT-001. After an interruption the
/// remaining files are not checked (and the result is shorter).
pub fn check_all(
    checker: &Checker,
    files: &[PathBuf],
    jobs: usize,
    job: &(dyn Fn(usize) -> (Job, Option<String>) + Sync),
    progress: &(dyn Fn() + Sync),
) -> Vec<Summary> {
    check_all_with(checker, files, jobs, job, progress, &|_, _| {})
}

/// [`check_all`], telling `done(i, summary)` as soon as the i-th file is
/// checked (in the order files finish, from the worker threads).
pub fn check_all_with(
    checker: &Checker,
    files: &[PathBuf],
    jobs: usize,
    job: &(dyn Fn(usize) -> (Job, Option<String>) + Sync),
    progress: &(dyn Fn() + Sync),
    done: &(dyn Fn(usize, &Summary) + Sync),
) -> Vec<Summary> {
    check_all_kept(checker, files, jobs, job, progress, &|i, s| {
        done(i, &s);
        s
    })
}

/// [`check_all`], keeping of the i-th file what `keep(i, summary)` makes of
/// its summary, as soon as it is checked (from the worker threads): a batch
/// keeps a [`Brief`] and sends the findings to a scratch file.
pub fn check_all_kept<T: Send>(
    checker: &Checker,
    files: &[PathBuf],
    jobs: usize,
    job: &(dyn Fn(usize) -> (Job, Option<String>) + Sync),
    progress: &(dyn Fn() + Sync),
    keep: &(dyn Fn(usize, Summary) -> T + Sync),
) -> Vec<T> {
    let work = |i: usize, path: &PathBuf| -> Option<Summary> {
        if crate::job::isolate::interrupted() {
            return None;
        }
        let (job, annotated_name) = job(i);
        let checked = catch_unwind(AssertUnwindSafe(|| checker.process(&Input::Path(path.clone()), &job)))
            .unwrap_or_else(|panic| {
                let what = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                Checked {
                    report: internal_failure(path, &what),
                    key_rows: Vec::new(),
                    annotated: job.annotated.as_ref().map(|_| Err("erreur interne".to_string())),
                    extraction: None,
                    cross: None,
                }
            });
        progress();
        let mut report = checked.report;
        report.workbook = None;
        report.extraction = None;
        let annotated = match (checked.annotated, annotated_name) {
            (Some(Ok(())), name) => name,
            (Some(Err(reason)), name) => {
                report
                    .findings
                    .push(out_failure(name.as_deref().unwrap_or(""), &reason));
                None
            }
            (None, _) => None,
        };
        Some(Summary {
            report,
            key_rows: checked.key_rows,
            annotated,
            review: None,
            cross: checked.cross,
        })
    };
    let work = |i: usize, path: &PathBuf| -> Option<T> { Some(keep(i, work(i, path)?)) };
    // Files are taken in input order, each thread the next one not taken (not
    // one half of the list each, as a parallel iterator would split it): files
    // finish nearly in order, so what waits for its turn downstream (the
    // entries of `rapport.json`, the rows of the synthesis) stays a few files.
    // No thread ends before the others are done: a worker process dies with
    // the thread that started it (`PR_SET_PDEATHSIG`), and another thread may
    // be using it for the last files.
    let threads = jobs.clamp(1, files.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let all_done = std::sync::Barrier::new(threads);
    let take = || -> Vec<(usize, T)> {
        // A thread that panicked loses its files (the batch is then shorter
        // than its inputs) but still meets the others.
        let mine = catch_unwind(AssertUnwindSafe(|| {
            let mut mine = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(path) = files.get(i) else { break };
                if let Some(t) = work(i, path) {
                    mine.push((i, t));
                }
            }
            mine
        }))
        .unwrap_or_default();
        all_done.wait();
        mine
    };
    let mut all: Vec<(usize, T)> = std::thread::scope(|scope| {
        let others: Vec<_> = (1..threads).map(|_| scope.spawn(take)).collect();
        let mut all = take();
        for t in others {
            all.extend(t.join().unwrap_or_default());
        }
        all
    });
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, t)| t).collect()
}

/// BILAN-OUT-001: the annotated report of a file could not be written.
pub fn out_failure(name: &str, reason: &str) -> Finding {
    Finding::engine(EngineRule::Out001,
        format!("Le classeur annoté {name} n'a pas pu être écrit : {reason}. Le contrôle du fichier est complet ; libérez de la place ou corrigez les droits, puis relancez."),
    )
}

fn internal_failure(path: &Path, what: &str) -> FileReport {
    FileReport::failed(
        &crate::output::path_text(path),
        None,
        Finding::engine(EngineRule::Int001,
            format!("Le contrôle de ce fichier a échoué sur une erreur interne ({what}) ; les autres fichiers ont été contrôlés. Signalez ce fichier à l'équipe bilan."),
        ),
    )
}

/// Runs the cross-file rules (`rules/batch/`) over the set of returns
/// (summaries, or the briefs a batch keeps).
pub fn cross_checks<R: Returned>(
    rules: &RulePack,
    summaries: &[R],
    expected: Option<&[Expected]>,
) -> Vec<BatchFinding> {
    let data = batch_data(rules, summaries, expected);
    let mut out = Vec::new();
    for (rule, result) in rules.run_batch_on(data) {
        match result {
            Ok(reports) => {
                for r in reports {
                    let index = r
                        .pointer
                        .strip_prefix("/returns/")
                        .and_then(|rest| rest.split('/').next())
                        .and_then(|i| i.parse::<usize>().ok());
                    let summary = index.and_then(|i| summaries.get(i));
                    let file = summary.map(|s| s.path().to_string());
                    // `/returns/3/data/maquette/dossiers_axe1`: the cell of
                    // `/maquette/dossiers_axe1` in the 4th return.
                    let origin = index.and_then(|i| {
                        let inner = r.pointer.strip_prefix(&format!("/returns/{i}/data"))?;
                        let cross = summary?.cross()?;
                        nearest_origin(cross.get("cells")?, inner)
                    });
                    let figures = crate::pipeline::rules::figures(rule, &r);
                    let severity = if r.reference {
                        Severity::Info
                    } else {
                        rule.meta.severity
                    };
                    let mut f = Finding::new(&rule.meta.id, severity, r.message).with_pointer(r.pointer);
                    if let Some(o) = origin {
                        f = f.at(&o.sheet, o.cell.or(o.range.map(|x| x.start))).with_range(o.range);
                    }
                    f.figures = figures;
                    out.push(BatchFinding { finding: f, file });
                }
            }
            Err(message) => out.push(BatchFinding {
                finding: Finding::engine(
                    EngineRule::Rule001,
                    format!(
                        "La règle {} n'a pas pu être appliquée au lot : {message}.",
                        rule.meta.id
                    ),
                ),
                file: None,
            }),
        }
    }
    out.sort_by(|a, b| {
        (a.finding.rule.as_str(), &a.file, &a.finding.pointer).cmp(&(
            b.finding.rule.as_str(),
            &b.file,
            &b.finding.pointer,
        ))
    });
    out
}

/// What the cross-file rules read, `{returns, expected, has_expected}`, as
/// Rhai values: the value [`RulePack::run_batch`] makes of the same JSON
/// document, built one return at a time, so that the batch is never held as
/// JSON too (a `serde_json::Value` of 5 000 returns weighs tens of MB).
fn batch_data<R: Returned>(rules: &RulePack, summaries: &[R], expected: Option<&[Expected]>) -> rhai::Dynamic {
    use crate::pipeline::rules::api::to_dynamic;
    let mut returns = rhai::Array::with_capacity(summaries.len());
    for s in summaries {
        let cross = s.cross();
        let cross = cross.as_deref();
        let one = json!({
            "path": s.path(),
            "file": file_name(s.path()),
            "template": s.template(),
            "organisation": s.organisation(),
            "exercice": s.exercice().and_then(|e| e.parse::<i64>().ok()),
            "cut_off": s.cut_off(),
            "status": s.status(),
            "data": cross.map(|c| seen_data(rules, s.template(), c)).unwrap_or(Value::Null),
            "decimals": cross.and_then(|c| c.get("decimals")).cloned().unwrap_or_else(|| json!({})),
        });
        returns.push(to_dynamic(&one));
    }
    let expected_json: Vec<Value> = expected
        .unwrap_or_default()
        .iter()
        .map(|e| json!({"template": e.template, "organisation": e.organisation}))
        .collect();
    let mut data = rhai::Map::new();
    data.insert("returns".into(), rhai::Dynamic::from_array(returns));
    data.insert("expected".into(), to_dynamic(&Value::Array(expected_json)));
    data.insert("has_expected".into(), rhai::Dynamic::from_bool(expected.is_some()));
    rhai::Dynamic::from_map(data)
}

/// A return's data as the cross-file rules see it. Data kept before the
/// cross-file views existed (a submission stored by the desk) holds the
/// template's values themselves: it goes through the view here.
fn seen_data(rules: &RulePack, template: Option<&str>, cross: &Value) -> Value {
    let data = cross.get("data").cloned().unwrap_or(Value::Null);
    if cross.get("view").is_some_and(|v| v == true) {
        return data;
    }
    match template.and_then(|t| rules.cross_view(t, &data)) {
        Some(Ok(view)) => view,
        Some(Err(_)) => Value::Null,
        None => data,
    }
}

/// The origin of `pointer` in a return's `cells`, or of its nearest ancestor.
fn nearest_origin(cells: &Value, pointer: &str) -> Option<crate::base::model::Origin> {
    let mut p = pointer;
    loop {
        if let Some(o) = cells.get(p) {
            return serde_json::from_value(o.clone()).ok();
        }
        match p.rfind('/') {
            Some(0) | None => return None,
            Some(i) => p = &p[..i],
        }
    }
}

/// The last component of a path, how messages name a file.
fn file_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned())
}

/// The machine report of a batch (`rapport.json`).
pub fn json_report(
    summaries: &[Summary],
    skipped: &[Skipped],
    batch: &[BatchFinding],
    rule_pack: &str,
    checked_at: chrono::DateTime<chrono::Utc>,
) -> Value {
    let files: Vec<FileReport> = Vec::new();
    let mut value = crate::report::json::report(&files, rule_pack, checked_at, Vec::new());
    value["files"] = Value::Array(summaries.iter().map(file_entry).collect());
    value["batch"] = Value::Array(
        batch
            .iter()
            .map(|b| crate::report::json::finding_json(&b.finding, b.file.as_deref().unwrap_or("")))
            .collect(),
    );
    value["skipped"] = Value::Array(
        skipped
            .iter()
            .map(|s| json!({"path": crate::output::path_text(&s.path), "reason": s.reason}))
            .collect(),
    );
    value
}

/// A file's entry of `rapport.json`.
pub fn file_entry(s: &Summary) -> Value {
    let mut f = crate::report::json::file_json(&s.report);
    if let Some(a) = &s.annotated {
        f["annotated_report"] = json!(a);
    }
    if let Some(r) = &s.review {
        f["review"] = r.to_json();
    }
    f
}

/// `rapport.json` written as the files are checked: each file's entry goes
/// to a side file as soon as it and those before it are done (an entry that
/// finishes early waits, alone, for its turn), so the report of a batch is
/// never held whole in memory; [`ReportStream::finish`] writes the document
/// around the entries. The text is the one [`json_report`] gives, pretty
/// printed, byte for byte.
pub struct ReportStream {
    state: std::sync::Mutex<StreamState>,
    entries: PathBuf,
}

struct StreamState {
    out: Option<std::io::BufWriter<std::fs::File>>,
    next: usize,
    waiting: std::collections::BTreeMap<usize, String>,
    written: usize,
    error: Option<std::io::Error>,
}

impl ReportStream {
    /// Entries go to `entries` (a scratch file next to the report).
    pub fn new(entries: PathBuf) -> Self {
        let (out, error) = match std::fs::File::create(&entries) {
            Ok(f) => (Some(std::io::BufWriter::new(f)), None),
            Err(e) => (None, Some(e)),
        };
        Self {
            state: std::sync::Mutex::new(StreamState {
                out,
                next: 0,
                waiting: Default::default(),
                written: 0,
                error,
            }),
            entries,
        }
    }

    /// The i-th file's entry (indices from 0, each given once; the unreadable
    /// folders' entries follow the files').
    pub fn push(&self, i: usize, s: &Summary) {
        let text = indented(&file_entry(s), "    ");
        let Ok(mut st) = self.state.lock() else { return };
        st.waiting.insert(i, text);
        loop {
            let next = st.next;
            let Some(text) = st.waiting.remove(&next) else { break };
            st.next += 1;
            let first = st.written == 0;
            st.written += 1;
            if let Some(out) = st.out.as_mut() {
                use std::io::Write;
                let r =
                    if first { Ok(()) } else { out.write_all(b",\n") }.and_then(|()| out.write_all(text.as_bytes()));
                if let Err(e) = r {
                    st.out = None;
                    st.error = Some(e);
                }
            }
        }
    }

    /// Writes `path`: `document` (the report without its files, as
    /// [`json_report`] makes it from no summary) with the entries in place.
    pub fn finish(self, document: &Value, path: &Path) -> Result<(), crate::output::OutputError> {
        use std::io::{Read, Write};
        let io = |source| crate::output::OutputError {
            path: path.to_path_buf(),
            source,
        };
        let st = self
            .state
            .into_inner()
            .map_err(|_| io(std::io::Error::other("état du rapport perdu")))?;
        if let Some(e) = st.error {
            return Err(io(e));
        }
        if let Some(out) = st.out {
            // A scratch file read back at once: flushed, not synced (the
            // report itself is).
            out.into_inner().map_err(|e| io(e.into_error()))?;
        }
        let text = serde_json::to_string_pretty(document).unwrap_or_default() + "\n";
        const EMPTY: &str = "\n  \"files\": []";
        let (head, tail) = match text.find(EMPTY) {
            Some(at) if st.written > 0 => (&text[..at + EMPTY.len() - 1], &text[at + EMPTY.len() - 1..]),
            _ => (text.as_str(), ""),
        };
        let mut file = std::io::BufWriter::new(std::fs::File::create(path).map_err(io)?);
        file.write_all(head.as_bytes()).map_err(io)?;
        if st.written > 0 {
            file.write_all(b"\n").map_err(io)?;
            let mut entries = std::fs::File::open(&self.entries).map_err(io)?;
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let n = entries.read(&mut buf).map_err(io)?;
                if n == 0 {
                    break;
                }
                file.write_all(&buf[..n]).map_err(io)?;
            }
            file.write_all(b"\n  ").map_err(io)?;
        }
        file.write_all(tail.as_bytes()).map_err(io)?;
        file.into_inner()
            .map_err(|e| io(e.into_error()))?
            .sync_all()
            .map_err(io)?;
        let _ = std::fs::remove_file(&self.entries);
        Ok(())
    }
}

/// `value` pretty printed (as `serde_json::to_string_pretty`), each line
/// after the first indented by `indent`, the first too: an element of an
/// array nested that deep. JSON strings hold no raw line break.
fn indented(value: &Value, indent: &str) -> String {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(indent);
        out.push_str(line);
    }
    out
}
