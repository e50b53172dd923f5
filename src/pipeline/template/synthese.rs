//! The typed `x-template.synthese` of a template.

use serde_json::Value;

/// `x-template.synthese`: the key figures of a return in a batch's synthesis,
/// read once when the template loads (checked by `annotations::check`).
/// `rows`: the table whose rows make the synthesis' rows (absent: one row per
/// return). A column's `pointer` starting with `/` is read in the return,
/// another in the row.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
pub struct Synthese {
    #[serde(default)]
    pub rows: Option<String>,
    #[serde(default)]
    pub columns: Vec<SyntheseColumn>,
}

/// One column of the synthesis of a template.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
pub struct SyntheseColumn {
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub pointer: String,
    /// Summed in the TOTAL row.
    #[serde(default)]
    pub total: bool,
    /// Computed on the table `pointer` names: `count` (its rows), `sum` (of
    /// the column `field`), `rate` (Σ `field` ÷ Σ `over` × 100).
    #[serde(default)]
    pub aggregate: Option<String>,
    #[serde(default)]
    pub field: Option<String>,
    #[serde(default)]
    pub over: Option<String>,
}

impl Synthese {
    /// The spec of a schema, if it has a well-formed one.
    pub fn of_schema(schema: &Value) -> Option<Self> {
        serde_json::from_value(schema.pointer("/x-template/synthese")?.clone()).ok()
    }
}

#[cfg(test)]
mod tests {
    use crate::pipeline::template::TemplateSet;

    #[test]
    fn every_builtin_synthese_is_read_typed() {
        let set = TemplateSet::builtin();
        let mut seen = 0;
        for t in set.all() {
            let raw = t.schema.pointer("/x-template/synthese");
            assert_eq!(raw.is_some(), t.synthese.is_some(), "{}", t.id);
            if let (Some(raw), Some(spec)) = (raw, &t.synthese) {
                let columns = raw["columns"].as_array().map_or(0, Vec::len);
                assert_eq!(spec.columns.len(), columns, "{}", t.id);
                assert!(spec
                    .columns
                    .iter()
                    .all(|c| !c.label.is_empty() && !c.pointer.is_empty()));
                seen += 1;
            }
        }
        assert!(seen >= 3, "templates with a synthesis: {seen}");
    }
}
