//! `bilan batch`: every return of a campaign at once, in parallel, with the
//! cross-file checks, a machine report and a synthesis workbook.
//!
//! Memory stays bounded: each file's workbook and extracted data are dropped as
//! soon as its annotated report is written and its key figures are kept; only
//! summaries (identity, findings, a few figures) live until the end.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use globset::GlobSet;
use rayon::prelude::*;
use serde_json::{json, Value};

use crate::check::{Checker, FileReport};
use crate::finding::{Finding, Severity};
pub use crate::outcome::{BatchFinding, Skipped, Summary};
use crate::rules::RulePack;
use crate::template::TemplateSet;

/// What `batch` will look at.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    pub files: Vec<PathBuf>,
    pub skipped: Vec<Skipped>,
}

const WORKBOOK_EXTENSIONS: [&str; 5] = ["xlsx", "xlsm", "xlsb", "xls", "ods"];

/// Walks the given paths. Files named explicitly are always checked (even a
/// pipe or a missing file: they get their finding); files found in directories
/// are checked when they have a workbook extension and match `glob`; hidden and
/// temporary Excel files (`~$x.xlsx`, `.~lock.x#`) are skipped and reported.
/// The result is sorted, so runs are reproducible.
pub fn collect_inputs(paths: &[PathBuf], glob: Option<&GlobSet>) -> Inputs {
    let mut inputs = Inputs::default();
    for root in paths {
        if !root.is_dir() {
            inputs.files.push(root.clone());
            continue;
        }
        let walker = walkdir::WalkDir::new(root).follow_links(false).sort_by_file_name();
        for entry in walker {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let path = e.path().map(Path::to_path_buf).unwrap_or_else(|| root.clone());
                    inputs.skipped.push(Skipped {
                        path,
                        reason: match e.io_error() {
                            Some(io) => format!("illisible : {}", crate::messages::io_error(io)),
                            None => "illisible : boucle de liens symboliques".to_string(),
                        },
                    });
                    continue;
                }
            };
            if entry.depth() > 0 && entry.file_type().is_dir() {
                continue;
            }
            if entry.file_type().is_dir() {
                continue;
            }
            let path = entry.path().to_path_buf();
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
            inputs.files.push(path);
        }
    }
    inputs.files.sort();
    inputs.files.dedup();
    inputs.skipped.sort_by(|a, b| a.path.cmp(&b.path));
    inputs
}

/// Key figures of a return, as the template's `x-template.synthese` says:
/// `{"rows": "/table" (optional), "columns": [{"label", "pointer", "total"}]}`.
/// Pointers starting with `/` are read in the return, others in the row.
pub fn key_rows(templates: &TemplateSet, report: &FileReport) -> Vec<Vec<Value>> {
    let (Some(t), Some(ex)) = (
        report.template.as_deref().and_then(|id| templates.get(id)),
        report.extraction.as_ref(),
    ) else {
        return Vec::new();
    };
    let Some(spec) = t.schema.pointer("/x-template/synthese") else {
        return Vec::new();
    };
    let columns = spec
        .get("columns")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let read = |row: Option<&Value>, p: &str| -> Value {
        let v = if p.starts_with('/') {
            ex.data.pointer(p)
        } else {
            row.and_then(|r| r.get(p))
        };
        let absolute = if p.starts_with('/') {
            p.to_string()
        } else {
            String::new()
        };
        match v {
            Some(v) if absolute.is_empty() || !ex.is_unusable(&absolute) => v.clone(),
            _ => Value::Null,
        }
    };
    let pointers: Vec<String> = columns
        .iter()
        .map(|c| c.get("pointer").and_then(Value::as_str).unwrap_or_default().to_string())
        .collect();
    match spec.get("rows").and_then(Value::as_str) {
        Some(rows) => ex
            .data
            .pointer(rows)
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .map(|item| pointers.iter().map(|p| read(Some(item), p)).collect())
                    .collect()
            })
            .unwrap_or_default(),
        None => vec![pointers.iter().map(|p| read(None, p)).collect()],
    }
}

/// Checks every file, in parallel, calling `after` on each report before its
/// cells are dropped (to write the annotated report). Results keep the input
/// order whatever the number of threads.
pub fn check_all<F>(
    checker: &Checker,
    files: &[PathBuf],
    jobs: usize,
    after: F,
    progress: &(dyn Fn() + Sync),
) -> Vec<Summary>
where
    F: Fn(usize, &FileReport) -> Option<String> + Sync,
{
    let work = |i: usize, path: &PathBuf| -> Summary {
        let report = catch_unwind(AssertUnwindSafe(|| checker.check_path(path))).unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            internal_failure(path, &what)
        });
        let annotated = catch_unwind(AssertUnwindSafe(|| after(i, &report))).unwrap_or(None);
        let key = key_rows(&checker.templates, &report);
        progress();
        // The cells and the extracted data are not needed any more.
        let mut report = report;
        report.workbook = None;
        report.extraction = None;
        Summary {
            report,
            key_rows: key,
            annotated,
        }
    };
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs.max(1)).build();
    match pool {
        Ok(pool) => pool.install(|| files.par_iter().enumerate().map(|(i, p)| work(i, p)).collect()),
        Err(_) => files.iter().enumerate().map(|(i, p)| work(i, p)).collect(),
    }
}

