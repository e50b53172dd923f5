//! Reading + extraction + schema + rules on arbitrary bytes: must never panic.
#![no_main]

use std::sync::OnceLock;

use bilan::job::Checker;
use bilan::pipeline::rules::RulePack;
use bilan::pipeline::template::TemplateSet;
use libfuzzer_sys::fuzz_target;

fn checker() -> Option<&'static Checker> {
    static CHECKER: OnceLock<Option<Checker>> = OnceLock::new();
    CHECKER
        .get_or_init(|| {
            // libfuzzer-sys aborts on every panic from its hook, even one that
            // `bilan` catches on purpose (calamine's panics become a corrupt-file
            // finding). A panic that escapes `check_bytes` still aborts: the
            // fuzz target's own catch_unwind reports it.
            std::panic::set_hook(Box::new(|_| {}));
            let mut c = Checker::new(TemplateSet::builtin().ok()?, RulePack::builtin().ok()?);
            // Keep each input small: the fuzzer looks for logic bugs, the
            // process isolation of the CLI handles resource exhaustion.
            c.limits.max_cells = 20_000;
            c.limits.max_uncompressed = 20_000_000;
            Some(c)
        })
        .as_ref()
}

fuzz_target!(|data: &[u8]| {
    if let Some(c) = checker() {
        let _ = c.check_bytes("fuzz.xlsx", data);
    }
});
