//! `bilan batch`: every return of a campaign, the cross-file checks and the
//! batch outputs (`rapport.json` streamed, `synthese.xlsx`, `annotes/`).

use rust_xlsxwriter::XlsxError;

use super::*;
use crate::outcome::Brief;

/// `bilan batch`: inputs and outputs.
#[derive(Debug, Clone, Default)]
pub struct BatchOptions {
    pub paths: Vec<PathBuf>,
    /// `synthese.xlsx`, `rapport.json`, `annotes/`.
    pub out: PathBuf,
    pub glob: Vec<String>,
    /// Files checked at once (default: every core).
    pub jobs: Option<usize>,
    /// `--expected LIST.csv`.
    pub expected: Option<PathBuf>,
    /// Write `annotes/<name>.controle.xlsx`.
    pub annotated: bool,
}

/// Told how a batch goes (a progress bar, a web page).
pub trait Progress: Sync {
    /// The number of files to check, once known.
    fn start(&self, _total: usize) {}
    /// One more file checked.
    fn tick(&self) {}
}

/// No progress shown.
impl Progress for () {}

/// What `batch` did.
#[derive(Debug)]
pub struct BatchRun {
    /// What the batch kept of each return (its findings are in `rapport.json`
    /// and `synthese.xlsx`), in input order, the unreadable folders last.
    pub returns: Vec<Brief>,
    pub skipped: Vec<Skipped>,
    pub cross: Vec<BatchFinding>,
    pub checked_at: DateTime<Utc>,
    /// Symbolic links to folders that were followed: (link, target).
    pub links: Vec<(PathBuf, PathBuf)>,
    /// Outputs that could not be written, in French (the run's exit status is 2).
    pub failures: Vec<String>,
}

