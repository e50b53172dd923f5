//! Each command: calls the library (`bilan::run`), prints, and says the exit
//! status (0 clean, 1 findings, 2 the run failed).

use bilan::clap_fr;
use bilan::report;
use bilan::run::{self, RunError};
use std::io::{IsTerminal, Write};
use std::path::Path;

use crate::cli::args::*;
use crate::cli::render::*;

/// Says what could not be written (exit 2), after the findings.
pub fn failed_outputs(failures: &[String]) -> Option<u8> {
    for f in failures {
        eprintln!("bilan : BILAN-OUT-001 : {f}");
    }
    (!failures.is_empty()).then_some(2)
}

pub fn dispatch(cli: Cli) -> Result<u8, RunError> {
    match cli.command {
        Command::Check(args) => check(args),
        Command::Completions(args) => {
            let mut out = Vec::new();
            clap_fr::completions(&mut clap_fr::command::<Cli>(), args.shell, &mut out);
            print_out(&String::from_utf8_lossy(&out))?;
            Ok(0)
        }
        Command::Man(args) => {
            let mut cmd = clap_fr::command::<Cli>();
            cmd.build();
            let page = match &args.command {
                None => cmd,
                Some(name) => cmd.find_subcommand(name).cloned().ok_or_else(|| {
                    RunError::Message(format!(
                        "commande « {name} » inconnue (commandes : check, batch, template, rules, explain, extract, completions, man)"
                    ))
                })?,
            };
            let mut out = Vec::new();
            clap_fr::man(page, &mut out)
                .map_err(|e| RunError::Message(format!("page de manuel : {}", bilan::base::messages::io_error(&e))))?;
            print_out(&String::from_utf8_lossy(&out))?;
            Ok(0)
        }
        Command::Extract(args) => {
            bilan::run::check_input(&args.file)?;
            let checker = Ending::new(run::load(&args.common.setup())?);
            let job = bilan::job::Job {
                extraction: true,
                ..Default::default()
            };
            let checked = checker.process(&bilan::job::Input::Path(args.file.clone()), &job);
            let value = checked.extraction.unwrap_or_default();
            print_out(&run::json_text(&value))?;
            Ok(u8::from(value.get("data").is_none_or(|d| d.is_null())))
        }
        Command::Rules(args) => {
            let checker = run::load(&args.packs.setup())?;
            if let Some(t) = &args.template {
                if checker.templates.get(t).is_none() {
                    return Err(RunError::Message(format!(
                        "modèle « {t} » inconnu (modèles : {})",
                        checker.templates.ids().join(", ")
                    )));
                }
            }
            if let Some(path) = &args.reference {
                if path == Path::new("-") {
                    print_out(&bilan::docs::reference(&checker.rules, &checker.templates))?;
                } else {
                    run::write_reference(&checker, path)?;
                    eprintln!("{} écrit", path.display());
                }
                return Ok(0);
            }
            let rows = bilan::docs::rule_rows(&checker.rules, args.template.as_deref());
            let out = match args.format {
                Format::Json => serde_json::to_string_pretty(&rows).unwrap_or_default() + "\n",
                _ => bilan::docs::rules_table(&rows),
            };
            print_out(&out)?;
            Ok(0)
        }
        Command::Batch(args) => batch(args),
        Command::Serve(args) => serve(args),
        Command::Diff(args) => diff(args),
        Command::Template(args) => {
            let checker = run::load(&args.packs.setup())?;
            if args.id.is_none() && args.all.is_none() {
                // Which models there are, and how to get one.
                let mut out = String::from("Modèles de retour :\n");
                let width = checker
                    .templates
                    .ids()
                    .iter()
                    .map(|i| i.chars().count())
                    .max()
                    .unwrap_or(0);
                for t in checker.templates.all() {
                    out.push_str(&format!("  {:width$}  {}\n", t.id, t.title));
                }
                out.push_str("\nÉcrire un modèle vierge : bilan template ID -o SORTIE.xlsx (tous : bilan template --all DOSSIER)\n");
                print_out(&out)?;
                return Ok(0);
            }
            let written = run::write_blanks(
                &checker.templates,
                &checker.rules,
                args.id.as_deref(),
                args.output.as_deref(),
                args.all.as_deref(),
                args.force,
            )?;
            for (id, path) in written {
                eprintln!("{id} : {}", path.display());
            }
            Ok(0)
        }
        Command::Explain(args) => {
            let checker = run::load(&args.packs.setup())?;
            if let Some(mut text) = bilan::docs::explain_terminal(&checker.rules, &checker.templates, &args.id) {
                if let Some(note) = checker.rules.campaign.as_ref().and_then(|c| c.explain_note(&args.id)) {
                    text.push_str(&note);
                }
                print_out(&text)?;
                return Ok(0);
            }
            let hint = match bilan::pipeline::campaign::suggest(&checker.rules, &args.id) {
                Some(id) => format!(" : vouliez-vous dire « {id} » ?"),
                None => " (voir `bilan rules` et `bilan template`)".to_string(),
            };
            Err(RunError::Message(format!(
                "« {} » n'est ni une règle ni un modèle connu{hint}",
                args.id
            )))
        }
    }
}

