//! Every rule's worked examples behave as its header says.

use bilan::pipeline::rules::RulePack;

#[test]
fn every_rule_example_passes() {
    let pack = RulePack::builtin().expect("built-in rules compile");
    assert!(!pack.rules.is_empty());
    let mut problems = Vec::new();
    for rule in &pack.rules {
        problems.extend(pack.check_examples(rule));
    }
    assert!(
        problems.is_empty(),
        "examples that do not behave as documented:\n{}",
        problems.join("\n")
    );
}
