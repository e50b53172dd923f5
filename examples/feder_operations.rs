//! Writes the FEDER-OPERATIONS fixture descriptions (`fixtures/src/*.json`):
//! the seed's 440 operations, one list per OPE rule with the mistake it
//! catches, a clean list per programming period, and the lists and dashboard
//! of the reconciliation tests. Deterministic: the same files every run.
//!
//! ```sh
//! cargo run --example feder_operations
//! BILAN_REGEN_FIXTURES=1 cargo test --test fixtures_up_to_date   # the .xlsx
//! ```

#[path = "../fixtures/feder_operations.rs"]
mod gen;

use std::path::Path;

use gen::{Header, Operation, Plan};
use serde_json::Value;

fn write(dir: &Path, name: &str, spec: &Value) -> Result<(), String> {
    let text = serde_json::to_string(spec).map_err(|e| e.to_string())? + "\n";
    std::fs::write(dir.join(format!("{name}.json")), text).map_err(|e| format!("{name} : {e}"))
}

/// The first operations of the seed list: a small clean list to spoil.
fn small() -> Vec<Operation> {
    gen::operations(&Plan::seed()).into_iter().take(8).collect()
}

fn period(periode: &str) -> (Header, Vec<Operation>) {
    let mut plan = Plan::scaled(40);
    plan.max_rate_permille = 600;
    plan.seed = 2014;
    plan.header.categorie = "Régions en transition".into();
    plan.header.periode = periode.into();
    if periode == "2014-2020" {
        plan.header.programme = "PO FEDER-FSE Nord - Pas de Calais 2014-2020".into();
        plan.header.axe = "Axe 1".into();
        plan.header.exercice = 2018;
        plan.header.date_arrete = "2018-12-31".into();
        plan.header.date_transmission = "2019-01-20".into();
        plan.depot_from = "2015-03-01".into();
    } else {
        plan.header.programme = "Programme FEDER-FSE+ Hauts-de-France 2021-2027".into();
        plan.header.axe = "Priorité 1".into();
        plan.header.exercice = 2024;
        plan.header.date_arrete = "2024-12-31".into();
        plan.header.date_transmission = "2025-01-20".into();
        plan.depot_from = "2022-01-10".into();
        plan.seed = 2021;
    }
    let ops = gen::operations(&plan);
    (plan.header, ops)
}

