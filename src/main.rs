//! `bilan`: the command line. Parses arguments, calls the library, prints, and
//! maps the outcome to an exit status (0 clean, 1 findings, 2 the run failed).

use std::process::ExitCode;

use bilan::clap_fr;

use bilan::run::{self, RunError};

mod cli;

use cli::args::Cli;
use cli::commands::dispatch;
use cli::render::{render_campaign_error, render_rule_error};

fn main() -> ExitCode {
    // A worker process that checks untrusted workbooks for its parent (see bilan::job::isolate).
    if std::env::args_os().nth(1).is_some_and(|a| a == "__worker") {
        return ExitCode::from(run::worker_main() as u8);
    }
    bilan::job::isolate::install_signal_handlers();
    let cli: Cli = clap_fr::parse();
    match dispatch(cli) {
        Ok(code) => ExitCode::from(code),
        Err(RunError::Message(m)) => {
            eprintln!("bilan : {m}");
            ExitCode::from(2)
        }
        Err(RunError::Rule(e)) => {
            eprintln!("{}", render_rule_error(&e));
            ExitCode::from(2)
        }
        Err(RunError::Campaign(e)) => {
            eprintln!("{}", render_campaign_error(&e));
            ExitCode::from(2)
        }
        Err(RunError::Interrupted) => {
            eprintln!("bilan : contrôle interrompu ; aucune sortie n'a été remplacée");
            ExitCode::from(130)
        }
    }
}