fn internal_failure(path: &Path, what: &str) -> FileReport {
    FileReport::failed(
        &path.display().to_string(),
        None,
        Finding::new(
            "BILAN-IO-001",
            Severity::Error,
            format!("Le contrôle de ce fichier a échoué sur une erreur interne ({what}) ; les autres fichiers ont été contrôlés. Signalez ce fichier à l'équipe bilan."),
        ),
    )
}

/// One expected return of `--expected LIST.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub template: String,
    pub organisation: String,
}

/// Reads `--expected`: a CSV (`,` or `;`) with columns `modele`/`template` and
/// `organisation` (a header row is recognised and skipped).
pub fn read_expected(path: &Path) -> Result<Vec<Expected>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| crate::messages::io_failure("lecture", path, &e))?;
    let delimiter = if text.lines().next().is_some_and(|l| l.contains(';')) {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|_| format!("{} : ligne {} illisible (CSV mal formé)", path.display(), i + 1))?;
        let cells: Vec<&str> = record.iter().map(str::trim).collect();
        if cells.iter().all(|c| c.is_empty()) {
            continue;
        }
        if i == 0
            && cells.first().is_some_and(|c| {
                matches!(
                    crate::values::normalize_label(c).as_str(),
                    "modele" | "template" | "gabarit"
                )
            })
        {
            continue;
        }
        match cells.as_slice() {
            [template, organisation, ..] if !template.is_empty() && !organisation.is_empty() => out.push(Expected {
                template: template.to_string(),
                organisation: organisation.to_string(),
            }),
            _ => {
                return Err(format!(
                    "{} : ligne {} : il faut deux colonnes, modèle et organisation",
                    path.display(),
                    i + 1
                ))
            }
        }
    }
    Ok(out)
}

/// Runs the cross-file rules (`rules/batch/`) over the set of returns.
pub fn cross_checks(rules: &RulePack, summaries: &[Summary], expected: Option<&[Expected]>) -> Vec<BatchFinding> {
    let returns: Vec<Value> = summaries
        .iter()
        .map(|s| {
            let r = &s.report;
            json!({
                "path": r.path,
                "template": r.template,
                "organisation": r.organisation,
                "exercice": r.exercice.as_ref().and_then(|e| e.parse::<i64>().ok()),
                "cut_off": r.cut_off,
                "status": r.status(),
            })
        })
        .collect();
    let expected_json: Vec<Value> = expected
        .unwrap_or_default()
        .iter()
        .map(|e| json!({"template": e.template, "organisation": e.organisation}))
        .collect();
    let data = json!({ "returns": returns, "expected": expected_json, "has_expected": expected.is_some() });
    let mut out = Vec::new();
    for (rule, result) in rules.run_batch(&data) {
        match result {
            Ok(reports) => {
                for r in reports {
                    let file = r
                        .pointer
                        .strip_prefix("/returns/")
                        .and_then(|rest| rest.split('/').next())
                        .and_then(|i| i.parse::<usize>().ok())
                        .and_then(|i| summaries.get(i))
                        .map(|s| s.report.path.clone());
                    let figures = crate::rules::figures(rule, &r);
                    let mut f = Finding::new(&rule.meta.id, rule.meta.severity, r.message).with_pointer(r.pointer);
                    f.figures = figures;
                    out.push(BatchFinding { finding: f, file });
                }
            }
            Err(message) => out.push(BatchFinding {
                finding: Finding::new(
                    "BILAN-RULE-001",
                    Severity::Error,
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
    let files: Vec<Value> = summaries
        .iter()
        .map(|s| {
            let mut f = crate::report::json::file_json(&s.report);
            if let Some(a) = &s.annotated {
                f["annotated_report"] = json!(a);
            }
            f
        })
        .collect();
    value["files"] = Value::Array(files);
    value["batch"] = Value::Array(
        batch
            .iter()
            .map(|b| crate::report::json::finding_json(&b.finding, b.file.as_deref().unwrap_or("")))
            .collect(),
    );
    value["skipped"] = Value::Array(
        skipped
            .iter()
            .map(|s| json!({"path": s.path.display().to_string(), "reason": s.reason}))
            .collect(),
    );
    value
}