fn main() -> Result<(), String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/src");
    let seed = Header::seed();
    let all = gen::operations(&Plan::seed());
    write(
        &dir,
        "feder-operations-2009-axe1-conforme",
        &gen::workbook(&seed, &all, true),
    )?;

    // One operation of priority 2 (the least aided, so its rate stays under the
    // ceiling) gets 10 000 € more FEDER: the dashboard's 28,89 no longer agrees.
    let mut more = all.clone();
    if let Some(o) = more
        .iter_mut()
        .filter(|o| o.priorite == 2)
        .min_by_key(|o| o.feder * 1000 / o.cout.max(1))
    {
        o.feder += 1_000_000;
    }
    write(
        &dir,
        "feder-operations-2009-priorite-2-plus-10000-euros",
        &gen::workbook(&seed, &more, true),
    )?;

    // The periods' clean lists, in a transition region.
    for p in ["2014-2020", "2021-2027"] {
        let (h, ops) = period(p);
        write(
            &dir,
            &format!("feder-operations-{p}-transition-conforme"),
            &gen::workbook(&h, &ops, true),
        )?;
    }

    // One list per rule, each with the mistake its rule catches.
    let base = small();
    let mut cases: Vec<(&str, Header, Vec<Operation>, bool)> = Vec::new();
    let mut ops = base.clone();
    ops[5].numero = ops[0].numero.clone();
    cases.push(("ope-001-operation-en-double", seed.clone(), ops, true));
    let mut ops = base.clone();
    let o = &mut ops[2];
    std::mem::swap(&mut o.debut, &mut o.fin);
    cases.push(("ope-002-fin-avant-le-debut", seed.clone(), ops, true));
    let mut ops = base.clone();
    ops[1].debut = "2006-03-01".into();
    ops[1].fin = "2006-12-31".into();
    cases.push(("ope-003-achevee-avant-l-eligibilite", seed.clone(), ops, true));
    let mut ops = base.clone();
    ops[1].fin = "2016-06-30".into();
    cases.push(("ope-004-fin-apres-2015", seed.clone(), ops, true));
    let (h, mut ops) = period("2014-2020");
    ops.truncate(8);
    let depot = ops[3].depot.clone();
    ops[3].fin = gen::civil(day(&depot) - 20);
    ops[3].debut = gen::civil(day(&depot) - 200);
    cases.push(("ope-005-achevee-avant-le-depot", h, ops, true));
    let mut ops = base.clone();
    ops[4].public = ops[4].cout + 5_000_000;
    cases.push(("ope-006-depense-publique-superieure-au-cout", seed.clone(), ops, true));
    let mut ops = base.clone();
    ops[2].feder = ops[2].cout * 55 / 100;
    cases.push(("ope-007-operation-aidee-a-55-pour-cent", seed.clone(), ops, true));
    let mut h = seed.clone();
    h.taux_maximal = Some(35.0);
    cases.push(("ope-008-axe-au-dessus-du-taux-maximal", h, base.clone(), true));
    let mut ops = base.clone();
    ops[4].dep_cert = ops[4].cout + 1_000_000;
    cases.push(("ope-009-certifie-superieur-au-cout", seed.clone(), ops, true));
    let mut ops = base.clone();
    let o = &mut ops[3];
    o.feder_cert = (o.dep_cert as i128 * o.feder as i128 / o.cout as i128) as i64 + 500_000;
    cases.push(("ope-010-feder-certifie-au-dela-du-taux", seed.clone(), ops, true));
    let mut ops = base.clone();
    let o = &mut ops[2];
    o.cout = 250_000_000;
    o.public = 200_000_000;
    o.feder = 100_000_000;
    o.recettes = None;
    cases.push(("ope-011-recettes-nettes-non-dites", seed.clone(), ops, true));
    let mut ops = base.clone();
    let o = &mut ops[2];
    o.cout = 6_000_000_000;
    o.public = 4_800_000_000;
    o.feder = 2_400_000_000;
    o.recettes = Some(0);
    cases.push(("ope-012-grand-projet", seed.clone(), ops, true));
    let mut ops = base.clone();
    let last = ops[1].siret.pop().and_then(|c| c.to_digit(10)).unwrap_or(0);
    ops[1].siret.push(char::from_digit((last + 1) % 10, 10).unwrap_or('0'));
    cases.push(("ope-013-siret-mal-recopie", seed.clone(), ops, true));
    let mut ops = base.clone();
    ops[6].siret = ops[1].siret.clone();
    ops[6].beneficiaire = ops[1].beneficiaire.clone();
    ops[6].intitule = ops[1].intitule.clone();
    cases.push(("ope-014-meme-operation-deux-fois", seed.clone(), ops, true));
    let mut ops = base.clone();
    ops[3].programmation = "2010-02-12".into();
    cases.push(("ope-015-programmee-apres-l-arrete", seed.clone(), ops, true));
    let mut ops = base.clone();
    ops[6].categorie = 9;
    ops[6].earmarking = true;
    cases.push(("ope-017-earmarking-hors-des-codes", seed.clone(), ops, true));
    for (name, h, ops, total) in &cases {
        write(
            &dir,
            &format!("feder-operations-{name}"),
            &gen::workbook(h, ops, *total),
        )?;
    }
    // OPE-016: a TOTAL row whose FEDER cell kept an old value.
    let mut spec = gen::workbook(&seed, &base, true);
    if let Some(cell) = spec.pointer_mut("/sheets/1/blocks/1/rows/9/14/value") {
        let old = cell.as_f64().unwrap_or(0.0);
        *cell = serde_json::json!(old + 10_000.0);
    }
    write(&dir, "feder-operations-ope-016-total-faux", &spec)?;
    println!("{} descriptions écrites dans {}", cases.len() + 5, dir.display());
    Ok(())
}

fn day(s: &str) -> i64 {
    let p: Vec<i64> = s.split('-').filter_map(|x| x.parse().ok()).collect();
    gen::days_from_civil(p[0], p[1], p[2])
}