pub fn serve(args: ServeArgs) -> Result<u8, RunError> {
    let mut config = bilan::web::Config::new(args.bind, args.data);
    config.self_check = !args.sans_autocontrole;
    config.max_file_size = args.max_file_size;
    if let Some(n) = args.lecteurs {
        config.workers = n.max(1);
    }
    config.queue = args.file_attente;
    config.campaign_file = args.campagne;
    config.secure_cookies = args
        .adresse_publique
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"));
    config.public_url = args.adresse_publique.map(|u| u.trim_end_matches('/').to_string());
    config.admin_password = std::env::var("BILAN_ADMIN_PASSWORD").ok();
    config.trusted_proxy = args.proxy;
    bilan::web::run(config).map_err(|e| RunError::Message(e.message()))?;
    Ok(0)
}

pub fn print_out(s: &str) -> Result<(), RunError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        // A closed pipe (`| head`) is not a failure of the run.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(RunError::Message(format!(
            "écriture sur la sortie standard impossible : {}",
            bilan::base::messages::io_error(&e)
        ))),
    }
}

/// The checker of a command that ends the process: when the command returns,
/// its worker processes are stopped, and its schemas and compiled rules are
/// left to the process's exit rather than freed one by one (freeing them costs
/// more instructions than checking a small return).
struct Ending(std::mem::ManuallyDrop<bilan::job::Checker>);

impl Ending {
    fn new(checker: bilan::job::Checker) -> Self {
        Self(std::mem::ManuallyDrop::new(checker))
    }
}

impl std::ops::Deref for Ending {
    type Target = bilan::job::Checker;

    fn deref(&self) -> &bilan::job::Checker {
        &self.0
    }
}

impl Drop for Ending {
    fn drop(&mut self) {
        self.0.isolation.take();
    }
}

pub fn check(args: CheckArgs) -> Result<u8, RunError> {
    let checker = Ending::new(run::load(&args.common.setup())?);
    let json_to_stdout = args.json.as_deref() == Some(Path::new("-"));
    let done = run::check(
        &checker,
        &run::CheckOptions {
            files: args.files.clone(),
            report: args.report.clone(),
            report_dir: args.report_dir.clone(),
            json: args.json.clone().filter(|_| !json_to_stdout),
        },
    )?;
    let mut reports = done.reports;
    reports.iter_mut().for_each(report::terminal_safe);
    let reports = &reports;
    if !args.quiet {
        for out in &done.annotated {
            eprintln!("Classeur annoté : {}", out.display());
        }
    }
    let json = || run::json_text(&run::json_report_with(&checker, reports, &done.cross));
    if json_to_stdout {
        print_out(&json())?;
    } else {
        let style = report::human::Style {
            color: color_enabled(args.no_color),
            width: terminal_width(),
            verbose: args.verbose,
        };
        let mut out = String::new();
        match args.format {
            Format::Json => out = json(),
            Format::Short => {
                for r in reports {
                    if !args.quiet {
                        out.push_str(&report::short::render(r));
                    }
                    out.push_str(&report::summary_line(r));
                    out.push('\n');
                }
                for b in &done.cross {
                    out.push_str(&report::short::cross_line(b));
                }
            }
            Format::Human => {
                for r in reports {
                    if args.quiet {
                        out.push_str(&report::summary_line(r));
                        out.push('\n');
                    } else {
                        out.push_str(&report::human::render(r, style));
                    }
                }
                if !done.cross.is_empty() {
                    out.push_str("Contrôles croisés entre les fichiers :\n");
                    for b in &done.cross {
                        out.push_str(&report::short::cross_line(b));
                    }
                }
                if reports.len() > 1 {
                    let cross: Vec<bilan::finding::Finding> = done.cross.iter().map(|b| b.finding.clone()).collect();
                    out.push_str(&report::total_line_with(reports, bilan::finding::Counts::of(&cross)));
                    out.push('\n');
                }
            }
        }
        if args.format != Format::Json {
            if let Some(block) = report::campaign_block(&checker.rules) {
                out.push('\n');
                out.push_str(&block);
            }
        }
        print_out(&out)?;
    }
    if let Some(code) = failed_outputs(&done.failures) {
        return Ok(code);
    }
    Ok(run::exit_code(reports, &done.cross, args.fail_on.level()))
}

