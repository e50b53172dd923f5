//! The worker's side of [`crate::job::isolate`]: `bilan __worker` reads its
//! configuration, then checks files until its input closes.

use std::io::{BufRead, Read, Write};
use std::time::Duration;

use crate::job::checker::Checker;
use crate::job::isolate::{Answer, Request, WireInput, WorkerConfig};
use crate::job::spec::Input;
use crate::pipeline::check::Stage;

/// The worker's loop: reads its configuration, then checks files until its
/// input closes. `load` builds the checker from the configuration.
pub fn serve(load: &dyn Fn(&WorkerConfig) -> Result<Checker, String>) -> i32 {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let stdout = std::io::stdout();
    let mut line = String::new();
    if input.read_line(&mut line).unwrap_or(0) == 0 {
        return 0;
    }
    std::thread::spawn(crate::pipeline::template::warm_up_compiler);
    let checker = match serde_json::from_str::<WorkerConfig>(&line)
        .map_err(|e| e.to_string())
        .and_then(|c| load(&c))
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("bilan __worker : {e}");
            return 2;
        }
    };
    let fault = fault_hook();
    {
        let mut out = stdout.lock();
        if writeln!(out, "P").and_then(|_| out.flush()).is_err() {
            return 0;
        }
    }
    loop {
        line.clear();
        match input.read_line(&mut line) {
            Ok(0) | Err(_) => return 0,
            Ok(_) => {}
        }
        let request = match serde_json::from_str::<Request>(&line) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("bilan __worker : requête illisible : {e}");
                return 2;
            }
        };
        let file = match request.input {
            WireInput::Path(p) => Input::Path(crate::output::path_from_bytes(&p)),
            WireInput::Bytes { name, len } => {
                let mut bytes = vec![0u8; len];
                if input.read_exact(&mut bytes).is_err() {
                    return 2;
                }
                Input::Bytes { name, bytes }
            }
        };
        let name = file.shown();
        let tell = |stage: Stage| {
            if let Ok(s) = serde_json::to_string(&stage) {
                let mut out = stdout.lock();
                let _ = writeln!(out, "S {s}").and_then(|_| out.flush());
            }
            inject_fault(fault.as_deref(), &name, stage);
        };
        let checked = checker.process_here(&file, &request.job, &tell);
        let answer = Answer {
            report: checked.report,
            key_rows: checked.key_rows,
            annotated: checked.annotated,
            extraction: checked.extraction,
            cross: checked.cross,
        };
        let Ok(text) = serde_json::to_string(&answer) else {
            return 2;
        };
        let mut out = stdout.lock();
        if writeln!(out, "R {text}").and_then(|_| out.flush()).is_err() {
            return 0;
        }
    }
}

/// `BILAN_WORKER_FAULT=KIND[@STAGE]:TEXT` (KIND: `abort`, `hang`, `alloc`;
/// STAGE: `read`, `extract`, `validate`, `rules`, `annotated`; default `read`)
/// makes the worker fail on files whose name contains TEXT: a test hook for the
/// isolation itself, compiled only with the `fault-injection` feature.
#[cfg(feature = "fault-injection")]
fn fault_hook() -> Option<String> {
    std::env::var("BILAN_WORKER_FAULT").ok()
}

#[cfg(not(feature = "fault-injection"))]
fn fault_hook() -> Option<String> {
    None
}

fn inject_fault(fault: Option<&str>, name: &str, stage: Stage) {
    let Some((kind, needle)) = fault.and_then(|f| f.split_once(':')) else {
        return;
    };
    let (kind, at) = kind.split_once('@').unwrap_or((kind, "read"));
    let at_stage = match at {
        "extract" => Stage::Extract,
        "validate" => Stage::Validate,
        "rules" => Stage::Rules,
        "annotated" => Stage::Annotated,
        _ => Stage::Read,
    };
    if stage != at_stage || needle.is_empty() || !name.contains(needle) {
        return;
    }
    match kind {
        "abort" => std::process::abort(),
        "hang" => loop {
            std::thread::sleep(Duration::from_secs(3600));
        },
        "alloc" => {
            // Allocate far more than any limit: the address-space limit turns
            // this into an allocation failure, hence an abort.
            let mut v: Vec<u8> = Vec::with_capacity(1 << 40);
            v.push(1);
            std::hint::black_box(&v);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_fire_only_on_their_stage_and_file() {
        // No fault, or another file, or another stage: nothing happens.
        inject_fault(None, "maud.xlsx", Stage::Read);
        inject_fault(Some("abort:itrans"), "maud.xlsx", Stage::Read);
        inject_fault(Some("abort@rules:maud"), "maud.xlsx", Stage::Read);
        inject_fault(Some("abort@rules:"), "maud.xlsx", Stage::Rules);
    }
}