/// Checks every return found under `opts.paths` and writes the batch outputs:
/// one run at a time per output folder (a lock), never into or over an input,
/// every output written aside and renamed into place together at the end.
pub fn batch(checker: &Checker, opts: &BatchOptions, progress: &dyn Progress) -> Result<BatchRun, RunError> {
    for p in &opts.paths {
        batch_input(p)?;
    }
    let glob = if opts.glob.is_empty() {
        None
    } else {
        let mut builder = globset::GlobSetBuilder::new();
        for g in &opts.glob {
            builder.add(globset::Glob::new(g).map_err(|_| {
                message(format!(
                    "motif --glob « {g} » invalide (crochet ou accolade non refermé ? exemple : '*.xlsx')"
                ))
            })?);
        }
        Some(
            builder
                .build()
                .map_err(|_| message("motifs --glob invalides (exemple : '*.xlsx')"))?,
        )
    };
    let campaign = checker.rules.campaign.as_deref();
    let expected = match (&opts.expected, campaign.and_then(|c| c.expected.clone())) {
        (Some(_), Some(_)) => {
            return Err(message(format!(
                "la campagne fixe déjà les retours attendus (attendus = « {} ») : retirez --expected, ou la clé attendus du fichier de campagne",
                campaign.and_then(|c| c.expected_file.as_deref()).unwrap_or("")
            )))
        }
        (Some(p), None) => Some(batch::read_expected(p).map_err(RunError::Message)?),
        (None, from_campaign) => from_campaign,
    };
    if let Some(n) = opts.jobs {
        in_range("--jobs", n as u64, (1, MAX_JOBS as u64), "")?;
    }
    create_dir(&opts.out)?;
    let out = opts.out.canonicalize().map_err(|e| {
        message(format!(
            "dossier de sortie {} inaccessible : {}",
            opts.out.display(),
            output::io_fr(&e)
        ))
    })?;
    for p in &opts.paths {
        if p.canonicalize().is_ok_and(|c| c == out) {
            return Err(message(format!(
                "le dossier de sortie {} est aussi un dossier à contrôler : ses rapports remplaceraient des retours. Choisissez un dossier --out à part (il peut être à l'intérieur : il ne sera pas parcouru)",
                opts.out.display()
            )));
        }
    }
    let _lock = output::Lock::acquire(&opts.out).map_err(|e| RunError::Message(e.to_string()))?;
    output::remove_stale(&opts.out);
    let inputs = batch::collect_inputs(&opts.paths, glob.as_ref(), Some(&out));
    // An input named explicitly may be one of the outputs.
    for f in &inputs.files {
        let Ok(c) = f.canonicalize() else { continue };
        if c.starts_with(out.join("annotes")) || c == out.join("rapport.json") || c == out.join("synthese.xlsx") {
            return Err(message(format!(
                "{} est une sortie de bilan dans le dossier --out {} : il serait remplacé. Choisissez un autre dossier --out",
                f.display(),
                opts.out.display()
            )));
        }
    }
    let staging = output::Staging::new(&opts.out)?;
    let annotes = staging.dir.join("annotes");
    if opts.annotated {
        create_dir(&annotes)?;
    }
    let names = output::report_names(&inputs.files, &|_| false);
    let checked_at = Utc::now();
    progress.start(inputs.files.len());
    let jobs = opts
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    let job = |i: usize| -> (Job, Option<String>) {
        let name = names.get(i).filter(|_| opts.annotated);
        (
            Job {
                annotated: name.map(|n| output::path_to_bytes(&annotes.join(n))),
                checked_at: checked_at.timestamp(),
                key_rows: true,
                cross: true,
                ..Job::default()
            },
            name.map(|n| format!("annotes/{n}")),
        )
    };
    // Each file, once checked, goes to a collector thread that takes the files
    // in input order: the file's entry of rapport.json (`ReportStream`), its
    // row of the synthesis and its findings (`synthese::Writer`, whose sheets
    // wait on disk), and its `Brief`, all that stays of it in memory. The
    // workers never wait for that work, and once the last file is checked only
    // the end of the synthesis is left to write.
    let stream = batch::ReportStream::new(staging.dir.join(".rapport-fichiers.tmp"));
    let shown = report::print::Names::new(&opts.paths);
    let unreadable: Vec<Summary> = inputs
        .unreadable
        .iter()
        .map(|(dir, why)| Summary {
            report: FileReport::failed(
                &dir.display().to_string(),
                None,
                crate::finding::Finding::engine(
                    crate::finding::EngineRule::Io001,
                    format!("Dossier illisible ({why}) : les retours qu'il contient n'ont pas été contrôlés."),
                ),
            ),
            key_rows: Vec::new(),
            annotated: None,
            review: None,
            cross: None,
        })
        .collect();
    let total = inputs.files.len() + unreadable.len();
    let writer = report::synthese::Writer::start(
        total,
        false,
        &inputs.skipped,
        &checker.templates,
        checked_at,
        &checker.rules.name,
        &shown,
        campaign,
    );
    let (tx, rx) = std::sync::mpsc::channel::<(usize, Summary)>();
    let collected = std::thread::scope(|scope| {
        let collector = scope.spawn(|| collect(rx, &stream, writer, total));
        let first = inputs.files.len();
        batch::check_all_kept(checker, &inputs.files, jobs, &job, &|| progress.tick(), &|i, s| {
            let _ = tx.send((i, s));
        });
        for (k, s) in unreadable.into_iter().enumerate() {
            let _ = tx.send((first + k, s));
        }
        drop(tx);
        collector.join()
    });
    if crate::job::isolate::interrupted() {
        return Err(RunError::Interrupted);
    }
    const INTERNAL: &str =
        "erreur interne pendant le contrôle du lot : aucune sortie n'a été remplacée ; relancez, et signalez-le à l'équipe bilan";
    let Ok(Collected {
        mut returns,
        mut failures,
        writer,
    }) = collected
    else {
        return Err(message(INTERNAL));
    };
    // The workers are done: what is left runs here (they start again for
    // the annotated workbooks that cross-file findings change).
    if let Some(isolation) = &checker.isolation {
        isolation.end_idle();
    }
    if returns.len() < total {
        // A file's result never came (its thread stopped): not a complete batch.
        return Err(message(INTERNAL));
    }
    let cross = batch::cross_checks(&checker.rules, &returns, expected.as_deref());
    for r in returns.iter_mut() {
        r.cross = None;
    }
    // The annotated workbook of a return the cross-file rules speak about (the
    // dashboard a list of operations contradicts) shows those findings too.
    // Several at once, as the files were checked: the workers do not wait
    // for one another.
    if opts.annotated {
        let again: Vec<(usize, Vec<crate::finding::Finding>)> = (0..inputs.files.len())
            .map(|i| (i, findings_about(&cross, i)))
            .filter(|(i, extra)| !extra.is_empty() && names.get(*i).is_some())
            .collect();
        let annotate = |(i, extra): (usize, Vec<crate::finding::Finding>)| -> Option<String> {
            let (file, name) = (inputs.files.get(i)?, names.get(i)?);
            let job = Job {
                annotated: Some(output::path_to_bytes(&annotes.join(name))),
                checked_at: checked_at.timestamp(),
                extra_findings: extra,
                ..Job::default()
            };
            match checker.process(&Input::Path(file.clone()), &job).annotated {
                Some(Err(reason)) => Some(format!("annotes/{name} : {reason}")),
                _ => None,
            }
        };
        use rayon::prelude::*;
        let failed: Vec<Option<String>> = match rayon::ThreadPoolBuilder::new().num_threads(jobs.max(1)).build() {
            Ok(pool) => pool.install(|| again.into_par_iter().map(annotate).collect()),
            Err(_) => again.into_iter().map(annotate).collect(),
        };
        failures.extend(failed.into_iter().flatten());
    }
    let mut json = batch::json_report(&[], &inputs.skipped, &cross, &checker.rules.name, checked_at);
    report::json::add_campaign(&mut json, &checker.rules);
    let written_json = stream.finish(&json, &staging.dir.join("rapport.json"));
    drop(json);
    let synthese = writer
        .and_then(|w| w.finish(&returns, &cross))
        .map_err(|e| format!("synthese.xlsx : {}", crate::base::messages::xlsx_error(&e)))
        .and_then(|bytes| output::save(&staging.dir.join("synthese.xlsx"), &bytes).map_err(|e| e.to_string()));
    match (written_json, synthese) {
        (Ok(()), Ok(())) => {
            let mut set = vec!["rapport.json", "synthese.xlsx"];
            if opts.annotated {
                set.insert(0, "annotes");
            }
            if let Err(e) = staging.commit(&set) {
                failures.push(format!(
                    "{e} : les sorties de ce contrôle sont incomplètes dans {}",
                    opts.out.display()
                ));
            }
        }
        (json, synthese) => {
            failures.extend(json.err().map(|e| e.to_string()));
            failures.extend(synthese.err());
            failures.push(format!(
                "aucune sortie n'a été remplacée dans {} : les sorties du contrôle précédent restent en place",
                opts.out.display()
            ));
        }
    }
    Ok(BatchRun {
        returns,
        skipped: inputs.skipped,
        cross,
        checked_at,
        links: inputs.links,
        failures,
    })
}

