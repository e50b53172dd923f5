//! The engine's own rules (`BILAN-*`, `CAMP-*`): found by Rust, not by a
//! script. One declaration per rule: its id, its severity and its title. A
//! finding of an engine rule is made with [`super::Finding::engine`], which
//! takes the severity from here, so no call site can choose another one.
//! `rules/engine.toml` documents the same rules (what `bilan rules` and
//! `bilan explain` print); a test keeps both in step, both ways.

use super::Severity;

macro_rules! engine_rules {
    ($($variant:ident = $id:literal, $severity:ident, $title:literal, protected: $protected:literal;)*) => {
        /// A rule the engine checks itself. See `rules/engine.toml` for what each
        /// checks and why.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum EngineRule {
            $($variant,)*
        }

        impl EngineRule {
            /// Every engine rule, in the order of `rules/engine.toml`.
            pub const ALL: &'static [EngineRule] = &[$(EngineRule::$variant,)*];

            /// Its stable id (`BILAN-TPL-004`).
            pub const fn id(self) -> &'static str {
                match self {
                    $(EngineRule::$variant => $id,)*
                }
            }

            /// The severity its findings are given (a pack or a campaign may
            /// change it afterwards, like for every rule).
            pub const fn severity(self) -> Severity {
                match self {
                    $(EngineRule::$variant => Severity::$severity,)*
                }
            }

            /// Its French title, as in `rules/engine.toml`.
            pub const fn title(self) -> &'static str {
                match self {
                    $(EngineRule::$variant => $title,)*
                }
            }

            /// A campaign may not switch it off nor change it: without it a file
            /// could not be checked at all, or a failure of the program would go
            /// unseen.
            pub const fn protected(self) -> bool {
                match self {
                    $(EngineRule::$variant => $protected,)*
                }
            }
        }
    };
}

engine_rules! {
    Io001 = "BILAN-IO-001", Error, "Fichier illisible", protected: true;
    Io002 = "BILAN-IO-002", Error, "Fichier hors limites", protected: true;
    Io003 = "BILAN-IO-003", Warning, "Extension qui ne correspond pas au contenu", protected: false;
    Tpl001 = "BILAN-TPL-001", Error, "Modèle non reconnu", protected: true;
    Tpl002 = "BILAN-TPL-002", Warning, "Version du modèle inconnue", protected: false;
    Tpl003 = "BILAN-TPL-003", Error, "Feuille obligatoire absente", protected: false;
    Tpl004 = "BILAN-TPL-004", Error, "Libellé ou en-tête de tableau absent, tableau non lu", protected: false;
    Tpl005 = "BILAN-TPL-005", Info, "Feuille, colonne ou libellé ignoré", protected: false;
    Sch001 = "BILAN-SCH-001", Error, "Valeur non conforme au schéma", protected: false;
    Num001 = "BILAN-NUM-001", Warning, "Nombre saisi comme texte", protected: false;
    Num002 = "BILAN-NUM-002", Error, "Nombre mal formé", protected: false;
    Num003 = "BILAN-NUM-003", Error, "Unité contraire à la colonne", protected: false;
    Num004 = "BILAN-NUM-004", Info, "Valeur non communiquée", protected: false;
    Date001 = "BILAN-DATE-001", Error, "Date illisible", protected: false;
    Cell001 = "BILAN-CELL-001", Error, "Erreur Excel ou formule sans valeur", protected: false;
    Rule001 = "BILAN-RULE-001", Error, "Règle inapplicable à ce retour", protected: true;
    Int001 = "BILAN-INT-001", Error, "Erreur interne du programme", protected: true;
    Out001 = "BILAN-OUT-001", Error, "Rapport non écrit", protected: true;
    Jus001 = "BILAN-JUS-001", Info, "Justification sans constat", protected: false;
    Jus002 = "BILAN-JUS-002", Info, "Justification d'une erreur", protected: false;
    Camp001 = "CAMP-001", Warning, "Exercice différent de celui de la campagne", protected: false;
    Camp002 = "CAMP-002", Warning, "Date d'arrêté différente de celle de la campagne", protected: false;
}

impl EngineRule {
    /// The engine rule with this id, if it is one (case as written).
    pub fn of_id(id: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|r| r.id() == id)
    }

    /// Whether a finding's rule id is this rule's.
    pub fn is(self, id: &super::RuleId) -> bool {
        id.as_str() == self.id()
    }
}

impl std::fmt::Display for EngineRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `rules/engine.toml` as `(id, severity, title)`, in its order.
    fn documented() -> Vec<(String, String, String)> {
        let text = include_str!("../../rules/engine.toml");
        let table: toml::Table = text.parse().expect("rules/engine.toml is TOML");
        let rules = table["rule"].as_array().expect("[[rule]] tables");
        rules
            .iter()
            .map(|r| {
                let field = |k: &str| r[k].as_str().unwrap_or_default().to_string();
                (field("id"), field("severity"), field("title"))
            })
            .collect()
    }

    #[test]
    fn the_table_is_engine_toml_both_ways() {
        let declared: Vec<(String, String, String)> = EngineRule::ALL
            .iter()
            .map(|r| {
                (
                    r.id().to_string(),
                    r.severity().as_str().to_string(),
                    r.title().to_string(),
                )
            })
            .collect();
        let documented = documented();
        for d in &documented {
            assert!(
                declared.contains(d),
                "rules/engine.toml has {d:?}, not declared in finding::engine"
            );
        }
        for d in &declared {
            assert!(
                documented.contains(d),
                "finding::engine declares {d:?}, not in rules/engine.toml"
            );
        }
        assert_eq!(declared, documented, "same rules, same order");
    }

    #[test]
    fn ids_are_unique_and_found_back() {
        for r in EngineRule::ALL {
            assert_eq!(EngineRule::of_id(r.id()), Some(*r));
        }
        assert_eq!(EngineRule::of_id("POLE-FIN-001"), None);
    }

    #[test]
    fn an_engine_finding_carries_the_declared_severity() {
        let f = super::super::Finding::engine(EngineRule::Tpl005, "Feuille ignorée");
        assert_eq!((f.rule.as_str(), f.severity), ("BILAN-TPL-005", Severity::Info));
        let f = super::super::Finding::engine(EngineRule::Camp001, "x");
        assert_eq!((f.rule.as_str(), f.severity), ("CAMP-001", Severity::Warning));
    }
}