/// A progress bar on the terminal.
pub struct Bar(indicatif::ProgressBar);

impl run::Progress for Bar {
    fn start(&self, total: usize) {
        self.0.set_length(total as u64);
    }
    fn tick(&self) {
        self.0.inc(1);
    }
}

pub fn batch(args: BatchArgs) -> Result<u8, RunError> {
    let checker = Ending::new(run::load(&run::Setup {
        jobs: args.jobs,
        ..args.common.setup()
    })?);
    let bar = (!args.quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(0);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{spinner} {pos}/{len} retours [{bar:30}] {rate} · reste {eta}")
        {
            // indicatif's {per_sec} shows « 1,669.1241/s »: a whole French rate instead.
            let style = style.with_key(
                "rate",
                |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = w.write_fmt(format_args!(
                        "{} retours/s",
                        bilan::base::format::int_fr(state.per_sec().round() as i128)
                    ));
                },
            );
            bar.set_style(style.progress_chars("=> "));
        }
        Bar(bar)
    });
    let opts = run::BatchOptions {
        paths: args.paths.clone(),
        out: args.out.clone(),
        glob: args.glob.clone(),
        jobs: args.jobs,
        expected: args.expected.clone(),
        annotated: !args.no_annotated,
    };
    let done = match &bar {
        Some(b) => run::batch(&checker, &opts, b),
        None => run::batch(&checker, &opts, &()),
    };
    if let Some(b) = &bar {
        b.0.finish_and_clear();
    }
    let done = done?;
    let safe = |p: &Path| bilan::output::neutralise_name(&bilan::output::path_text(p)).into_owned();
    if !args.quiet {
        let mut out = String::new();
        for r in &done.returns {
            out.push_str(&report::terminal_line_of(r));
            out.push('\n');
        }
        for s in &done.skipped {
            out.push_str(&format!("{} : ignoré — {}\n", safe(&s.path), s.reason));
        }
        for (link, target) in &done.links {
            out.push_str(&format!(
                "{} : lien symbolique suivi vers {}\n",
                safe(link),
                safe(target)
            ));
        }
        for b in &done.cross {
            out.push_str(&report::short::cross_line(b));
        }
        let cross: Vec<bilan::finding::Finding> = done.cross.iter().map(|b| b.finding.clone()).collect();
        out.push_str(&report::total_line_of(
            done.returns.iter().map(|r| r.counts),
            bilan::finding::Counts::of(&cross),
        ));
        out.push('\n');
        if !done.skipped.is_empty() {
            out.push_str(&format!(
                "{} ignoré{} (pas un classeur, fichier temporaire ou caché) : voir la feuille Synthèse\n",
                bilan::base::messages::files(done.skipped.len()),
                if done.skipped.len() > 1 { "s" } else { "" }
            ));
        }
        if let Some(block) = report::campaign_block(&checker.rules) {
            out.push_str(&block);
        }
        out.push_str(&format!("Sorties : {}\n", safe(&args.out)));
        print_out(&out)?;
    }
    if let Some(code) = failed_outputs(&done.failures) {
        return Ok(code);
    }
    Ok(run::exit_code_of(
        done.returns.iter().map(|r| r.counts),
        &done.cross,
        args.fail_on.level(),
    ))
}

pub fn diff(args: DiffArgs) -> Result<u8, RunError> {
    let checker = Ending::new(run::load(&args.common.setup())?);
    let json_to_stdout = args.json.as_deref() == Some(Path::new("-"));
    let done = run::diff(
        &checker,
        &run::DiffOptions {
            old: args.old.clone(),
            new: args.new.clone(),
            json: args.json.clone(),
            report: args.report.clone(),
        },
    )?;
    if json_to_stdout {
        print_out(&run::json_text(&bilan::diff::to_json(&done.diff, &done.old, &done.new)))?;
    } else {
        // Text from the submitted files (names, values, justifications), shown safely.
        let mut out: String = report::diff::render(&done.diff, &done.old, &done.new, &checker.templates)
            .lines()
            .map(|l| bilan::output::neutralise(l).into_owned() + "\n")
            .collect();
        if let Some(block) = report::campaign_block(&checker.rules) {
            out.push('\n');
            out.push_str(&block);
            if !out.ends_with('\n') {
                out.push('\n');
            }
        }
        print_out(&out)?;
        if let Some(path) = &args.report {
            eprintln!("Classeur annoté avec le suivi : {}", path.display());
        }
    }
    Ok(run::exit_code(
        std::slice::from_ref(&done.new),
        &[],
        args.fail_on.level(),
    ))
}