/// What the collector thread of [`batch`] keeps: each return's [`Brief`] in
/// input order, the outputs that failed (BILAN-OUT-001), and the synthesis
/// written so far.
struct Collected<'a> {
    returns: Vec<Brief>,
    failures: Vec<String>,
    writer: Result<report::synthese::Writer<'a>, XlsxError>,
}

/// Takes the checked files as they come and deals with them in input order (a
/// file that finishes early waits, alone, for its turn).
fn collect<'a>(
    rx: std::sync::mpsc::Receiver<(usize, Summary)>,
    stream: &batch::ReportStream,
    mut writer: Result<report::synthese::Writer<'a>, XlsxError>,
    total: usize,
) -> Collected<'a> {
    let mut waiting = std::collections::BTreeMap::new();
    let mut returns = Vec::with_capacity(total);
    let mut failures = Vec::new();
    for (i, s) in rx {
        waiting.insert(i, s);
        while let Some(mut s) = waiting.remove(&returns.len()) {
            stream.push(returns.len(), &s);
            failures.extend(
                s.report
                    .findings
                    .iter()
                    .filter(|f| crate::finding::EngineRule::Out001.is(&f.rule))
                    .map(|f| format!("{} : {}", output::neutralise_name(&s.report.path), f.message)),
            );
            let brief = Brief::take(&mut s);
            if let Ok(w) = writer.as_mut() {
                if let Err(e) = w.file(&brief, &s.report.findings) {
                    writer = Err(e);
                }
            }
            returns.push(brief);
        }
    }
    Collected {
        returns,
        failures,
        writer,
    }
}
